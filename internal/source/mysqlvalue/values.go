package mysqlvalue

import (
	"fmt"
	"github.com/syncline/syncline/schema"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/syncline/syncline/internal/event"
)

// BinlogRow converts one row image of a binlog rows event, as go-mysql's
// replication package decodes it, into the map of the Value record (keys are
// the Avro field names, see FieldNames). The syncer must run with
// ParseTime=true and UseDecimal=false; TIMESTAMP values may come as time.Time
// in any location (and zero timestamps as strings); DATETIME and TIMESTAMP
// strings (zero dates, dates before 1970) are read as written. The image must
// be complete (binlog_row_image=FULL): a missing column would read as NULL.
//
// Unsigned integers are reinterpreted by column width whether go-mysql gives
// them signed (without signedness metadata) or unsigned. []byte values may
// share memory with row.
func BinlogRow(t schema.Table, row []any) (map[string]any, error) {
	vals, err := BinlogValues(t, row)
	if err != nil {
		return nil, err
	}
	return event.ValueMap(t, vals), nil
}

// TextRow converts one row of `SELECT <t.SelectList()> FROM ...` read over
// the text protocol (client.Conn.ExecuteSelectStreaming's per-row callback,
// or Execute without arguments) into the same map BinlogRow gives for the
// same stored row.
//
// The connection must use the utf8mb4 charset (SET NAMES utf8mb4; never
// character_set_results=NULL or binary): text columns then arrive in UTF-8
// and binary columns unchanged. The select list reads most columns by name;
// TIMESTAMP as UNIX_TIMESTAMP(col), so the session time zone does not matter,
// and FLOAT as CAST(col AS DOUBLE), so no digits are lost to FLOAT's
// six-digit text form. The values never share memory with row (the client
// reuses its buffers between rows).
func TextRow(t schema.Table, row []mysql.FieldValue) (map[string]any, error) {
	vals, err := TextValues(t, row)
	if err != nil {
		return nil, err
	}
	return event.ValueMap(t, vals), nil
}

// InvalidDateColumns returns the names of the DATE and DATETIME columns of a
// binlog row image (as BinlogRow takes it) that hold a date with a zero month
// or day, or a day beyond its month, but are not the all-zero date: they are
// carried as the zero-date sentinel, and capture logs a warning for them.
func InvalidDateColumns(t schema.Table, row []any) []string {
	var out []string
	for i, c := range t.Columns {
		if i >= len(row) || (c.Type.Kind != schema.Date && c.Type.Kind != schema.DateTime) {
			continue
		}
		s, ok := row[i].(string)
		if !ok || len(s) < 10 {
			continue
		}
		y, mo, d, err := parseYMD(s[:10])
		if err != nil || (y == 0 && mo == 0 && d == 0) {
			continue
		}
		if !validDate(y, mo, d) {
			out = append(out, c.Name)
		}
	}
	return out
}

// binlogValue converts one non-NULL binlog value of type t.
func binlogValue(t schema.Type, v any) (any, error) {
	switch k := t.Kind; {
	case k.IsInteger():
		bits, goUnsigned, ok := integerBits(v)
		if !ok {
			return nil, unexpected(v)
		}
		return integer(t, bits, goUnsigned), nil
	case k == schema.Decimal:
		switch x := v.(type) {
		case string:
			return parseDecimal(x)
		case []byte:
			return parseDecimal(x)
		case fmt.Stringer:
			return parseDecimal(x.String())
		}
		return nil, unexpected(v)
	case k == schema.Float:
		switch x := v.(type) {
		case float32:
			return x, nil
		case float64:
			return float32(x), nil
		}
		return nil, unexpected(v)
	case k == schema.Double:
		switch x := v.(type) {
		case float64:
			return x, nil
		case float32:
			return float64(x), nil
		}
		return nil, unexpected(v)
	case k == schema.Bit:
		if bits, _, ok := integerBits(v); ok {
			n := (t.Length + 7) / 8
			out := make([]byte, n)
			for i := n - 1; i >= 0; i-- {
				out[i] = byte(bits)
				bits >>= 8
			}
			return out, nil
		}
		if b, ok := bytesOf(v); ok {
			return bitBytes(t, b)
		}
		return nil, unexpected(v)
	case k.IsText():
		switch x := v.(type) {
		case string:
			if t.Charset == "utf8mb4" || t.Charset == "utf8mb3" || t.Charset == "" {
				return x, nil
			}
			return decodeText(t.Charset, []byte(x))
		case []byte:
			return decodeText(t.Charset, x)
		}
		return nil, unexpected(v)
	case k.IsFixedBinaryText():
		b, ok := bytesOf(v)
		if !ok {
			return nil, unexpected(v)
		}
		return t.FixedBinaryText(b)
	case k == schema.Binary:
		b, ok := bytesOf(v)
		if !ok {
			return nil, unexpected(v)
		}
		return padBinary(t, b)
	case k.IsBinary():
		b, ok := bytesOf(v)
		if !ok {
			return nil, unexpected(v)
		}
		return b, nil
	case k == schema.Enum:
		if s, ok := v.(string); ok {
			return s, nil
		}
		idx, _, ok := integerBits(v)
		if !ok {
			return nil, unexpected(v)
		}
		return enumLabel(t, idx)
	case k == schema.Set:
		if s, ok := v.(string); ok {
			return s, nil
		}
		bits, _, ok := integerBits(v)
		if !ok {
			return nil, unexpected(v)
		}
		return setLabels(t, uint64(bits))
	case k == schema.JSON:
		s, ok := stringOf(v)
		if !ok {
			return nil, fmt.Errorf("json value of type %T (partial JSON updates are not supported; set binlog_row_value_options to empty)", v)
		}
		return s, nil
	case k == schema.Date:
		switch x := v.(type) {
		case string:
			return parseDate(x)
		case time.Time:
			return time.Date(x.Year(), x.Month(), x.Day(), 0, 0, 0, 0, time.UTC), nil
		}
		return nil, unexpected(v)
	case k == schema.DateTime:
		switch x := v.(type) {
		case string:
			return parseDateTime(x)
		case time.Time:
			// go-mysql builds DATETIME in UTC: its wall clock is the value.
			return wallMicros(x), nil
		}
		return nil, unexpected(v)
	case k == schema.Timestamp:
		switch x := v.(type) {
		case time.Time:
			return x.UTC().Truncate(time.Microsecond), nil
		case string:
			micros, err := parseDateTime(x)
			if err != nil {
				return nil, err
			}
			return timestampFromMicros(micros), nil
		}
		return nil, unexpected(v)
	case k == schema.Time:
		switch x := v.(type) {
		case string:
			return parseTime(x)
		case time.Duration:
			return x.Microseconds(), nil
		}
		return nil, unexpected(v)
	case k == schema.Year:
		y, _, ok := integerBits(v)
		if !ok {
			return nil, unexpected(v)
		}
		return int32(y), nil
	case k.IsGeometry():
		b, ok := bytesOf(v)
		if !ok {
			return nil, unexpected(v)
		}
		return stripSRID(b)
	}
	return nil, fmt.Errorf("%w: %s", schema.ErrUnsupportedType, t.Kind)
}

// textValue converts one non-NULL text-protocol value of type t, read with
// the select list of SelectList.
func textValue(t schema.Type, f *mysql.FieldValue) (any, error) {
	raw := f.AsString()
	switch k := t.Kind; {
	case k.IsInteger(), k == schema.Year:
		bits, goUnsigned, ok := fieldInteger(f)
		switch {
		case ok:
		case f.Type == mysql.FieldValueTypeString:
			var err error
			if bits, goUnsigned, err = parseInteger(string(raw)); err != nil {
				return nil, err
			}
		default:
			return nil, unexpectedField(f)
		}
		if k == schema.Year {
			return int32(bits), nil
		}
		return integer(t, bits, goUnsigned), nil
	case k == schema.Decimal:
		if f.Type != mysql.FieldValueTypeString {
			return nil, unexpectedField(f)
		}
		return parseDecimal(raw)
	case k == schema.Float, k == schema.Double:
		var x float64
		switch f.Type {
		case mysql.FieldValueTypeFloat:
			x = f.AsFloat64()
		case mysql.FieldValueTypeString:
			var err error
			if x, err = strconv.ParseFloat(string(raw), 64); err != nil {
				return nil, err
			}
		default:
			return nil, unexpectedField(f)
		}
		if k == schema.Float {
			return float32(x), nil
		}
		return x, nil
	}
	if f.Type != mysql.FieldValueTypeString {
		if t.Kind == schema.Timestamp && (f.Type == mysql.FieldValueTypeSigned || f.Type == mysql.FieldValueTypeUnsigned) {
			secs := f.AsInt64()
			if secs == 0 {
				return schema.ZeroTimestamp(), nil
			}
			return time.Unix(secs, 0).UTC(), nil
		}
		return nil, unexpectedField(f)
	}
	switch k := t.Kind; {
	case k == schema.Bit:
		return bitBytes(t, raw)
	case k.IsString():
		return string(raw), nil
	case k == schema.Binary:
		return padBinary(t, raw)
	case k.IsBinary():
		return append([]byte{}, raw...), nil
	case k == schema.Date:
		return parseDate(raw)
	case k == schema.DateTime:
		return parseDateTime(raw)
	case k == schema.Timestamp:
		return parseUnixTimestamp(string(raw))
	case k == schema.Time:
		return parseTime(string(raw))
	case k.IsGeometry():
		b, err := stripSRID(raw)
		if err != nil {
			return nil, err
		}
		return append([]byte{}, b...), nil
	}
	return nil, fmt.Errorf("%w: %s", schema.ErrUnsupportedType, t.Kind)
}

// fieldInteger returns the bits of an integer go-mysql parsed from the text
// protocol and whether it is unsigned; ok is false for a field of another
// type.
func fieldInteger(f *mysql.FieldValue) (bits int64, goUnsigned, ok bool) {
	switch f.Type {
	case mysql.FieldValueTypeSigned:
		return f.AsInt64(), false, true
	case mysql.FieldValueTypeUnsigned:
		return int64(f.AsUint64()), true, true
	}
	return 0, false, false
}

func unexpected(v any) error { return fmt.Errorf("unexpected value %v of type %T", v, v) }

func unexpectedField(f *mysql.FieldValue) error {
	return fmt.Errorf("unexpected text-protocol value %s (field value type %d)", f.String(), f.Type)
}

// integerBits returns the two's-complement bits of an integer of any Go
// integer type, and whether that type is unsigned.
func integerBits(v any) (int64, bool, bool) {
	switch x := v.(type) {
	case int8:
		return int64(x), false, true
	case int16:
		return int64(x), false, true
	case int32:
		return int64(x), false, true
	case int64:
		return x, false, true
	case int:
		return int64(x), false, true
	case uint8:
		return int64(x), true, true
	case uint16:
		return int64(x), true, true
	case uint32:
		return int64(x), true, true
	case uint64:
		return int64(x), true, true
	case uint:
		return int64(x), true, true
	}
	return 0, false, false
}

// parseInteger parses a decimal integer that may be above math.MaxInt64.
func parseInteger(s string) (int64, bool, error) {
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return i, false, nil
	}
	u, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("bad integer %q", s)
	}
	return int64(u), true, nil
}

// intWidth is the storage width in bits of an integer kind.
func intWidth(k schema.Kind) uint {
	switch k {
	case schema.TinyInt:
		return 8
	case schema.SmallInt:
		return 16
	case schema.MediumInt:
		return 24
	case schema.Int:
		return 32
	}
	return 64
}

// integer converts integer bits to the Go value of an integer column (see
// intBits).
func integer(t schema.Type, bits int64, goUnsigned bool) any {
	v := intBits(&t, bits, goUnsigned)
	switch {
	case t.Kind == schema.BigInt && t.Unsigned:
		return new(big.Rat).SetUint64(uint64(v))
	case t.Kind == schema.BigInt, t.Kind == schema.Int && t.Unsigned:
		return v
	}
	return int32(v)
}

// intBits returns the value of an integer column for integer bits, as an
// int64 (BIGINT UNSIGNED's value is its uint64): unsigned columns
// reinterpret the low bits of the column's width, signed ones sign-extend
// them when the Go value was unsigned.
func intBits(t *schema.Type, bits int64, goUnsigned bool) int64 {
	w := intWidth(t.Kind)
	if t.Unsigned {
		u := uint64(bits)
		if w < 64 {
			u &= 1<<w - 1
		}
		return int64(u)
	}
	if goUnsigned && w < 64 {
		return bits << (64 - w) >> (64 - w)
	}
	return bits
}

func stringOf(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case []byte:
		return string(x), true
	}
	return "", false
}

func bytesOf(v any) ([]byte, bool) {
	switch x := v.(type) {
	case []byte:
		return x, true
	case string:
		return []byte(x), true
	}
	return nil, false
}

// bitBytes left-pads the big-endian bytes of a BIT value to ceil(n/8) bytes.
func bitBytes(t schema.Type, b []byte) ([]byte, error) {
	n := (t.Length + 7) / 8
	if len(b) > n {
		return nil, fmt.Errorf("bit value of %d bytes for bit(%d)", len(b), t.Length)
	}
	out := make([]byte, n)
	copy(out[n-len(b):], b)
	return out, nil
}

// padBinary re-pads a BINARY value with 0x00 to its length (the binlog strips
// trailing zeros); it always returns a new slice.
func padBinary(t schema.Type, b []byte) ([]byte, error) {
	if len(b) > t.Length {
		return nil, fmt.Errorf("binary value of %d bytes for binary(%d)", len(b), t.Length)
	}
	out := make([]byte, t.Length)
	copy(out, b)
	return out, nil
}

// enumLabel returns the label of a 1-based ENUM index; 0 is MySQL's invalid
// value, the empty string.
func enumLabel(t schema.Type, idx int64) (string, error) {
	if idx == 0 {
		return "", nil
	}
	if idx < 0 || idx > int64(len(t.Elems)) {
		return "", fmt.Errorf("enum index %d out of range 1..%d", idx, len(t.Elems))
	}
	return t.Elems[idx-1], nil
}

// setLabels returns the labels of a SET bitmask joined by ",", in definition
// order.
func setLabels(t schema.Type, bits uint64) (string, error) {
	if len(t.Elems) < 64 && bits>>uint(len(t.Elems)) != 0 {
		return "", fmt.Errorf("set value %#x has bits beyond its %d labels", bits, len(t.Elems))
	}
	var b strings.Builder
	for i, l := range t.Elems {
		if bits&(1<<uint(i)) == 0 {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(l)
	}
	return b.String(), nil
}

// stripSRID removes the 4-byte SRID that MySQL puts before the WKB.
func stripSRID(b []byte) ([]byte, error) {
	if len(b) < 4 {
		return nil, fmt.Errorf("geometry value of %d bytes, shorter than its SRID", len(b))
	}
	return b[4:], nil
}

// parseYMD parses "YYYY-MM-DD".
func parseYMD[T text](s T) (y, m, d int, err error) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return 0, 0, 0, fmt.Errorf("bad date %q", s)
	}
	y, ok1 := atoiDigits(s[0:4])
	m, ok2 := atoiDigits(s[5:7])
	d, ok3 := atoiDigits(s[8:10])
	if !ok1 || !ok2 || !ok3 {
		return 0, 0, 0, fmt.Errorf("bad date %q", s)
	}
	return y, m, d, nil
}

// atoiDigits parses a non-empty run of decimal digits.
func atoiDigits[T text](s T) (int, bool) {
	if len(s) == 0 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}

// daysInMonth is the length of each month of a common year.
var daysInMonth = [13]int{1: 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}

// validDate reports whether y-m-d is a real date of the proleptic Gregorian
// calendar (the one of package time).
func validDate(y, m, d int) bool {
	if m < 1 || m > 12 || d < 1 {
		return false
	}
	if m == 2 && y%4 == 0 && (y%100 != 0 || y%400 == 0) {
		return d <= 29
	}
	return d <= daysInMonth[m]
}

// epochDays returns the day number of the valid date y-m-d: the days since
// 1970-01-01 in the proleptic Gregorian calendar, as time.Date counts them.
// It is days_from_civil of Howard Hinnant's date algorithms: years start in
// March, so that the leap day is the last day of its year.
func epochDays(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 {
		era = (y - 399) / 400
	}
	yoe := y - era*400                             // [0, 399]
	doy := (153*((m+9)%12)+2)/5 + d - 1            // [0, 365], from March 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy         // [0, 146096]
	return int64(era)*146097 + int64(doe) - 719468 // 1970-01-01 is day 719468 from 0000-03-01
}

// parseDate parses a DATE; zero dates and dates with a zero (or invalid)
// month or day give ZeroDate().
func parseDate[T text](s T) (time.Time, error) {
	days, err := parseDateDays(s)
	if err != nil {
		return time.Time{}, err
	}
	return time.Unix(int64(days)*secondsPerDay, 0).UTC(), nil
}

// parseDateDays parses a DATE into its Avro int.date, the day number of
// parseDate's time.Time: math.MinInt32 (ZeroDate) for zero dates and dates
// with a zero (or invalid) month or day.
func parseDateDays[T text](s T) (int32, error) {
	y, m, d, err := parseYMD(s)
	if err != nil {
		return 0, err
	}
	if !validDate(y, m, d) {
		return math.MinInt32, nil
	}
	return int32(epochDays(y, m, d)), nil
}

// parseDateTime parses "YYYY-MM-DD HH:MM:SS[.ffffff]" into microseconds of
// the wall clock read as UTC; zero dates and dates with a zero (or invalid)
// month or day give ZeroDateTime.
func parseDateTime[T text](s T) (int64, error) {
	if len(s) < 19 || s[10] != ' ' || s[13] != ':' || s[16] != ':' {
		return 0, fmt.Errorf("bad datetime %q", s)
	}
	y, mo, d, err := parseYMD(s[:10])
	if err != nil {
		return 0, fmt.Errorf("bad datetime %q", s)
	}
	hh, ok1 := atoiDigits(s[11:13])
	mi, ok2 := atoiDigits(s[14:16])
	ss, ok3 := atoiDigits(s[17:19])
	frac, ok4 := parseFraction(s[19:])
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return 0, fmt.Errorf("bad datetime %q", s)
	}
	if !validDate(y, mo, d) {
		return schema.ZeroDateTime, nil
	}
	secs := epochDays(y, mo, d)*secondsPerDay + int64(hh*3600+mi*60+ss)
	return secs*1_000_000 + frac, nil
}

// parseFraction parses "" or ".f" .. ".ffffff" into microseconds.
func parseFraction[T text](s T) (int64, bool) {
	if len(s) == 0 {
		return 0, true
	}
	if s[0] != '.' {
		return 0, false
	}
	return parseMicros(s[1:])
}

// parseMicros parses the 1 to 6 digits of a fraction of a second into
// microseconds.
func parseMicros[T text](digits T) (int64, bool) {
	if len(digits) > 6 {
		return 0, false
	}
	n, ok := atoiDigits(digits)
	if !ok {
		return 0, false
	}
	for i := len(digits); i < 6; i++ {
		n *= 10
	}
	return int64(n), true
}

// wallMicros returns the microseconds of t's wall clock read as UTC.
func wallMicros(t time.Time) int64 {
	_, offset := t.Zone()
	return t.UnixMicro() + int64(offset)*1_000_000
}

// timestampFromMicros turns the micros of a TIMESTAMP string (read in UTC)
// into its value.
func timestampFromMicros(micros int64) time.Time {
	if micros == schema.ZeroDateTime {
		return schema.ZeroTimestamp()
	}
	return time.UnixMicro(micros).UTC()
}

// parseUnixTimestamp parses UNIX_TIMESTAMP(col): seconds with up to six
// fractional digits; 0 is the zero timestamp.
func parseUnixTimestamp(s string) (time.Time, error) {
	sec, frac, _ := strings.Cut(s, ".")
	secs, err := strconv.ParseInt(sec, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("bad unix timestamp %q", s)
	}
	var micros int64
	if frac != "" {
		var ok bool
		if micros, ok = parseMicros(frac); !ok {
			return time.Time{}, fmt.Errorf("bad unix timestamp %q", s)
		}
	}
	if secs == 0 && micros == 0 {
		return schema.ZeroTimestamp(), nil
	}
	return time.UnixMicro(secs*1_000_000 + micros).UTC(), nil
}

// parseTime parses a TIME "[-]H..H:MM:SS[.ffffff]" into signed microseconds.
func parseTime(s string) (int64, error) {
	neg := strings.HasPrefix(s, "-")
	body := strings.TrimPrefix(s, "-")
	hms, frac, _ := strings.Cut(body, ".")
	parts := strings.Split(hms, ":")
	if len(parts) != 3 || len(parts[1]) != 2 || len(parts[2]) != 2 {
		return 0, fmt.Errorf("bad time %q", s)
	}
	h, ok1 := atoiDigits(parts[0])
	m, ok2 := atoiDigits(parts[1])
	sec, ok3 := atoiDigits(parts[2])
	f, ok4 := int64(0), true
	if frac != "" {
		f, ok4 = parseMicros(frac)
	}
	if !ok1 || !ok2 || !ok3 || !ok4 || m > 59 || sec > 59 {
		return 0, fmt.Errorf("bad time %q", s)
	}
	micros := (int64(h)*3600+int64(m)*60+int64(sec))*1_000_000 + f
	if neg {
		micros = -micros
	}
	return micros, nil
}

const secondsPerDay = 24 * 60 * 60
