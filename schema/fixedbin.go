package schema

import (
	"fmt"
	"strconv"
)

// MariaDB's UUID, INET4 and INET6 are stored, and written to the binlog, as
// fixed-length binary values: a row event carries them as BINARY(16),
// BINARY(4) and BINARY(16) (binlog type MYSQL_TYPE_STRING, binary
// collation), in the byte order of the text the server prints (for UUID,
// also for time-based ones, whose storage order swaps segments), with
// trailing 0x00 bytes stripped by go-mysql. The text protocol and
// information_schema name them uuid, inet4 and inet6. The functions here
// turn the binlog bytes into the exact text the server prints for the same
// value.

// fixedBinaryLength returns the stored length in bytes of UUID, INET4 and
// INET6.
func fixedBinaryLength(k Kind) int {
	if k == Inet4 {
		return 4
	}
	return 16
}

// FixedBinaryText converts the stored (binlog) bytes of a UUID, INET4 or INET6
// value (trailing zeros possibly stripped) into the server's text for it.
func (t Type) FixedBinaryText(b []byte) (string, error) {
	n := fixedBinaryLength(t.Kind)
	if len(b) > n {
		return "", fmt.Errorf("%s value of %d bytes, want %d", t.Kind, len(b), n)
	}
	var buf [16]byte
	copy(buf[:], b)
	switch t.Kind {
	case UUID:
		return uuidText(buf), nil
	case Inet4:
		return inet4Text(buf[:4]), nil
	}
	return inet6Text(buf), nil
}

// uuidText formats 16 bytes as MariaDB prints a UUID: lower-case hex in
// groups of 8-4-4-4-12.
func uuidText(b [16]byte) string {
	const hex = "0123456789abcdef"
	out := make([]byte, 0, 36)
	for i, x := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out = append(out, '-')
		}
		out = append(out, hex[x>>4], hex[x&0xf])
	}
	return string(out)
}

// inet4Text formats 4 bytes as a dotted quad.
func inet4Text(b []byte) string {
	out := make([]byte, 0, 15)
	for i, x := range b[:4] {
		if i > 0 {
			out = append(out, '.')
		}
		out = strconv.AppendUint(out, uint64(x), 10)
	}
	return string(out)
}

// inet6Text formats 16 bytes as MariaDB's INET6 prints them (Inet6::to_string),
// which differs from RFC 5952 (and Go's netip): the longest run of zero
// groups is written as "::" even when it is a single group, the first of
// equally long runs wins, and an address whose first 96 bits are zero
// (IPv4-compatible, when the run is exactly six groups) or that is
// ::ffff:a.b.c.d (IPv4-mapped) ends in dotted-quad form.
func inet6Text(b [16]byte) string {
	var w [8]uint16
	for i := range w {
		w[i] = uint16(b[2*i])<<8 | uint16(b[2*i+1])
	}
	gapPos, gapLen := -1, 0
	for i := 0; i < 8; {
		if w[i] != 0 {
			i++
			continue
		}
		j := i
		for j < 8 && w[j] == 0 {
			j++
		}
		if j-i > gapLen {
			gapPos, gapLen = i, j-i
		}
		i = j
	}
	out := make([]byte, 0, 39)
	for i := 0; i < 8; i++ {
		if i == gapPos {
			if i == 0 {
				out = append(out, ':')
			}
			out = append(out, ':')
			i += gapLen - 1
			continue
		}
		if i == 6 && gapPos == 0 && (gapLen == 6 || (gapLen == 5 && w[5] == 0xffff)) {
			return string(out) + inet4Text(b[12:])
		}
		out = strconv.AppendUint(out, uint64(w[i]), 16)
		if i < 7 {
			out = append(out, ':')
		}
	}
	return string(out)
}

// HasFixedBinaryCandidates reports whether t, as FromTableMap built it, has
// a BINARY(16) or BINARY(4) column, which may be a MariaDB UUID, INET6 or
// INET4 column (see WithFixedBinaryTypes).
func (t Table) HasFixedBinaryCandidates() bool {
	for _, c := range t.Columns {
		if c.Type.Kind == Binary && (c.Type.Length == 16 || c.Type.Length == 4) {
			return true
		}
	}
	return false
}

// WithFixedBinaryTypes returns t (as FromTableMap built it from a binlog
// TableMap event) with each BINARY(16) or BINARY(4) column that known (the
// same table as LoadTable read it from information_schema) declares as
// UUID, INET6 or INET4 of that stored length, under the same name, given
// that type: so that binlog rows decode to the same types and values as the
// snapshot reads. Other columns are left as they are, and t itself is not
// changed.
func (t Table) WithFixedBinaryTypes(known Table) Table {
	var out []Column
	for i, c := range t.Columns {
		if c.Type.Kind != Binary {
			continue
		}
		k, _, ok := known.Column(c.Name)
		if !ok || !k.Type.Kind.IsFixedBinaryText() || fixedBinaryLength(k.Type.Kind) != c.Type.Length {
			continue
		}
		if out == nil {
			out = append([]Column(nil), t.Columns...)
		}
		out[i].Type = Type{Kind: k.Type.Kind}
	}
	if out != nil {
		t.Columns = out
	}
	return t
}
