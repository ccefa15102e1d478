package rules

import (
	"math"
	"math/big"
	"time"
	"unsafe"

	"github.com/syncline/syncline/schema"
)

// vkind is the runtime kind of a value during evaluation.
type vkind uint8

const (
	vNull  vkind = iota
	vInt         // i
	vDec         // r, exact; never modified once made
	vFloat       // i, the bits of a float64 (see float)
	vStr         // s, UTF-8 text
	vBin         // s, the bytes of a binary string
	vTime        // i, microseconds: DATE and DATETIME wall clock read as UTC, TIMESTAMP since the epoch; zeroTime for zero dates
	vDur         // i, TIME as signed microseconds
)

// zeroTime is the vTime of MySQL's zero date (and of dates with a zero month
// or day, which the event contract carries as the zero date): less than
// every date, as in MySQL.
const zeroTime = math.MinInt64

// val is one value during evaluation. It is passed by value so that
// evaluating a row allocates nothing in the common cases.
type val struct {
	k vkind
	i int64
	r *big.Rat
	s string
}

// float returns the float64 of a vFloat.
func (v val) float() float64 { return math.Float64frombits(uint64(v.i)) }

var null = val{}

func intVal(i int64) val     { return val{k: vInt, i: i} }
func decVal(r *big.Rat) val  { return val{k: vDec, r: r} }
func floatVal(f float64) val { return val{k: vFloat, i: int64(math.Float64bits(f))} }
func strVal(s string) val    { return val{k: vStr, s: s} }
func binVal(s string) val    { return val{k: vBin, s: s} }

func boolVal(b bool) val {
	if b {
		return intVal(1)
	}
	return intVal(0)
}

// tri is a truth value of SQL's three-valued logic.
type tri int8

const (
	no      tri = 0
	yes     tri = 1
	unknown tri = -1
)

func triOf(b bool) tri {
	if b {
		return yes
	}
	return no
}

func (t tri) val() val {
	if t == unknown {
		return null
	}
	return boolVal(t == yes)
}

// truth is the truth of a numeric value in a condition: NULL is unknown,
// zero false, anything else true.
func truth(v val) tri {
	switch v.k {
	case vInt:
		return triOf(v.i != 0)
	case vDec:
		return triOf(v.r.Sign() != 0)
	case vFloat:
		return triOf(v.float() != 0)
	}
	return unknown
}

// reader converts the Go value of a column, as listed in apply.Change's
// documentation, to a val. It returns NULL for nil and for a Go type the
// column kind cannot hold.
type reader func(any) val

// readerFor returns the reader of column c's values.
func readerFor(c schema.Column) reader {
	switch k := c.Type.Kind; {
	case k.IsInteger(), k == schema.Year, k == schema.Decimal:
		return readNumber
	case k == schema.Float, k == schema.Double:
		return readFloat
	case k == schema.Bit:
		return readBit
	case k.IsString():
		return readText
	case k.IsBinary(), k.IsGeometry():
		return readBinary
	case k == schema.Date, k == schema.DateTime:
		return readWallClock
	case k == schema.Timestamp:
		return readInstant
	case k == schema.Time:
		return readDuration
	}
	return func(any) val { return null }
}

func readNumber(v any) val {
	switch x := v.(type) {
	case int32:
		return intVal(int64(x))
	case int64:
		return intVal(x)
	case *big.Rat:
		if x == nil {
			return null
		}
		return decVal(x)
	case int:
		return intVal(int64(x))
	case int8:
		return intVal(int64(x))
	case int16:
		return intVal(int64(x))
	case uint8:
		return intVal(int64(x))
	case uint16:
		return intVal(int64(x))
	case uint32:
		return intVal(int64(x))
	case uint64:
		return uintVal(x)
	case uint:
		return uintVal(uint64(x))
	case float64:
		return floatVal(x)
	case float32:
		return floatVal(float64(x))
	}
	return null
}

func uintVal(u uint64) val {
	if u <= math.MaxInt64 {
		return intVal(int64(u))
	}
	return decVal(new(big.Rat).SetUint64(u))
}

func readFloat(v any) val {
	switch x := v.(type) {
	case float64:
		return floatVal(x)
	case float32:
		return floatVal(float64(x))
	}
	return null
}

// readBit reads a BIT value (big-endian bytes) as an unsigned number.
func readBit(v any) val {
	switch x := v.(type) {
	case []byte:
		if len(x) > 8 {
			return null
		}
		var u uint64
		for _, b := range x {
			u = u<<8 | uint64(b)
		}
		return uintVal(u)
	case int64, int32, uint64, int:
		return readNumber(x)
	}
	return null
}

func readText(v any) val {
	switch x := v.(type) {
	case string:
		return strVal(x)
	case []byte:
		return strVal(string(x))
	}
	return null
}

func readBinary(v any) val {
	switch x := v.(type) {
	case []byte:
		return binVal(bytesString(x))
	case string:
		return binVal(x)
	}
	return null
}

// bytesString returns the bytes of b as a string without copying them. The
// string lives only while a row is evaluated, during which the caller's row
// must not change (Match's contract), so it never sees b modified.
func bytesString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(unsafe.SliceData(b), len(b))
}

// readWallClock reads DATE and DATETIME values: a time.Time whose wall clock
// is the value, the int64 microseconds of schema's row values, or the union
// map of a nullable DATETIME in mysqlvalue.TextRow and BinlogRow.
func readWallClock(v any) val {
	switch x := v.(type) {
	case time.Time:
		if schema.IsZeroDate(x) {
			return val{k: vTime, i: zeroTime}
		}
		return val{k: vTime, i: wallMicros(x)}
	case int64:
		return val{k: vTime, i: x} // ZeroDateTime is zeroTime
	case int32: // days, as Avro's date
		if x == math.MinInt32 {
			return val{k: vTime, i: zeroTime}
		}
		return val{k: vTime, i: int64(x) * microsPerDay}
	case map[string]any:
		if len(x) == 1 {
			for _, inner := range x {
				return readWallClock(inner)
			}
		}
	}
	return null
}

// readInstant reads TIMESTAMP values: a time.Time (any location) or int64
// microseconds since the epoch.
func readInstant(v any) val {
	switch x := v.(type) {
	case time.Time:
		if schema.IsZeroDate(x) {
			return val{k: vTime, i: zeroTime}
		}
		return val{k: vTime, i: x.UnixMicro()}
	case int64:
		return val{k: vTime, i: x}
	}
	return null
}

func readDuration(v any) val {
	switch x := v.(type) {
	case int64:
		return val{k: vDur, i: x}
	case time.Duration:
		return val{k: vDur, i: x.Microseconds()}
	}
	return null
}

const microsPerDay = 24 * 60 * 60 * 1_000_000

// wallMicros returns the microseconds of t's wall clock read as UTC.
func wallMicros(t time.Time) int64 {
	y, mo, d := t.Date()
	hh, mi, ss := t.Clock()
	return time.Date(y, mo, d, hh, mi, ss, 0, time.UTC).UnixMicro() + int64(t.Nanosecond()/1000)
}
