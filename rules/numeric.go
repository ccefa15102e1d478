package rules

import (
	"cmp"
	"math"
	"math/big"
	"math/bits"
	"strconv"
	"strings"

	"github.com/pingcap/tidb/pkg/parser/opcode"
)

// maxScale is the largest number of fractional digits a DECIMAL result has
// in MariaDB.
const maxScale = 38

// maxExponent bounds the exponent of numbers read from strings, so that a
// value such as '1e999999999' cannot make an exact number of a billion
// digits. MariaDB's DECIMAL has at most 65 digits, far below.
const maxExponent = 200

// numberPrefix returns the part of s that MySQL reads when it converts a
// string to a number: after leading white space, an optional sign, digits
// with an optional fraction, and an optional exponent. It returns "" when s
// does not start with a number (MySQL reads 0), and the rest of s.
func numberPrefix(s string) (num, rest string) {
	i := 0
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	start := i
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := 0
	for i < len(s) && isDigit(s[i]) {
		i++
		digits++
	}
	if i < len(s) && s[i] == '.' {
		j := i + 1
		frac := 0
		for j < len(s) && isDigit(s[j]) {
			j++
			frac++
		}
		if digits+frac > 0 {
			i = j
			digits += frac
		}
	}
	if digits == 0 {
		return "", s[start:]
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		j := i + 1
		if j < len(s) && (s[j] == '+' || s[j] == '-') {
			j++
		}
		if j < len(s) && isDigit(s[j]) {
			for j < len(s) && isDigit(s[j]) {
				j++
			}
			i = j
		}
	}
	return s[start:i], s[i:]
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}
func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// strictNumber parses a string literal compared with a number: it must be
// a whole number in MySQL's syntax, with optional surrounding white space.
func strictNumber(s string) (num string, ok bool) {
	num, rest := numberPrefix(s)
	if num == "" || strings.TrimLeft(rest, " \t\n\r\v\f") != "" {
		return "", false
	}
	return num, true
}

// exactOf returns the exact value of a number text as numberPrefix returns
// it: an int when it is an integer that fits, else a decimal.
func exactOf(num string) val {
	if num == "" {
		return intVal(0)
	}
	if i, err := strconv.ParseInt(num, 10, 64); err == nil {
		return intVal(i)
	}
	mant, exp := num, 0
	if k := strings.IndexAny(num, "eE"); k >= 0 {
		mant = num[:k]
		e, err := strconv.Atoi(num[k+1:])
		if err != nil || e > maxExponent {
			e = maxExponent
		} else if e < -maxExponent {
			e = -maxExponent
		}
		exp = e
	}
	r, ok := new(big.Rat).SetString(mant)
	if !ok {
		return intVal(0)
	}
	if exp != 0 {
		p := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(abs(exp))), nil)
		if exp > 0 {
			r.Mul(r, new(big.Rat).SetInt(p))
		} else {
			r.Quo(r, new(big.Rat).SetInt(p))
		}
	}
	return exactNormal(r)
}

// exactNormal returns r as an int when it is an integer that fits.
func exactNormal(r *big.Rat) val {
	if r.IsInt() && r.Num().IsInt64() {
		return intVal(r.Num().Int64())
	}
	return decVal(r)
}

func abs(i int) int {
	if i < 0 {
		return -i
	}
	return i
}

// strToExact converts a string to an exact number as MySQL converts a string
// compared with an integer: its numeric prefix, or 0.
func strToExact(s string) val {
	num, _ := numberPrefix(s)
	return exactOf(num)
}

// strToFloat converts a string to a double as MySQL does: its numeric
// prefix, or 0.
func strToFloat(s string) float64 {
	num, _ := numberPrefix(s)
	if num == "" {
		return 0
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil && math.IsInf(f, 0) {
		return math.Copysign(math.MaxFloat64, f)
	}
	return f
}

// toFloat converts a numeric or string value to a double; NULL stays NULL.
func toFloat(v val) val {
	switch v.k {
	case vInt:
		return floatVal(float64(v.i))
	case vDec:
		f, _ := v.r.Float64()
		return floatVal(f)
	case vStr:
		return floatVal(strToFloat(v.s))
	case vBin:
		return floatVal(float64(hexUint(v.s)))
	}
	return v
}

// toExact converts a string value to an exact number; other values are
// returned as they are.
func toExact(v val) val {
	if v.k == vStr {
		return strToExact(v.s)
	}
	if v.k == vBin {
		return uintVal(hexUint(v.s))
	}
	return v
}

// hexUint is the number a hexadecimal or bit literal stands for: its bytes
// big-endian, the last eight if there are more.
func hexUint(s string) uint64 {
	var u uint64
	for i := 0; i < len(s); i++ {
		u = u<<8 | uint64(s[i])
	}
	return u
}

// ratOf returns an exact value as a big.Rat (a new one for an int).
func ratOf(v val) *big.Rat {
	if v.k == vDec {
		return v.r
	}
	return new(big.Rat).SetInt64(v.i)
}

// fraction returns an exact value as a fraction of machine integers, when
// it is one.
func fraction(v val) (num int64, den uint64, ok bool) {
	if v.k == vInt {
		return v.i, 1, true
	}
	n, d := v.r.Num(), v.r.Denom()
	if !n.IsInt64() || !d.IsUint64() {
		return 0, 0, false
	}
	return n.Int64(), d.Uint64(), true
}

// compareExact compares two exact numbers (ints and decimals) exactly.
// A float among them (which the binder does not produce) is compared as
// a double.
func compareExact(a, b val) int {
	if a.k == vInt && b.k == vInt {
		return cmp.Compare(a.i, b.i)
	}
	if a.k == vFloat || b.k == vFloat {
		return cmp.Compare(toFloat(a).float(), toFloat(b).float())
	}
	if n1, d1, ok := fraction(a); ok {
		if n2, d2, ok := fraction(b); ok {
			return compareFractions(n1, d1, n2, d2)
		}
	}
	return ratOf(a).Cmp(ratOf(b))
}

// compareFractions compares n1/d1 with n2/d2 (d1, d2 > 0) without
// allocating, using 128-bit products.
func compareFractions(n1 int64, d1 uint64, n2 int64, d2 uint64) int {
	s1, s2 := sign(n1), sign(n2)
	if s1 != s2 {
		return cmp.Compare(s1, s2)
	}
	if s1 == 0 {
		return 0
	}
	h1, l1 := bits.Mul64(absU(n1), d2)
	h2, l2 := bits.Mul64(absU(n2), d1)
	c := cmp.Compare(h1, h2)
	if c == 0 {
		c = cmp.Compare(l1, l2)
	}
	return c * s1
}

func sign(i int64) int {
	switch {
	case i < 0:
		return -1
	case i > 0:
		return 1
	}
	return 0
}

func absU(i int64) uint64 {
	if i < 0 {
		return uint64(-(i + 1)) + 1
	}
	return uint64(i)
}

// roundDec rounds an exact value to scale fractional digits, halves away
// from zero, as MySQL rounds DECIMAL results.
func roundDec(v val, scale int) val {
	if v.k != vDec || v.r.IsInt() {
		return v
	}
	p := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil)
	num := new(big.Int).Mul(v.r.Num(), p)
	q, m := new(big.Int).QuoRem(num, v.r.Denom(), new(big.Int))
	m.Abs(m).Lsh(m, 1)
	if m.Cmp(v.r.Denom()) >= 0 {
		if num.Sign() < 0 {
			q.Sub(q, big.NewInt(1))
		} else {
			q.Add(q, big.NewInt(1))
		}
	}
	return exactNormal(new(big.Rat).SetFrac(q, p))
}

// arith applies an arithmetic operator as MySQL does: in doubles when an
// operand is a double, else exactly (in ints while they do not overflow).
// The result is NULL for NULL operands, for a zero divisor (as MySQL
// outside strict mode), and for a double out of range, where MySQL raises an
// error; see intInRange for integers.
func arith(op opcode.Op, a, b val) val {
	if a.k == vNull || b.k == vNull {
		return null
	}
	if a.k == vFloat || b.k == vFloat {
		return arithFloat(op, toFloat(a).float(), toFloat(b).float())
	}
	if a.k == vInt && b.k == vInt {
		if v, ok := arithInt(op, a.i, b.i); ok {
			return v
		}
	}
	return arithExact(op, ratOf(a), ratOf(b))
}

func arithFloat(op opcode.Op, x, y float64) val {
	var z float64
	switch op {
	case opcode.Plus:
		z = x + y
	case opcode.Minus:
		z = x - y
	case opcode.Mul:
		z = x * y
	case opcode.Div:
		if y == 0 {
			return null
		}
		z = x / y
	case opcode.IntDiv:
		if y == 0 {
			return null
		}
		q := math.Trunc(x / y)
		if q < math.MinInt64 || q >= math.MaxInt64 {
			return null
		}
		return intVal(int64(q))
	case opcode.Mod:
		if y == 0 {
			return null
		}
		z = math.Mod(x, y)
	}
	if math.IsInf(z, 0) || math.IsNaN(z) {
		return null
	}
	return floatVal(z)
}

// intInRange returns an integer result, or NULL when it is out of the range
// of BIGINT (BIGINT UNSIGNED when unsigned), where MySQL raises an error.
func intInRange(v val, unsigned bool) val {
	switch v.k {
	case vInt:
		if unsigned && v.i < 0 {
			return null
		}
	case vDec:
		if !unsigned || v.r.Sign() < 0 || !v.r.IsInt() || !v.r.Num().IsUint64() {
			return null
		}
	}
	return v
}

// arithInt computes on ints; ok is false when the result needs exact
// arithmetic (overflow, or a division).
func arithInt(op opcode.Op, x, y int64) (val, bool) {
	switch op {
	case opcode.Plus:
		z := x + y
		if (z > x) == (y > 0) {
			return intVal(z), true
		}
	case opcode.Minus:
		z := x - y
		if (z < x) == (y > 0) {
			return intVal(z), true
		}
	case opcode.Mul:
		if x == 0 || y == 0 {
			return intVal(0), true
		}
		z := x * y
		if z/y == x && !(x == -1 && y == math.MinInt64) && !(y == -1 && x == math.MinInt64) {
			return intVal(z), true
		}
	case opcode.IntDiv:
		if y == 0 || (x == math.MinInt64 && y == -1) {
			return null, true
		}
		return intVal(x / y), true
	case opcode.Mod:
		if y == 0 {
			return null, true
		}
		if y == -1 {
			return intVal(0), true
		}
		return intVal(x % y), true
	}
	return null, false
}

func arithExact(op opcode.Op, x, y *big.Rat) val {
	z := new(big.Rat)
	switch op {
	case opcode.Plus:
		z.Add(x, y)
	case opcode.Minus:
		z.Sub(x, y)
	case opcode.Mul:
		z.Mul(x, y)
	case opcode.Div:
		if y.Sign() == 0 {
			return null
		}
		z.Quo(x, y)
	case opcode.IntDiv:
		if y.Sign() == 0 {
			return null
		}
		return exactNormal(z.SetInt(truncRat(z.Quo(x, y))))
	case opcode.Mod:
		if y.Sign() == 0 {
			return null
		}
		q := truncRat(new(big.Rat).Quo(x, y))
		z.Sub(x, new(big.Rat).Mul(y, new(big.Rat).SetInt(q)))
	}
	return exactNormal(z)
}

// truncRat returns r truncated toward zero.
func truncRat(r *big.Rat) *big.Int {
	return new(big.Int).Quo(r.Num(), r.Denom())
}

// negate returns -v; NULL stays NULL.
func negate(v val) val {
	switch v.k {
	case vInt:
		if v.i == math.MinInt64 {
			return decVal(new(big.Rat).Neg(new(big.Rat).SetInt64(v.i)))
		}
		return intVal(-v.i)
	case vDec:
		return exactNormal(new(big.Rat).Neg(v.r))
	case vFloat:
		return floatVal(-v.float())
	}
	return v
}

// absVal returns |v|; NULL stays NULL.
func absVal(v val) val {
	switch v.k {
	case vInt:
		if v.i < 0 {
			return negate(v)
		}
	case vDec:
		if v.r.Sign() < 0 {
			return negate(v)
		}
	case vFloat:
		return floatVal(math.Abs(v.float()))
	}
	return v
}

// formatNumber returns an exact value as MySQL prints it with scale
// fractional digits.
func formatNumber(v val, scale int) string {
	switch v.k {
	case vInt:
		if scale == 0 {
			return strconv.FormatInt(v.i, 10)
		}
		return new(big.Rat).SetInt64(v.i).FloatString(scale)
	case vDec:
		return v.r.FloatString(scale)
	}
	return ""
}
