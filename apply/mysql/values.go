package mysql

import (
	"errors"
	"fmt"
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
		scale := t.Scale
		if t.Kind != schema.Decimal {
			scale = ratScale(x)
		}
		return x.FloatString(scale), nil
	case time.Time:
		if schema.IsZeroDate(x) {
			if t.Kind == schema.Date {
				return "0000-00-00", nil
			}
			return "0000-00-00 00:00:00", nil
		}
		if t.Kind == schema.Date {
			return fmt.Sprintf("%04d-%02d-%02d", x.Year(), x.Month(), x.Day()), nil
		}
		x = x.UTC()
		return fmt.Sprintf("%04d-%02d-%02d %02d:%02d:%02d.%06d", x.Year(), x.Month(), x.Day(),
			x.Hour(), x.Minute(), x.Second(), x.Nanosecond()/1000), nil
	}
	return nil, fmt.Errorf("%w: unexpected %T for a %s column", errBadValue, v, t)
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
