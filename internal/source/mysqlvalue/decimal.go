package mysqlvalue

import (
	"fmt"
	"github.com/syncline/syncline/schema"
	"math/big"
	"strings"
)

// text is the type of a value's text: a string from the binlog, the bytes of
// a text-protocol field.
type text interface{ ~string | ~[]byte }

// maxDecimalDigits is the number of significant digits parseDecimal reads
// into a uint64 by hand: any 19-digit number is below 2^64.
const maxDecimalDigits = 19

// parseDecimal parses a DECIMAL text exactly into its *big.Rat. The text
// MySQL writes ("-123.45", "0.50") with up to 19 significant digits is read
// by hand; anything else (more digits, spaces, an exponent) goes through
// big.Rat's SetString, which gives the same value for what both accept.
func parseDecimal[T text](s T) (*big.Rat, error) {
	if neg, mag, scale, ok := scanDecimal(s); ok {
		return schema.RatOfDecimal(neg, mag, scale), nil
	}
	r, ok := new(big.Rat).SetString(strings.TrimSpace(string(s)))
	if !ok {
		return nil, fmt.Errorf("bad decimal %q", s)
	}
	return r, nil
}

// scanDecimal reads a decimal of the form -?[0-9]+(\.[0-9]+)? with at most
// maxDecimalDigits significant digits: its value is mag / 10^scale,
// negative if neg. Trailing zeros of the fraction are dropped, and zero is
// never negative. ok is false for any other text.
func scanDecimal[T text](s T) (neg bool, mag uint64, scale int, ok bool) {
	i := 0
	if len(s) > 0 && s[0] == '-' {
		neg, i = true, 1
	}
	intStart := i
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	intEnd, fracStart, fracEnd := i, i, i
	if intEnd == intStart {
		return false, 0, 0, false
	}
	if i < len(s) {
		if s[i] != '.' {
			return false, 0, 0, false
		}
		i++
		fracStart = i
		for i < len(s) && isDigit(s[i]) {
			i++
		}
		if i == fracStart || i != len(s) {
			return false, 0, 0, false
		}
		fracEnd = i
	}
	for intStart < intEnd && s[intStart] == '0' {
		intStart++
	}
	for fracEnd > fracStart && s[fracEnd-1] == '0' {
		fracEnd--
	}
	if intEnd-intStart+fracEnd-fracStart > maxDecimalDigits {
		return false, 0, 0, false
	}
	for j := intStart; j < intEnd; j++ {
		mag = mag*10 + uint64(s[j]-'0')
	}
	for j := fracStart; j < fracEnd; j++ {
		mag = mag*10 + uint64(s[j]-'0')
	}
	if mag == 0 {
		return false, 0, 0, true
	}
	return neg, mag, fracEnd - fracStart, true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
