package rules

import "unicode/utf8"

// likeMatch reports whether s matches the LIKE pattern p: % matches any run
// of characters, _ exactly one, and esc makes the character
// after it literal (an escape at the very end is itself literal). Characters
// are compared in collation c; for the binary collation, bytes are the
// characters. Trailing spaces count, as in MySQL's LIKE.
//
// It is the usual greedy matcher that backtracks only to the last %, which
// is exact for patterns of % and _ and takes O(len(s)*len(p)) at worst.
func likeMatch(s, p string, esc rune, c *collation) bool {
	si, pi := 0, 0
	starP, starS := -1, 0
	for si < len(s) {
		if pi < len(p) {
			kind, lit, pn := likeToken(p, pi, esc, c.binary)
			switch kind {
			case tokAnyRun:
				pi += pn
				starP, starS = pi, si
				continue
			case tokAnyOne:
				_, sn := nextChar(s, si, c.binary)
				si += sn
				pi += pn
				continue
			default:
				if r, sn := nextChar(s, si, c.binary); c.sameChar(r, lit) {
					si += sn
					pi += pn
					continue
				}
			}
		}
		if starP < 0 {
			return false
		}
		_, sn := nextChar(s, starS, c.binary)
		starS += sn
		si, pi = starS, starP
	}
	for pi < len(p) {
		kind, _, pn := likeToken(p, pi, esc, c.binary)
		if kind != tokAnyRun {
			return false
		}
		pi += pn
	}
	return true
}

const (
	tokChar = iota
	tokAnyOne
	tokAnyRun
)

// likeToken reads the pattern token at p[i:]: its kind, the literal
// character of a tokChar, and its length in bytes.
func likeToken(p string, i int, esc rune, binary bool) (kind int, lit rune, n int) {
	r, n := nextChar(p, i, binary)
	switch {
	case r == esc && i+n < len(p):
		r2, n2 := nextChar(p, i+n, binary)
		return tokChar, r2, n + n2
	case r == '%':
		return tokAnyRun, 0, n
	case r == '_':
		return tokAnyOne, 0, n
	}
	return tokChar, r, n
}

// nextChar returns the character at s[i:] and its length: a byte for
// binary strings, else a UTF-8 rune.
func nextChar(s string, i int, binary bool) (rune, int) {
	if b := s[i]; binary || b < utf8.RuneSelf {
		return rune(b), 1
	}
	return utf8.DecodeRuneInString(s[i:])
}
