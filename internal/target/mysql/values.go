package mysql

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"time"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/syncline/syncline/schema"
)

// errBadValue is wrapped by the errors for values that cannot be bound;
// they are final, not retried.
var errBadValue = errors.New("value cannot be written")

// arg converts a change value (apply.Change's Go types) into a prepared
// statement argument for a column of type t.
func arg(v any, t schema.Type) (any, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case int32:
		if t.Kind == schema.Bit {
			return uint64(uint32(x)), nil
		}
		return x, nil
	case int64:
		if t.Kind == schema.Time {
			return formatTime(x), nil
		}
		return x, nil
	case float32, float64, string, bool:
		return x, nil
	case []byte:
		if t.Kind == schema.Bit {
			if len(x) > 8 {
				return nil, fmt.Errorf("%w: bit value of %d bytes", errBadValue, len(x))
			}
			var u uint64
			for _, b := range x {
				u = u<<8 | uint64(b)
			}
			return u, nil
		}
		// As a BLOB parameter: binary data, never text in a charset.
		return mysql.TypedBytes{Type: mysql.MYSQL_TYPE_BLOB, Bytes: x}, nil
	case *big.Rat:
		if x.IsInt() {
			n := x.Num()
			if n.IsUint64() && n.Sign() >= 0 {
				return n.Uint64(), nil
			}
			if n.IsInt64() {
				return n.Int64(), nil
			}
		}
		if t.Kind == schema.Decimal {
			if s, ok := decimalText(x, t.Scale); ok {
				return s, nil
			}
			return x.FloatString(t.Scale), nil
		}
		return x.FloatString(ratScale(x)), nil
	case time.Time:
		if schema.IsZeroDate(x) {
			if t.Kind == schema.Date {
				return "0000-00-00", nil
			}
			return "0000-00-00 00:00:00", nil
		}
		return dateTimeText(x.UTC(), t.Kind == schema.Date), nil
	}
	return nil, fmt.Errorf("%w: unexpected %T for a %s column", errBadValue, v, t)
}

// decimalText formats r with scale digits after the point, as FloatString
// does, when r's numerator and denominator fit int64 and the denominator
// divides 10^scale (every value of a DECIMAL column of that scale): integer
// arithmetic instead of big.Int division. ok is false otherwise.
func decimalText(r *big.Rat, scale int) (string, bool) {
	num, den := r.Num(), r.Denom()
	p := schema.Pow10(scale)
	if p == 0 || p > math.MaxInt64 || !num.IsInt64() || !den.IsInt64() {
		return "", false
	}
	if int64(p)%den.Int64() != 0 {
		return "", false
	}
	n, f := num.Int64(), int64(p)/den.Int64()
	if n > math.MaxInt64/f || n < -math.MaxInt64/f {
		return "", false
	}
	n *= f
	u := uint64(n)
	if n < 0 {
		u = uint64(-n)
	}
	// The digits, right-aligned, at least one before the point.
	var d [20]byte
	i := len(d)
	for u > 0 || i > len(d)-scale-1 {
		i--
		d[i] = byte('0' + u%10)
		u /= 10
	}
	digits := d[i:]
	var buf [22]byte
	out := buf[:0]
	if n < 0 {
		out = append(out, '-')
	}
	out = append(out, digits[:len(digits)-scale]...)
	if scale > 0 {
		out = append(append(out, '.'), digits[len(digits)-scale:]...)
	}
	return string(out), true
}

// dateTimeText formats t as a DATE literal, or as a DATETIME literal with
// microseconds, YYYY-MM-DD HH:MM:SS.ffffff.
func dateTimeText(t time.Time, dateOnly bool) string {
	var buf [26]byte
	y, mo, d := t.Date()
	b := appendPadded(buf[:0], y, 4)
	b = appendPadded(append(b, '-'), int(mo), 2)
	b = appendPadded(append(b, '-'), d, 2)
	if dateOnly {
		return string(b)
	}
	h, mi, s := t.Clock()
	b = appendPadded(append(b, ' '), h, 2)
	b = appendPadded(append(b, ':'), mi, 2)
	b = appendPadded(append(b, ':'), s, 2)
	b = appendPadded(append(b, '.'), t.Nanosecond()/1000, 6)
	return string(b)
}

// appendPadded appends the non-negative v in at least width digits.
func appendPadded(b []byte, v, width int) []byte {
	for p := 1; width > 1; width-- {
		p *= 10
		if v < p {
			b = append(b, '0')
		}
	}
	return strconv.AppendInt(b, int64(v), 10)
}

// ratScale returns the number of decimal digits of an exact decimal
// fraction (its denominator divides a power of ten); at most 65.
func ratScale(r *big.Rat) int {
	num := new(big.Int).Abs(r.Num())
	m := new(big.Int)
	ten := big.NewInt(10)
	for s := 0; s < 65; s++ {
		if m.Mod(num, r.Denom()).Sign() == 0 {
			return s
		}
		num.Mul(num, ten)
	}
	return 65
}

// formatTime formats signed microseconds as a TIME literal,
// [-]H..H:MM:SS.ffffff.
func formatTime(micros int64) string {
	sign := ""
	if micros < 0 {
		sign = "-"
		micros = -micros
	}
	secs := micros / 1_000_000
	frac := micros % 1_000_000
	return sign + strconv.FormatInt(secs/3600, 10) + fmt.Sprintf(":%02d:%02d.%06d", secs/60%60, secs%60, frac)
}
