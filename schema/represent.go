package schema

import (
	"math"
	"math/big"
	"math/bits"
	"strings"
	"time"
)

// The Go values of a row, one form per Avro type, as hamba/avro encodes
// them (event.ValueMap builds the map it takes):
//
//	int (TINYINT..MEDIUMINT, INT, YEAR)       int32
//	long (INT UNSIGNED, BIGINT, TIME)         int64 (TIME: signed microseconds)
//	bytes.decimal (DECIMAL, BIGINT UNSIGNED)  *big.Rat
//	float, double                             float32, float64
//	string                                    string (UUID, INET4, INET6: the server's text)
//	bytes (BIT, BINARY.., BLOB.., GEOMETRY)   []byte
//	int.date (DATE)                           time.Time, UTC midnight; zero date: ZeroDate()
//	long.timestamp-micros (TIMESTAMP)         time.Time in UTC, microseconds; zero: ZeroTimestamp()
//	long.local-timestamp-micros (DATETIME)    int64 microseconds of the wall clock read as UTC; zero: ZeroDateTime
//	NULL                                      nil
//
// DATETIME is an int64, not a time.Time: hamba/avro encodes a time.Time for
// local-timestamp-micros through the process's time.Local, so its result
// would depend on the TZ of capture (and a wall clock inside a DST gap of
// that zone cannot be represented at all); the int64 encodes the documented
// value exactly everywhere. hamba/avro also cannot pick the union branch of a
// bare value for local-timestamp-micros, so a non-NULL value of a nullable
// DATETIME column is given as the union map {"long.local-timestamp-micros":
// int64}, which it encodes directly.
//
// The zero-date sentinels of docs/events.md encode exactly: ZeroDate() is the
// time.Time whose day number is math.MinInt32, ZeroTimestamp() the time.Time
// at math.MinInt64 microseconds. Decoding gives them back; IsZeroDate
// recognizes every form.

// ZeroDateTime is the DATETIME value for MySQL's zero date (and for dates with
// a zero month or day): the Avro long math.MinInt64.
const ZeroDateTime int64 = math.MinInt64

// ZeroDate returns the DATE value for MySQL's zero date and for dates with a
// zero month or day: the time.Time whose Avro date is math.MinInt32 days.
func ZeroDate() time.Time {
	return time.Unix(int64(math.MinInt32)*secondsPerDay, 0).UTC()
}

// ZeroTimestamp returns the TIMESTAMP value for MySQL's zero timestamp: the
// time.Time whose Avro timestamp-micros is math.MinInt64.
func ZeroTimestamp() time.Time {
	return time.UnixMicro(math.MinInt64).UTC()
}

const secondsPerDay = 24 * 60 * 60

// IsZeroDate reports whether v is a zero-date sentinel of DATE, DATETIME or
// TIMESTAMP in any of its forms: the values of this package, the union map of
// a nullable DATETIME, the raw int32/int64 sentinels, and what hamba/avro
// decodes them to (times hundreds of thousands of years before year 1).
func IsZeroDate(v any) bool {
	switch x := v.(type) {
	case time.Time:
		return x.Year() < -100000
	case int64:
		return x == math.MinInt64
	case int32:
		return x == math.MinInt32
	case int:
		return x == math.MinInt64 || x == math.MinInt32
	case map[string]any:
		if len(x) == 1 {
			for _, inner := range x {
				return IsZeroDate(inner)
			}
		}
	}
	return false
}

// pow10 holds the powers of ten that fit a uint64.
var pow10 = func() (p [20]uint64) {
	p[0] = 1
	for i := 1; i < len(p); i++ {
		p[i] = p[i-1] * 10
	}
	return p
}()

// Pow10 returns 10^n when a uint64 holds it (n from 0 to 19), else 0: the
// scale factor of the decimals the sinks convert without math/big.
func Pow10(n int) uint64 {
	if n < 0 || n >= len(pow10) {
		return 0
	}
	return pow10[n]
}

// RatOfDecimal returns the *big.Rat of mag / 10^scale (negative if neg) in
// the normalized form big.Rat's own operations give: numerator and
// denominator without common factor, the denominator set (1 for an
// integer, zero included), with word arithmetic only. scale must be at most
// 19 (Pow10(scale) is not 0).
func RatOfDecimal(neg bool, mag uint64, scale int) *big.Rat {
	num, den := mag, uint64(1)
	if num != 0 {
		den = pow10[scale]
		// 10^scale is 2^scale * 5^scale: cancel the twos, then the fives.
		k := min(bits.TrailingZeros64(num), scale)
		num, den = num>>k, den>>k
		for fives := 0; fives < scale && num%5 == 0; fives++ {
			num, den = num/5, den/5
		}
	}
	r := new(big.Rat).SetUint64(num)
	if neg {
		r.Neg(r)
	}
	if den != 1 {
		// SetUint64 initialized r: Denom is a reference to its denominator.
		r.Denom().SetUint64(den)
	}
	return r
}

// NormalizeCharset returns the canonical name of a charset: lower case, with
// MySQL's "utf8" alias reported as "utf8mb3" (as MariaDB 10.6+ and MySQL
// 8.0.30+ do).
func NormalizeCharset(name string) string {
	name = strings.ToLower(strings.TrimSpace(name))
	if name == "utf8" {
		return "utf8mb3"
	}
	return name
}
