package clickhouse

import (
	"fmt"
	"math"
	"math/big"
	"math/bits"
	"net"
	"net/netip"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/shopspring/decimal"

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
	// uuid: the UUID type (present in every 18.x release, 18.16 included).
	uuid bool
	// ip: the IPv4 and IPv6 types (19.3).
	ip bool
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
		uuid:         atLeast(18, 1),
		ip:           atLeast(19, 3),
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
	case k == schema.UUID && srv.uuid:
		return "UUID"
	case k == schema.Inet4 && srv.ip:
		return "IPv4"
	case k == schema.Inet6 && srv.ip:
		return "IPv6"
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
	for _, s := range []server{*srv, {}, {nativeTimes: true, wideDecimal: true, uuid: true, ip: true}} {
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

// lowCardinality reports whether the column is LowCardinality.
func (ct chType) lowCardinality() bool { return strings.Contains(ct.full, "LowCardinality(") }

const secondsPerDay = 24 * 60 * 60

// convert turns a change value (apply.Change's Go types) of a source
// column of type src into the value the driver appends to a column of
// type ct: the conversion of a batch's column values (newValues), for one
// value.
// It never lets a value change on the way: one that ct cannot hold exactly
// is an error wrapping errBadValue.
func convert(v any, src schema.Type, ct chType) (any, error) {
	c := newValues(src, ct, nil, 1)
	if err := c.add(v); err != nil {
		return nil, err
	}
	return c.value(0), nil
}

// newValues returns the values of a batch's column: they convert values of
// a source column of type src for a target column of type ct, with room
// for capacity rows; the conversion is chosen here, once per column. scanType
// is the driver's type for ct, whose zero value is the default of types
// the sink does not map itself (nil: their default is nil).
func newValues(src schema.Type, ct chType, scanType reflect.Type, capacity int) colValues {
	switch ct.family {
	case "Int8":
		return newTyped(ct, signedConv[int8](ct, math.MinInt8, math.MaxInt8), 0, capacity)
	case "Int16":
		return newTyped(ct, signedConv[int16](ct, math.MinInt16, math.MaxInt16), 0, capacity)
	case "Int32":
		return newTyped(ct, signedConv[int32](ct, math.MinInt32, math.MaxInt32), 0, capacity)
	case "Int64":
		return newTyped(ct, signedConv[int64](ct, math.MinInt64, math.MaxInt64), 0, capacity)
	case "UInt8":
		return newTyped(ct, unsignedConv[uint8](ct, math.MaxUint8), 0, capacity)
	case "UInt16":
		return newTyped(ct, unsignedConv[uint16](ct, math.MaxUint16), 0, capacity)
	case "UInt32":
		return newTyped(ct, unsignedConv[uint32](ct, math.MaxUint32), 0, capacity)
	case "UInt64":
		return newTyped(ct, unsignedConv[uint64](ct, math.MaxUint64), 0, capacity)
	case "Float32":
		return newTyped(ct, float32Conv(ct), 0, capacity)
	case "Float64":
		return newTyped(ct, float64Conv(ct), 0, capacity)
	case "Decimal":
		return newTyped(ct, decimalConv(ct), decimal.Decimal{}, capacity)
	case "String":
		if holdsBytes(src) {
			// Appended value by value, so that bytes are not copied.
			return newAny(ct, func(v any) (any, error) { return text(v, src) }, zeroValue(ct, scanType), capacity)
		}
		return newTyped(ct, stringConv(src), "", capacity)
	case "FixedString":
		return newAny(ct, fixedStringConv(src, ct), zeroValue(ct, scanType), capacity)
	case "Date", "Date32", "DateTime", "DateTime64":
		return newTyped(ct, timeConv(src, ct), time.Unix(0, 0).UTC(), capacity)
	case "Bool":
		return newAny(ct, boolConv(ct), zeroValue(ct, scanType), capacity)
	case "UUID":
		return newAny(ct, uuidConv(ct), zeroValue(ct, scanType), capacity)
	case "IPv4", "IPv6":
		return newAny(ct, ipConv(ct), zeroValue(ct, scanType), capacity)
	}
	// Other types (a user's table): the driver converts or refuses.
	return newAny(ct, func(v any) (any, error) { return v, nil }, zeroValue(ct, scanType), capacity)
}

// holdsBytes reports whether the values of a source column are []byte.
func holdsBytes(src schema.Type) bool {
	return src.Kind.IsBinary() || src.Kind.IsGeometry() || src.Kind == schema.Bit
}

// signedConv converts integers, exact decimals, BIT bytes and, into Int32
// and Int64, times (timeAsInteger) to a signed integer column of the range
// lo to hi, refusing values out of it.
func signedConv[T int8 | int16 | int32 | int64](ct chType, lo, hi int64) func(any) (T, error) {
	return func(v any) (T, error) {
		switch x := v.(type) {
		case int32:
			if n := int64(x); n >= lo && n <= hi {
				return T(n), nil
			}
		case int64:
			if x >= lo && x <= hi {
				return T(x), nil
			}
		case time.Time:
			n, err := timeAsInteger(x, ct)
			return T(n), err
		}
		n, u, large, err := integerOf(v, ct)
		switch {
		case err != nil:
			return 0, err
		case large:
			return 0, errRange(strconv.FormatUint(u, 10), ct)
		case n < lo || n > hi:
			return 0, errRange(strconv.FormatInt(n, 10), ct)
		}
		return T(n), nil
	}
}

// unsignedConv converts integers, exact decimals and BIT bytes to an
// unsigned integer column of the range 0 to hi, refusing values out of
// it.
func unsignedConv[T uint8 | uint16 | uint32 | uint64](ct chType, hi uint64) func(any) (T, error) {
	return func(v any) (T, error) {
		switch x := v.(type) {
		case int32:
			if x >= 0 && uint64(x) <= hi {
				return T(x), nil
			}
		case int64:
			if x >= 0 && uint64(x) <= hi {
				return T(x), nil
			}
		case time.Time:
			_, err := timeAsInteger(x, ct)
			return 0, err
		}
		n, u, large, err := integerOf(v, ct)
		switch {
		case err != nil:
			return 0, err
		case large && u > hi:
			return 0, errRange(strconv.FormatUint(u, 10), ct)
		case large:
			return T(u), nil
		case n < 0 || uint64(n) > hi:
			return 0, errRange(strconv.FormatInt(n, 10), ct)
		}
		return T(n), nil
	}
}

// integerOf returns the integer of a change value (int32, int64, an
// integral *big.Rat, BIT bytes): as n when it fits an int64, else as u,
// with large set, when it fits a uint64. A value beyond both is out of the
// range of every integer column: an error for ct.
func integerOf(v any, ct chType) (n int64, u uint64, large bool, err error) {
	switch x := v.(type) {
	case int32:
		return int64(x), 0, false, nil
	case int64:
		return x, 0, false, nil
	case *big.Rat:
		if !x.IsInt() {
			return 0, 0, false, fmt.Errorf("%w: %s is not an integer, for a %s column", errBadValue, x.RatString(), ct.full)
		}
		switch num := x.Num(); {
		case num.IsInt64():
			return num.Int64(), 0, false, nil
		case num.IsUint64():
			return 0, num.Uint64(), true, nil
		default:
			return 0, 0, false, errRange(num.String(), ct)
		}
	case []byte: // BIT, big-endian
		if len(x) > 8 {
			return 0, 0, false, fmt.Errorf("%w: bit value of %d bytes for a %s column", errBadValue, len(x), ct.full)
		}
		for _, b := range x {
			u = u<<8 | uint64(b)
		}
		if u > math.MaxInt64 {
			return 0, u, true, nil
		}
		return int64(u), 0, false, nil
	}
	return 0, 0, false, fmt.Errorf("%w: %T for a %s column", errBadValue, v, ct.full)
}

// errRange is the error for an integer (in decimal digits) out of the
// range of an integer column.
func errRange(digits string, ct chType) error {
	return fmt.Errorf("%w: %s is out of the range of a %s column", errBadValue, digits, ct.full)
}

// boolConv converts bools, and the integers 0 and 1, to a Bool column.
func boolConv(ct chType) func(any) (any, error) {
	return func(v any) (any, error) {
		if b, ok := v.(bool); ok {
			return b, nil
		}
		n, u, large, err := integerOf(v, ct)
		if err != nil {
			return nil, err
		}
		switch {
		case large:
			return nil, errRange(strconv.FormatUint(u, 10), ct)
		case n == 0 || n == 1:
			return n == 1, nil
		}
		return nil, fmt.Errorf("%w: %v for a %s column", errBadValue, v, ct.full)
	}
}

// timeAsInteger is the integer form of dates and times on servers without
// Date32 and DateTime64: days since 1970-01-01 in Int32 (DATE), signed
// microseconds since 1970-01-01 00:00:00 UTC in Int64 (DATETIME as its wall
// clock read as UTC, TIMESTAMP). The zero-date sentinels become the
// integers docs/events.md gives them: math.MinInt32 days, math.MinInt64
// microseconds.
func timeAsInteger(t time.Time, ct chType) (int64, error) {
	zero := schema.IsZeroDate(t)
	switch ct.family {
	case "Int32":
		if zero {
			return math.MinInt32, nil
		}
		secs := t.Unix()
		if secs%secondsPerDay != 0 || t.Nanosecond() != 0 {
			return 0, fmt.Errorf("%w: %s is not a date, for a %s column", errBadValue, t.Format(time.RFC3339Nano), ct.full)
		}
		days := secs / secondsPerDay
		if days < math.MinInt32 || days > math.MaxInt32 {
			return 0, fmt.Errorf("%w: %s is out of the range of a %s column", errBadValue, t.Format(time.RFC3339), ct.full)
		}
		return days, nil
	case "Int64":
		if zero {
			return math.MinInt64, nil
		}
		if t.Nanosecond()%1000 != 0 {
			return 0, fmt.Errorf("%w: %s has digits beyond microseconds, for a %s column", errBadValue, t.Format(time.RFC3339Nano), ct.full)
		}
		return t.UnixMicro(), nil
	}
	return 0, fmt.Errorf("%w: a time for a %s column", errBadValue, ct.full)
}

// float64Conv converts floats, and integers a float64 holds exactly.
func float64Conv(ct chType) func(any) (float64, error) {
	return func(v any) (float64, error) { return floatOf(v, ct) }
}

// float32Conv converts float32 values, and floats and integers a float32
// holds exactly.
func float32Conv(ct chType) func(any) (float32, error) {
	return func(v any) (float32, error) {
		if x, ok := v.(float32); ok {
			return x, nil
		}
		f, err := floatOf(v, ct)
		if err != nil {
			return 0, err
		}
		if f32 := float32(f); float64(f32) == f || math.IsNaN(f) {
			return f32, nil
		}
		return 0, fmt.Errorf("%w: %v is not exact in a %s column", errBadValue, f, ct.full)
	}
}

// floatOf returns the float64 of a float or of an integer it holds
// exactly.
func floatOf(v any, ct chType) (float64, error) {
	switch x := v.(type) {
	case float64:
		return x, nil
	case float32:
		return float64(x), nil
	case int32:
		return float64(x), nil
	case int64:
		f := float64(x)
		if int64(f) != x || x == math.MaxInt64 {
			return 0, fmt.Errorf("%w: %d is not exact in a %s column", errBadValue, x, ct.full)
		}
		return f, nil
	}
	return 0, fmt.Errorf("%w: %T for a %s column", errBadValue, v, ct.full)
}

// bigPow10s are 10^0 to 10^76, the powers of ten of Decimal scales and
// precisions; read only.
var bigPow10s = func() (p [77]*big.Int) {
	ten := big.NewInt(10)
	p[0] = big.NewInt(1)
	for i := 1; i < len(p); i++ {
		p[i] = new(big.Int).Mul(p[i-1], ten)
	}
	return p
}()

// pow10 returns 10^n, which the caller must not modify.
func pow10(n int) *big.Int {
	if n >= 0 && n < len(bigPow10s) {
		return bigPow10s[n]
	}
	return new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n)), nil)
}

// decimalConv converts exact values (*big.Rat, int32, int64) to a Decimal
// column: the value times 10^scale, which must be an integer of at most
// precision digits, as the decimal.Decimal of that integer and exponent
// -scale, which the driver appends without parsing text. A value with more
// fractional digits than the scale or more digits than the precision is
// refused.
func decimalConv(ct chType) func(any) (decimal.Decimal, error) {
	exp := -int32(ct.scale)
	return func(v any) (decimal.Decimal, error) {
		var r *big.Rat
		switch x := v.(type) {
		case *big.Rat:
			if n, ok := scaledRat(x, ct); ok {
				return decimal.New(n, exp), nil
			}
			r = x
		case int32:
			if n, ok := scaled(int64(x), 1, ct); ok {
				return decimal.New(n, exp), nil
			}
			r = new(big.Rat).SetInt64(int64(x))
		case int64:
			if n, ok := scaled(x, 1, ct); ok {
				return decimal.New(n, exp), nil
			}
			r = new(big.Rat).SetInt64(x)
		default:
			return decimal.Decimal{}, fmt.Errorf("%w: %T for a %s column", errBadValue, v, ct.full)
		}
		return exactDecimal(r, ct)
	}
}

// scaledRat is scaled for a *big.Rat whose numerator fits an int64 and
// denominator a uint64.
func scaledRat(r *big.Rat, ct chType) (int64, bool) {
	num := r.Num()
	if !num.IsInt64() {
		return 0, false
	}
	if r.IsInt() { // Denom would allocate the 1 of an integer
		return scaled(num.Int64(), 1, ct)
	}
	den := r.Denom()
	if !den.IsUint64() {
		return 0, false
	}
	return scaled(num.Int64(), den.Uint64(), ct)
}

// scaled returns num/den times 10^scale of ct in int64 arithmetic, when it
// is an integer (den divides 10^scale) that an int64 holds and that has at
// most ct's precision digits. Otherwise ok is false: the value needs
// exactDecimal, which also words the errors.
func scaled(num int64, den uint64, ct chType) (n int64, ok bool) {
	factor := schema.Pow10(ct.scale)
	if factor == 0 || den == 0 || factor%den != 0 {
		return 0, false
	}
	mag := uint64(num)
	if num < 0 {
		mag = -mag
	}
	hi, lo := bits.Mul64(mag, factor/den)
	if hi != 0 || lo > math.MaxInt64 {
		return 0, false
	}
	if limit := schema.Pow10(ct.precision); limit != 0 && lo >= limit {
		return 0, false
	}
	if num < 0 {
		return -int64(lo), true
	}
	return int64(lo), true
}

// exactDecimal is decimalConv's conversion in math/big, for any exact
// value: r is numerator/denominator in lowest terms, so r times 10^scale is
// an integer exactly when the denominator divides 10^scale.
func exactDecimal(r *big.Rat, ct chType) (decimal.Decimal, error) {
	q, m := new(big.Int).QuoRem(pow10(ct.scale), r.Denom(), new(big.Int))
	if m.Sign() != 0 {
		return decimal.Decimal{}, fmt.Errorf("%w: %s has more than %d fractional digits, for a %s column", errBadValue, r.FloatString(ratScale(r)), ct.scale, ct.full)
	}
	q.Mul(q, r.Num())
	if new(big.Int).Abs(q).Cmp(pow10(ct.precision)) >= 0 {
		return decimal.Decimal{}, fmt.Errorf("%w: %s has more than %d digits, for a %s column", errBadValue, r.FloatString(ct.scale), ct.precision, ct.full)
	}
	return decimal.NewFromBigInt(q, -int32(ct.scale)), nil
}

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

// stringConv converts values to the text of a String column (text).
func stringConv(src schema.Type) func(any) (string, error) {
	return func(v any) (string, error) {
		if s, ok := v.(string); ok {
			return s, nil
		}
		x, err := text(v, src)
		if err != nil {
			return "", err
		}
		if b, ok := x.([]byte); ok {
			return string(b), nil
		}
		return x.(string), nil
	}
}

// fixedStringConv converts values to the text of a FixedString column,
// refusing one longer than the column.
func fixedStringConv(src schema.Type, ct chType) func(any) (any, error) {
	return func(v any) (any, error) {
		s, err := text(v, src)
		if err != nil {
			return nil, err
		}
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
		return s, nil
	}
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

// uuidConv passes the text of a UUID (the source's canonical form, which
// the driver parses) to a UUID column.
func uuidConv(ct chType) func(any) (any, error) {
	return func(v any) (any, error) {
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("%w: unexpected %T for a %s column", errBadValue, v, ct.full)
		}
		return s, nil
	}
}

// ipConv parses the text of an INET4 or INET6 value for an IPv4 or IPv6
// column; an IPv6 address for an IPv4 column is refused.
func ipConv(ct chType) func(any) (any, error) {
	return func(v any) (any, error) {
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("%w: unexpected %T for a %s column", errBadValue, v, ct.full)
		}
		a, err := netip.ParseAddr(s)
		if err != nil || (ct.family == "IPv4" && !a.Is4()) {
			return nil, fmt.Errorf("%w: %q for a %s column", errBadValue, s, ct.full)
		}
		if ct.family == "IPv6" && a.Is4() {
			a = netip.AddrFrom16(a.As16())
		}
		return a, nil
	}
}

// timeConv checks times against the range and precision of a ClickHouse
// date or time column, whose bounds it computes once. A zero TIMESTAMP
// becomes 1970-01-01 00:00:00 UTC, which no TIMESTAMP can be (MySQL's
// range starts a second later); a zero DATE or DATETIME has no such value
// and is refused.
func timeConv(src schema.Type, ct chType) func(any) (time.Time, error) {
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
	// The nanoseconds of the column's unit.
	unit := int(time.Second)
	if ct.family == "DateTime64" {
		unit = int(math.Pow10(9 - min(max(ct.precision, 0), 9)))
	}
	return func(v any) (time.Time, error) {
		t, ok := v.(time.Time)
		if !ok {
			return time.Time{}, fmt.Errorf("%w: %T for a %s column", errBadValue, v, ct.full)
		}
		if schema.IsZeroDate(t) {
			if src.Kind == schema.Timestamp && (ct.family == "DateTime" || ct.family == "DateTime64") {
				return time.Unix(0, 0).UTC(), nil
			}
			return time.Time{}, fmt.Errorf("%w: a zero date (0000-00-00) for a %s column, which has no value for it; store dates as integers (docs/targets.md, ClickHouse)", errBadValue, ct.full)
		}
		t = t.UTC()
		if t.Before(lo) || !t.Before(end) {
			return time.Time{}, fmt.Errorf("%w: %s is out of the range of a %s column (%s to %s); store dates as integers (docs/targets.md, ClickHouse)",
				errBadValue, t.Format("2006-01-02 15:04:05.999999"), ct.full, lo.Format("2006-01-02"), end.Add(-time.Nanosecond).Format("2006-01-02"))
		}
		exact := t.Nanosecond()%unit == 0
		if ct.family == "Date" || ct.family == "Date32" {
			exact = exact && t.Unix()%secondsPerDay == 0
		}
		if !exact {
			return time.Time{}, fmt.Errorf("%w: %s is more precise than a %s column", errBadValue, t.Format(time.RFC3339Nano), ct.full)
		}
		return t, nil
	}
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
		return decimal.Decimal{}
	case "String", "FixedString":
		return ""
	case "Bool":
		return false
	case "Date", "Date32", "DateTime", "DateTime64":
		return time.Unix(0, 0).UTC()
	case "UUID":
		return "00000000-0000-0000-0000-000000000000"
	case "IPv4":
		return netip.IPv4Unspecified()
	case "IPv6":
		return netip.IPv6Unspecified()
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
	case netip.Addr: // IPv4 and IPv6 columns: the same bytes, however printed
		b := x.As16()
		return string(b[:])
	case net.IP:
		return string(x.To16())
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
