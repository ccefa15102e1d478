package clickhouse

import (
	"fmt"
	"math"
	"math/big"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/syncline/syncline/schema"
)

// server is what the sink knows about the target server.
type server struct {
	version string
	// nativeTimes: DATE, DATETIME and TIMESTAMP(p>0) become Date32 and
	// DateTime64, whose range is 1900-01-01 to 2299-12-31 from 22.8 on
	// (earlier releases had 1925 to 2283), unless Options.IntegerTimes.
	nativeTimes bool
	// wideDecimal: Decimal holds up to 76 digits (Decimal256), without
	// experimental settings from 21.7; 22.8 is required to stay on the
	// releases the rest of the mapping is known to work with.
	wideDecimal bool
	// renameColumn: ALTER TABLE ... RENAME COLUMN (20.4).
	renameColumn bool
	// isDeleted: ReplacingMergeTree(version, is_deleted). The argument
	// exists from 23.2, but until 24.1 OPTIMIZE ... FINAL removed the
	// deleted rows, after which a replayed older change would win again;
	// from 24.1 they stay unless the user runs OPTIMIZE ... FINAL CLEANUP.
	isDeleted bool
}

// newServer derives the capabilities from SELECT version().
func newServer(version string, integerTimes bool) *server {
	atLeast := func(major, minor int) bool { return versionAtLeast(version, major, minor) }
	return &server{
		version:      version,
		nativeTimes:  atLeast(22, 8) && !integerTimes,
		wideDecimal:  atLeast(22, 8),
		renameColumn: atLeast(20, 4),
		isDeleted:    atLeast(24, 1),
	}
}

// versionAtLeast compares the leading "major.minor" of a server version.
func versionAtLeast(v string, major, minor int) bool {
	var a, b int
	_, _ = fmt.Sscanf(v, "%d.%d", &a, &b)
	if a != major {
		return a > major
	}
	return b >= minor
}

// columnType returns the ClickHouse type of a source column type, without
// Nullable, spelled as system.columns prints it. docs/targets.md lists the
// mapping.
func columnType(t schema.Type, srv *server) string {
	switch k := t.Kind; {
	case k == schema.TinyInt:
		return intType("Int8", t.Unsigned)
	case k == schema.SmallInt:
		return intType("Int16", t.Unsigned)
	case k == schema.MediumInt, k == schema.Int:
		return intType("Int32", t.Unsigned)
	case k == schema.BigInt:
		return intType("Int64", t.Unsigned)
	case k == schema.Decimal:
		if t.Precision <= 38 || (srv.wideDecimal && t.Precision <= 76) {
			return fmt.Sprintf("Decimal(%d, %d)", t.Precision, t.Scale)
		}
		return "String"
	case k == schema.Float:
		return "Float32"
	case k == schema.Double:
		return "Float64"
	case k == schema.Bit:
		return "UInt64"
	case k == schema.Date:
		if srv.nativeTimes {
			return "Date32"
		}
		return "Int32"
	case k == schema.DateTime:
		if srv.nativeTimes {
			return fmt.Sprintf("DateTime64(%d, 'UTC')", t.Precision)
		}
		return "Int64"
	case k == schema.Timestamp:
		switch {
		case t.Precision == 0:
			return "DateTime('UTC')"
		case srv.nativeTimes:
			return fmt.Sprintf("DateTime64(%d, 'UTC')", t.Precision)
		}
		return "Int64"
	case k == schema.Time:
		return "Int64"
	case k == schema.Year:
		return "UInt16"
	}
	// CHAR, VARCHAR, TEXT kinds, ENUM, SET, JSON, BINARY, VARBINARY, BLOB
	// kinds, GEOMETRY kinds: bytes.
	return "String"
}

func intType(signed string, unsigned bool) string {
	if unsigned {
		return "U" + signed
	}
	return signed
}

// columnDef is a column's type in CREATE TABLE and ADD COLUMN: Nullable
// when asked, except for key columns (ClickHouse sorting keys cannot be
// Nullable).
func columnDef(t schema.Type, srv *server, nullable bool) string {
	typ := columnType(t, srv)
	if nullable {
		return "Nullable(" + typ + ")"
	}
	return typ
}

// acceptable reports whether a target column's type (without Nullable)
// holds a source type: the mapping of either an old or a new server, so
// that a server upgrade converts nothing.
func acceptable(target string, t schema.Type, srv *server) bool {
	got := normalizeType(target)
	// The server's mapping, an old server's, and a new server's.
	for _, s := range []server{*srv, {}, {nativeTimes: true, wideDecimal: true}} {
		if got == normalizeType(columnType(t, &s)) {
			return true
		}
	}
	// Strings may be LowCardinality in a user's table.
	return got == "LowCardinality(String)" && columnType(t, srv) == "String"
}

// normalizeType removes the spaces of a type name, which servers print
// differently ("Decimal(10, 2)", "DateTime64(3, 'UTC')").
func normalizeType(s string) string { return strings.ReplaceAll(s, " ", "") }

// chType is a target column type, parsed.
type chType struct {
	full     string // as the server prints it
	base     string // without Nullable and LowCardinality
	family   string // "Int32", "Decimal", "DateTime64", ...
	nullable bool
	// precision and scale of Decimal; precision of DateTime64.
	precision, scale int
	length           int // of FixedString
}

// parseType parses a type as system.columns or an INSERT's header prints
// it.
func parseType(full string) chType {
	ct := chType{full: full}
	s := strings.TrimSpace(full)
	for {
		switch {
		case strings.HasPrefix(s, "Nullable(") && strings.HasSuffix(s, ")"):
			ct.nullable = true
			s = s[len("Nullable(") : len(s)-1]
			continue
		case strings.HasPrefix(s, "LowCardinality(") && strings.HasSuffix(s, ")"):
			s = s[len("LowCardinality(") : len(s)-1]
			continue
		}
		break
	}
	ct.base = s
	ct.family = s
	var args []string
	if i := strings.IndexByte(s, '('); i >= 0 && strings.HasSuffix(s, ")") {
		ct.family = s[:i]
		for _, a := range strings.Split(s[i+1:len(s)-1], ",") {
			args = append(args, strings.TrimSpace(a))
		}
	}
	arg := func(i int) int {
		if i >= len(args) {
			return 0
		}
		n, _ := strconv.Atoi(args[i])
		return n
	}
	switch ct.family {
	case "Decimal":
		ct.precision, ct.scale = arg(0), arg(1)
	case "Decimal32", "Decimal64", "Decimal128", "Decimal256":
		ct.precision = map[string]int{"Decimal32": 9, "Decimal64": 18, "Decimal128": 38, "Decimal256": 76}[ct.family]
		ct.scale = arg(0)
		ct.family = "Decimal"
	case "DateTime64":
		ct.precision = arg(0)
	case "FixedString":
		ct.length = arg(0)
	}
	return ct
}

const secondsPerDay = 24 * 60 * 60

// convert turns a change value (apply.Change's Go types) of a source
// column of type src into the value the driver appends to a column of
// type ct. It never lets a value change on the way: one that ct cannot hold
// exactly is an error wrapping errBadValue.
func convert(v any, src schema.Type, ct chType) (any, error) {
	if v == nil {
		if ct.nullable {
			return nil, nil
		}
		return nil, fmt.Errorf("%w: NULL for the non-Nullable %s column", errBadValue, ct.full)
	}
	if b, ok := v.(bool); ok { // not a Change type; decoders of Avro booleans give it
		if ct.family == "Bool" {
			return b, nil
		}
		v = int32(0)
		if b {
			v = int32(1)
		}
	}
	switch ct.family {
	case "Int8", "Int16", "Int32", "Int64", "UInt8", "UInt16", "UInt32", "UInt64":
		if t, ok := v.(time.Time); ok {
			return timeAsInteger(t, ct)
		}
		return integer(v, ct)
	case "Bool":
		n, err := integer(v, chType{family: "Int64", full: ct.full})
		if err != nil {
			return nil, err
		}
		if x := n.(int64); x == 0 || x == 1 {
			return x == 1, nil
		}
		return nil, fmt.Errorf("%w: %v for a %s column", errBadValue, v, ct.full)
	case "Float32", "Float64":
		return float(v, ct)
	case "Decimal":
		return decimal(v, ct)
	case "String", "FixedString":
		s, err := text(v, src)
		if err != nil {
			return nil, err
		}
		if ct.family == "FixedString" {
			n := 0
			switch x := s.(type) {
			case string:
				n = len(x)
			case []byte:
				n = len(x)
			}
			if n > ct.length {
				return nil, fmt.Errorf("%w: %d bytes for a %s column", errBadValue, n, ct.full)
			}
		}
		return s, nil
	case "Date", "Date32", "DateTime", "DateTime64":
		t, ok := v.(time.Time)
		if !ok {
			return nil, fmt.Errorf("%w: %T for a %s column", errBadValue, v, ct.full)
		}
		return dateTime(t, src, ct)
	}
	// Other types (a user's table): the driver converts or refuses.
	return v, nil
}

// integer converts integers, exact decimals and BIT bytes to the Go type of
// an integer column, refusing values out of its range.
func integer(v any, ct chType) (any, error) {
	var n big.Int
	switch x := v.(type) {
	case int32:
		n.SetInt64(int64(x))
	case int64:
		n.SetInt64(x)
	case *big.Rat:
		if !x.IsInt() {
			return nil, fmt.Errorf("%w: %s is not an integer, for a %s column", errBadValue, x.RatString(), ct.full)
		}
		n.Set(x.Num())
	case []byte: // BIT, big-endian
		if len(x) > 8 {
			return nil, fmt.Errorf("%w: bit value of %d bytes for a %s column", errBadValue, len(x), ct.full)
		}
		n.SetBytes(x)
	default:
		return nil, fmt.Errorf("%w: %T for a %s column", errBadValue, v, ct.full)
	}
	bits := map[string]uint{"Int8": 8, "Int16": 16, "Int32": 32, "Int64": 64, "UInt8": 8, "UInt16": 16, "UInt32": 32, "UInt64": 64}[ct.family]
	unsigned := strings.HasPrefix(ct.family, "U")
	var lo, hi big.Int
	if unsigned {
		hi.Lsh(big.NewInt(1), bits).Sub(&hi, big.NewInt(1))
	} else {
		hi.Lsh(big.NewInt(1), bits-1).Sub(&hi, big.NewInt(1))
		lo.Neg(new(big.Int).Lsh(big.NewInt(1), bits-1))
	}
	if n.Cmp(&lo) < 0 || n.Cmp(&hi) > 0 {
		return nil, fmt.Errorf("%w: %s is out of the range of a %s column", errBadValue, n.String(), ct.full)
	}
	switch ct.family {
	case "Int8":
		return int8(n.Int64()), nil
	case "Int16":
		return int16(n.Int64()), nil
	case "Int32":
		return int32(n.Int64()), nil
	case "Int64":
		return n.Int64(), nil
	case "UInt8":
		return uint8(n.Uint64()), nil
	case "UInt16":
		return uint16(n.Uint64()), nil
	case "UInt32":
		return uint32(n.Uint64()), nil
	}
	return n.Uint64(), nil
}

// timeAsInteger is the integer form of dates and times on servers without
// Date32 and DateTime64: days since 1970-01-01 in Int32 (DATE), signed
// microseconds since 1970-01-01 00:00:00 UTC in Int64 (DATETIME as its wall
// clock read as UTC, TIMESTAMP). The zero-date sentinels become the
// integers docs/events.md gives them: math.MinInt32 days, math.MinInt64
// microseconds.
func timeAsInteger(t time.Time, ct chType) (any, error) {
	zero := schema.IsZeroDate(t)
	switch ct.family {
	case "Int32":
		if zero {
			return int32(math.MinInt32), nil
		}
		secs := t.Unix()
		if secs%secondsPerDay != 0 || t.Nanosecond() != 0 {
			return nil, fmt.Errorf("%w: %s is not a date, for a %s column", errBadValue, t.Format(time.RFC3339Nano), ct.full)
		}
		days := secs / secondsPerDay
		if days < math.MinInt32 || days > math.MaxInt32 {
			return nil, fmt.Errorf("%w: %s is out of the range of a %s column", errBadValue, t.Format(time.RFC3339), ct.full)
		}
		return int32(days), nil
	case "Int64":
		if zero {
			return int64(math.MinInt64), nil
		}
		if t.Nanosecond()%1000 != 0 {
			return nil, fmt.Errorf("%w: %s has digits beyond microseconds, for a %s column", errBadValue, t.Format(time.RFC3339Nano), ct.full)
		}
		return t.UnixMicro(), nil
	}
	return nil, fmt.Errorf("%w: a time for a %s column", errBadValue, ct.full)
}

// float converts floats, and integers a float holds exactly.
func float(v any, ct chType) (any, error) {
	var f float64
	switch x := v.(type) {
	case float32:
		if ct.family == "Float32" {
			return x, nil
		}
		return float64(x), nil
	case float64:
		f = x
	case int32:
		f = float64(x)
	case int64:
		f = float64(x)
		if int64(f) != x || x == math.MaxInt64 {
			return nil, fmt.Errorf("%w: %d is not exact in a %s column", errBadValue, x, ct.full)
		}
	default:
		return nil, fmt.Errorf("%w: %T for a %s column", errBadValue, v, ct.full)
	}
	if ct.family == "Float64" {
		return f, nil
	}
	if f32 := float32(f); float64(f32) == f || math.IsNaN(f) {
		return f32, nil
	}
	return nil, fmt.Errorf("%w: %v is not exact in a %s column", errBadValue, f, ct.full)
}

// decimal converts an exact value to the decimal text the driver parses,
// refusing a value with more fractional digits than the scale or more
// digits than the precision.
func decimal(v any, ct chType) (any, error) {
	var r *big.Rat
	switch x := v.(type) {
	case *big.Rat:
		r = x
	case int32:
		r = new(big.Rat).SetInt64(int64(x))
	case int64:
		r = new(big.Rat).SetInt64(x)
	default:
		return nil, fmt.Errorf("%w: %T for a %s column", errBadValue, v, ct.full)
	}
	scaled := new(big.Rat).Mul(r, new(big.Rat).SetInt(pow10(ct.scale)))
	if !scaled.IsInt() {
		return nil, fmt.Errorf("%w: %s has more than %d fractional digits, for a %s column", errBadValue, r.FloatString(ratScale(r)), ct.scale, ct.full)
	}
	if new(big.Int).Abs(scaled.Num()).Cmp(pow10(ct.precision)) >= 0 {
		return nil, fmt.Errorf("%w: %s has more than %d digits, for a %s column", errBadValue, r.FloatString(ct.scale), ct.precision, ct.full)
	}
	return r.FloatString(ct.scale), nil
}

func pow10(n int) *big.Int { return new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n)), nil) }

// ratScale returns the number of decimal digits of an exact decimal
// fraction (its denominator divides a power of ten); at most 1000.
func ratScale(r *big.Rat) int {
	num := new(big.Int).Abs(r.Num())
	m := new(big.Int)
	ten := big.NewInt(10)
	for s := 0; s < 1000; s++ {
		if m.Mod(num, r.Denom()).Sign() == 0 {
			return s
		}
		num.Mul(num, ten)
	}
	return 1000
}

// text is the String form of a value: strings and bytes as they are,
// decimals as exact decimal text with the column's scale (a DECIMAL with
// more digits than the server's Decimal), numbers and times as MySQL prints
// them.
func text(v any, src schema.Type) (any, error) {
	switch x := v.(type) {
	case string, []byte:
		return x, nil
	case *big.Rat:
		scale := ratScale(x)
		if src.Kind == schema.Decimal {
			if scale > src.Scale {
				return nil, fmt.Errorf("%w: %s has more than %d fractional digits", errBadValue, x.FloatString(scale), src.Scale)
			}
			scale = src.Scale
		}
		return x.FloatString(scale), nil
	case int32:
		return strconv.FormatInt(int64(x), 10), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case float32:
		return strconv.FormatFloat(float64(x), 'g', -1, 32), nil
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64), nil
	case time.Time:
		if src.Kind == schema.Date {
			if schema.IsZeroDate(x) {
				return "0000-00-00", nil
			}
			return x.Format("2006-01-02"), nil
		}
		if schema.IsZeroDate(x) {
			return "0000-00-00 00:00:00", nil
		}
		return x.UTC().Format("2006-01-02 15:04:05.999999"), nil
	}
	return nil, fmt.Errorf("%w: unexpected %T for a String column", errBadValue, v)
}

// dateTime checks a time against the range and precision of a ClickHouse
// date or time column. A zero TIMESTAMP becomes 1970-01-01 00:00:00 UTC,
// which no TIMESTAMP can be (MySQL's range starts a second later); a zero
// DATE or DATETIME has no such value and is refused.
func dateTime(t time.Time, src schema.Type, ct chType) (any, error) {
	if schema.IsZeroDate(t) {
		if src.Kind == schema.Timestamp && (ct.family == "DateTime" || ct.family == "DateTime64") {
			return time.Unix(0, 0).UTC(), nil
		}
		return nil, fmt.Errorf("%w: a zero date (0000-00-00) for a %s column, which has no value for it; store dates as integers (docs/targets.md, ClickHouse)", errBadValue, ct.full)
	}
	t = t.UTC()
	// The range of the type: from lo to before end. Date is UInt16 days,
	// DateTime UInt32 seconds; Date32 and DateTime64 cover 1900 to 2299
	// from 22.8 on (earlier servers get the integer forms).
	lo, end := time.Unix(0, 0).UTC(), time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)
	switch ct.family {
	case "Date":
		end = time.Date(2149, 6, 7, 0, 0, 0, 0, time.UTC)
	case "DateTime":
		end = time.Unix(math.MaxUint32+1, 0).UTC()
	case "Date32", "DateTime64":
		lo = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	if t.Before(lo) || !t.Before(end) {
		return nil, fmt.Errorf("%w: %s is out of the range of a %s column (%s to %s); store dates as integers (docs/targets.md, ClickHouse)",
			errBadValue, t.Format("2006-01-02 15:04:05.999999"), ct.full, lo.Format("2006-01-02"), end.Add(-time.Nanosecond).Format("2006-01-02"))
	}
	exact := t.Nanosecond() == 0
	switch ct.family {
	case "Date", "Date32":
		exact = exact && t.Unix()%secondsPerDay == 0
	case "DateTime64":
		exact = t.Nanosecond()%int(math.Pow10(9-min(max(ct.precision, 0), 9))) == 0
	}
	if !exact {
		return nil, fmt.Errorf("%w: %s is more precise than a %s column", errBadValue, t.Format(time.RFC3339Nano), ct.full)
	}
	return t, nil
}

// zeroValue is what a column gets where a row has no value: NULL when it
// is Nullable, else ClickHouse's default for the type.
func zeroValue(ct chType, scanType reflect.Type) any {
	if ct.nullable {
		return nil
	}
	switch ct.family {
	case "Int8":
		return int8(0)
	case "Int16":
		return int16(0)
	case "Int32":
		return int32(0)
	case "Int64":
		return int64(0)
	case "UInt8":
		return uint8(0)
	case "UInt16":
		return uint16(0)
	case "UInt32":
		return uint32(0)
	case "UInt64":
		return uint64(0)
	case "Float32":
		return float32(0)
	case "Float64":
		return float64(0)
	case "Decimal":
		return "0"
	case "String", "FixedString":
		return ""
	case "Bool":
		return false
	case "Date", "Date32", "DateTime", "DateTime64":
		return time.Unix(0, 0).UTC()
	}
	if scanType != nil {
		return reflect.Zero(scanType).Interface()
	}
	return nil
}

// keyString renders converted or scanned key values so that equal keys
// give equal strings, whichever side they come from.
func keyString(vals []any, types []chType) string {
	var b strings.Builder
	for i, v := range vals {
		s := keyPart(v, types[i])
		b.WriteString(strconv.Itoa(len(s)))
		b.WriteByte(':')
		b.WriteString(s)
	}
	return b.String()
}

func keyPart(v any, ct chType) string {
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return "\x00null"
		}
		v = rv.Elem().Interface()
	}
	switch x := v.(type) {
	case nil:
		return "\x00null"
	case string:
		if ct.family == "Decimal" {
			return ratKey(x)
		}
		return x
	case []byte:
		return string(x)
	case time.Time:
		return strconv.FormatInt(x.Unix(), 10) + "." + strconv.Itoa(x.Nanosecond())
	case float32:
		return strconv.FormatFloat(float64(x), 'g', -1, 32)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case fmt.Stringer: // the driver's decimal.Decimal
		if ct.family == "Decimal" {
			return ratKey(x.String())
		}
		return x.String()
	}
	return fmt.Sprint(v)
}

// ratKey is the canonical form of a decimal text.
func ratKey(s string) string {
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return s
	}
	return r.RatString()
}
