package rules

import (
	"cmp"
	"slices"
	"strings"
	"unicode/utf8"
)

// weigher is the way a collation weighs a character.
type weigher uint8

const (
	// wGeneral weighs as utf8mb4_general_ci: one 16-bit weight per
	// character from the server's table (case and most accents folded),
	// 0xFFFD for every character beyond the BMP.
	wGeneral weigher = iota
	// wSwedish weighs as latin1_swedish_ci, from the server's table.
	wSwedish
	// wLatin1Bin weighs as latin1_bin: the latin1 byte.
	wLatin1Bin
	// wCodepoint weighs by code point, as the utf8 *_bin collations.
	wCodepoint
)

// collation is how two strings compare: bytewise (binary), or by the
// weight of each character, with trailing spaces ignored (PAD SPACE, the
// pad attribute of every collation here but binary).
type collation struct {
	name    string
	charset string // the charset the collation belongs to
	binary  bool   // the binary collation: bytewise, trailing spaces count
	w       weigher
}

var (
	utf8mb4GeneralCI = &collation{name: "utf8mb4_general_ci", charset: "utf8mb4", w: wGeneral}
	latin1SwedishCI  = &collation{name: "latin1_swedish_ci", charset: "latin1", w: wSwedish}
	binaryCollation  = &collation{name: "binary", charset: "binary", binary: true}
)

// namedCollations are the collations a COLLATE clause may name.
var namedCollations = func() map[string]*collation {
	m := map[string]*collation{"binary": binaryCollation}
	for _, cs := range []string{"utf8mb4", "utf8mb3", "utf8"} {
		canon := cs
		if cs == "utf8" {
			canon = "utf8mb3"
		}
		m[cs+"_general_ci"] = &collation{name: cs + "_general_ci", charset: canon, w: wGeneral}
		m[cs+"_bin"] = &collation{name: cs + "_bin", charset: canon, w: wCodepoint}
	}
	m["latin1_swedish_ci"] = latin1SwedishCI
	m["latin1_bin"] = &collation{name: "latin1_bin", charset: "latin1", w: wLatin1Bin}
	m["ascii_general_ci"] = &collation{name: "ascii_general_ci", charset: "ascii", w: wGeneral}
	m["ascii_bin"] = &collation{name: "ascii_bin", charset: "ascii", w: wCodepoint}
	return m
}()

// collationByName returns the collation of a COLLATE clause.
func collationByName(name string) (*collation, bool) {
	c, ok := namedCollations[strings.ToLower(name)]
	return c, ok
}

// supportedCollations lists the names collationByName knows.
func supportedCollations() string {
	names := make([]string, 0, len(namedCollations))
	for n := range namedCollations {
		names = append(names, n)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

// defaultCollation returns the collation a column of charset cs has when
// the schema does not say: the charset's default collation on MariaDB
// (utf8mb4_general_ci, latin1_swedish_ci, ...). Charsets other than the
// utf8 ones, latin1 and binary are compared with utf8mb4_general_ci's
// weights, an approximation of their own general_ci collations. An empty cs
// (a table rebuilt from Avro schemas) is taken as utf8mb4.
func defaultCollation(cs string) *collation {
	switch cs {
	case "latin1":
		return latin1SwedishCI
	case "binary":
		return binaryCollation
	case "", "utf8mb4":
		return utf8mb4GeneralCI
	}
	return &collation{name: cs + "_general_ci", charset: cs, w: wGeneral}
}

// spaceWeight is the weight of ' ' in every collation here.
const spaceWeight = 0x20

// weight returns the collation weight of r.
func (c *collation) weight(r rune) uint32 {
	switch c.w {
	case wGeneral:
		return generalWeight(r)
	case wSwedish, wLatin1Bin:
		e, ok := latin1Entry(r)
		if !ok {
			// Not in latin1: the server converts it to '?'.
			e, _ = latin1Entry('?')
		}
		if c.w == wSwedish {
			return e & 0xFF
		}
		return e >> 8 & 0xFF
	}
	return uint32(r)
}

// generalWeight returns the utf8mb4_general_ci weight of r.
func generalWeight(r rune) uint32 {
	if r < utf8.RuneSelf {
		if 'a' <= r && r <= 'z' {
			return uint32(r - ('a' - 'A'))
		}
		return uint32(r)
	}
	if r > 0xFFFF {
		return 0xFFFD
	}
	i, found := slices.BinarySearchFunc(generalCIWeights[:], uint32(r), func(e, t uint32) int {
		return cmp.Compare(e>>16, t)
	})
	if found {
		return generalCIWeights[i] & 0xFFFF
	}
	return uint32(r)
}

// latin1Entry returns the latin1 table entry of r: byte<<8 | swedish weight.
func latin1Entry(r rune) (uint32, bool) {
	if r > 0xFFFF || r < 0 {
		return 0, false
	}
	i, found := slices.BinarySearchFunc(latin1Weights[:], uint32(r), func(e, t uint32) int {
		return cmp.Compare(e>>16, t)
	})
	if !found {
		return 0, false
	}
	return latin1Weights[i] & 0xFFFF, true
}

// compare compares two strings in the collation, as MySQL's = and < do:
// character by character by weight, the shorter string compared as if
// padded with spaces (PAD SPACE).
func (c *collation) compare(a, b string) int {
	if c.binary {
		return strings.Compare(a, b)
	}
	i, j := 0, 0
	for i < len(a) && j < len(b) {
		ra, na := rune(a[i]), 1
		if ra >= utf8.RuneSelf {
			ra, na = utf8.DecodeRuneInString(a[i:])
		}
		rb, nb := rune(b[j]), 1
		if rb >= utf8.RuneSelf {
			rb, nb = utf8.DecodeRuneInString(b[j:])
		}
		i += na
		j += nb
		if ra == rb {
			continue
		}
		if wa, wb := c.weight(ra), c.weight(rb); wa != wb {
			return cmp.Compare(wa, wb)
		}
	}
	if d := c.restVersusSpace(a[i:]); d != 0 {
		return d
	}
	return -c.restVersusSpace(b[j:])
}

// restVersusSpace compares the rest of a longer string with the spaces
// PAD SPACE pads the shorter one with.
func (c *collation) restVersusSpace(s string) int {
	for _, r := range s {
		if w := c.weight(r); w != spaceWeight {
			return cmp.Compare(w, spaceWeight)
		}
	}
	return 0
}

// sameChar reports whether two characters are equal in the collation, as
// LIKE compares them.
func (c *collation) sameChar(a, b rune) bool {
	return a == b || (!c.binary && c.weight(a) == c.weight(b))
}
