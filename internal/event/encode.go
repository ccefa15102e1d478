package event

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"github.com/syncline/syncline/schema"
	"math"
	"math/big"
	"math/bits"
	"time"
)

// Source is the io.syncline.Source record of an event (docs/events.md).
type Source struct {
	// Version is the ordering version.
	Version int64
	// Name is the topic prefix.
	Name string
	// DB and Table are the true database and table names.
	DB, Table string
	// ServerID is the server_id of the server that wrote the change.
	ServerID int64
	// GTID is the source transaction's GTID; "" encodes null.
	GTID string
	// File and Pos are the binlog file and the rows event's start position.
	File string
	Pos  int64
	// Row is the index of the row inside its rows event.
	Row int32
	// TSMillis is the source commit time in milliseconds.
	TSMillis int64
	// Snapshot is "false" for binlog changes, "true" for snapshot reads.
	Snapshot string
}

// AppendSource appends the Avro encoding of the io.syncline.Source record s
// (SourceSchema) to dst.
func AppendSource(dst []byte, s Source) []byte {
	dst = appendLong(dst, s.Version)
	dst = appendString(dst, s.Name)
	dst = appendString(dst, s.DB)
	dst = appendString(dst, s.Table)
	dst = appendLong(dst, s.ServerID)
	if s.GTID == "" {
		dst = append(dst, 0)
	} else {
		dst = append(dst, 2)
		dst = appendString(dst, s.GTID)
	}
	dst = appendString(dst, s.File)
	dst = appendLong(dst, s.Pos)
	dst = appendLong(dst, int64(s.Row))
	dst = appendLong(dst, s.TSMillis)
	return appendString(dst, s.Snapshot)
}

// op is how a column's value is encoded.
type op uint8

const (
	opInt       op = iota + 1 // int32
	opLong                    // int64
	opDecimal                 // *big.Rat as bytes.decimal
	opFloat                   // float32
	opDouble                  // float64
	opString                  // string
	opBytes                   // []byte
	opDate                    // time.Time as int.date
	opTimestamp               // time.Time as long.timestamp-micros
	opLocalTime               // int64 as long.local-timestamp-micros
)

// goType names the Go type each op takes, for errors.
var goType = [...]string{
	opInt: "int32", opLong: "int64", opDecimal: "*big.Rat", opFloat: "float32", opDouble: "float64",
	opString: "string", opBytes: "[]byte", opDate: "time.Time", opTimestamp: "time.Time", opLocalTime: "int64",
}

// colEnc is the compiled encoder of one column.
type colEnc struct {
	op       op
	nullable bool
	scale    int      // decimal scale
	prec     int      // decimal precision
	pow      *big.Int // 10^scale, for decimals that do not fit 64 bits
	limit    *big.Int // 10^prec: the unscaled value must be below it
	name     string   // the true column name, for errors
}

// Encoder encodes the Key, Value and Envelope records of one table shape
// (docs/events.md) from row values in column order, as
// mysqlvalue.BinlogValues and mysqlvalue.TextValues give them (or, column by
// column, through mysqlvalue.TextEncoder), appending to the caller's buffer:
// no maps, no reflection, no allocation. It is compiled once per shape by
// NewEncoder, is immutable, and safe for concurrent use.
//
// Each value must have the Go type of its column's Avro type listed at the
// top of schema/represent.go, nil for NULL; a nullable DATETIME value is the bare
// int64 (the union map {"long.local-timestamp-micros": v} of ValueMap is
// accepted too). Any other value is an error naming the table and column.
//
// The output is byte for byte what hamba/avro writes for the schemas of
// KeySchema, ValueSchema and EnvelopeSchema given the maps of ValueMap,
// KeyOf and UnionRecord (encode_test.go checks this against hamba for every
// type), so both encoders can be mixed on one topic. That includes hamba's
// peculiarities:
//
//   - decimal bytes are the two's-complement big-endian unscaled value in
//     BitLen(|unscaled|)/8+1 bytes: minimal, except that a negative power of
//     two at a byte boundary (-128, -32768, ...) gets one more 0xff byte
//     (-128 is ff 80, not 80); zero is the single byte 00;
//   - a decimal with more fractional digits than its scale is rounded
//     towards negative infinity (big.Int.Div), and one with more than
//     precision digits is an error;
//   - a date is int32(t.Unix() / 86400), truncated towards zero;
//   - timestamp-micros is t.Unix()*1e6 + t.Nanosecond()/1e3, with int64
//     wrap-around (which is how ZeroTimestamp encodes as math.MinInt64).
type Encoder struct {
	table string // qualified table name, for errors
	cols  []colEnc
	key   []int // column indexes of the key columns, in key order
}

// NewEncoder compiles the Encoder of table t. It fails where KeySchema or
// ValueSchema would: an unsupported or invalid column type, no key, or a
// key column that is not a column.
func NewEncoder(t schema.Table) (*Encoder, error) {
	if len(t.Key) == 0 {
		return nil, fmt.Errorf("encoder of %s: %w", t.QualifiedName(), schema.ErrNoKey)
	}
	e := &Encoder{table: t.QualifiedName(), cols: make([]colEnc, len(t.Columns)), key: make([]int, len(t.Key))}
	for i, c := range t.Columns {
		if _, err := AvroType(c.Type); err != nil {
			return nil, t.ColumnError(c.Name, err)
		}
		ce := colEnc{nullable: c.Nullable, name: c.Name}
		switch k := c.Type.Kind; {
		case k == schema.TinyInt, k == schema.SmallInt, k == schema.MediumInt, k == schema.Year:
			ce.op = opInt
		case k == schema.Int:
			ce.op = opInt
			if c.Type.Unsigned {
				ce.op = opLong
			}
		case k == schema.BigInt:
			ce.op = opLong
			if c.Type.Unsigned {
				ce.op, ce.prec, ce.scale = opDecimal, 20, 0
			}
		case k == schema.Decimal:
			ce.op, ce.prec, ce.scale = opDecimal, c.Type.Precision, c.Type.Scale
		case k == schema.Float:
			ce.op = opFloat
		case k == schema.Double:
			ce.op = opDouble
		case k.IsString():
			ce.op = opString
		case k == schema.Bit, k.IsBinary(), k.IsGeometry():
			ce.op = opBytes
		case k == schema.Date:
			ce.op = opDate
		case k == schema.DateTime:
			ce.op = opLocalTime
		case k == schema.Timestamp:
			ce.op = opTimestamp
		case k == schema.Time:
			ce.op = opLong
		default:
			return nil, t.ColumnError(c.Name, fmt.Errorf("%w: %s", schema.ErrUnsupportedType, k))
		}
		if ce.op == opDecimal {
			ce.pow = pow10Big(ce.scale)
			ce.limit = pow10Big(ce.prec)
		}
		e.cols[i] = ce
	}
	for i, k := range t.Key {
		_, idx, ok := t.Column(k)
		if !ok {
			return nil, fmt.Errorf("encoder of %s: key column %s is not a column", t.QualifiedName(), k)
		}
		e.key[i] = idx
	}
	return e, nil
}

func pow10Big(n int) *big.Int {
	return new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n)), nil)
}

// AppendKey appends the encoding of the Key record of row (all the table's
// values in column order; the key columns are picked from it) to dst. On
// error, dst is returned unchanged.
func (e *Encoder) AppendKey(dst []byte, row []any) ([]byte, error) {
	if len(row) != len(e.cols) {
		return dst, e.lengthErr(len(row))
	}
	out := dst
	var err error
	for _, i := range e.key {
		if out, err = e.appendCol(out, &e.cols[i], row[i]); err != nil {
			return dst, err
		}
	}
	return out, nil
}

// AppendValue appends the encoding of the Value record of row (values in
// column order) to dst. On error, dst is returned unchanged.
func (e *Encoder) AppendValue(dst []byte, row []any) ([]byte, error) {
	if len(row) != len(e.cols) {
		return dst, e.lengthErr(len(row))
	}
	out := dst
	var err error
	for i := range e.cols {
		if out, err = e.appendCol(out, &e.cols[i], row[i]); err != nil {
			return dst, err
		}
	}
	return out, nil
}

// AppendEnvelope appends the encoding of the Envelope record of one change
// to dst: before and after are the row images (nil for none, encoded as
// null), src the source block, op the operation ("c", "u", "d", "r") and
// tsMillis the event's ts_ms. On error, dst is returned unchanged.
func (e *Encoder) AppendEnvelope(dst []byte, before, after []any, src Source, op string, tsMillis int64) ([]byte, error) {
	out, err := e.appendUnionRow(dst, before)
	if err != nil {
		return dst, err
	}
	if out, err = e.appendUnionRow(out, after); err != nil {
		return dst, err
	}
	return appendEnvelopeTail(out, src, op, tsMillis), nil
}

// AppendEncodedEnvelope appends the encoding of the Envelope record of one
// change whose row images are already encoded: before and after are Value
// records as AppendValue or mysqlvalue.TextEncoder.AppendValue encode them, nil for none
// (encoded as null). src, op and tsMillis are those of AppendEnvelope, and
// the bytes are those AppendEnvelope appends for the rows that before and
// after encode. The images are copied as they are, not checked.
func AppendEncodedEnvelope(dst, before, after []byte, src Source, op string, tsMillis int64) []byte {
	dst = appendEncodedUnion(dst, before)
	dst = appendEncodedUnion(dst, after)
	return appendEnvelopeTail(dst, src, op, tsMillis)
}

// appendEncodedUnion appends a ["null", Value] union of an encoded Value
// record: null for nil.
func appendEncodedUnion(dst, value []byte) []byte {
	if value == nil {
		return append(dst, 0)
	}
	return append(append(dst, 2), value...)
}

// appendEnvelopeTail appends the fields of the Envelope record after the
// row images: source, op and ts_ms.
func appendEnvelopeTail(dst []byte, src Source, op string, tsMillis int64) []byte {
	dst = AppendSource(dst, src)
	dst = appendString(dst, op)
	return appendLong(dst, tsMillis)
}

// appendUnionRow appends a ["null", Value] union: null for a nil row.
func (e *Encoder) appendUnionRow(dst []byte, row []any) ([]byte, error) {
	if row == nil {
		return append(dst, 0), nil
	}
	return e.AppendValue(append(dst, 2), row)
}

// SameKey reports whether rows a and b (values in column order) have the
// same key: whether their Key records encode to the same bytes. A row that
// does not encode has no key equal to any other.
func (e *Encoder) SameKey(a, b []any) bool {
	if len(a) != len(e.cols) || len(b) != len(e.cols) {
		return false
	}
	for _, i := range e.key {
		if !e.sameCol(&e.cols[i], a[i], b[i]) {
			return false
		}
	}
	return true
}

// sameCol reports whether x and y encode to the same bytes in column c.
func (e *Encoder) sameCol(c *colEnc, x, y any) bool {
	if x == nil || y == nil {
		return x == nil && y == nil && c.nullable
	}
	switch c.op {
	case opInt:
		xv, ok1 := x.(int32)
		yv, ok2 := y.(int32)
		if ok1 && ok2 {
			return xv == yv
		}
	case opLong:
		xv, ok1 := x.(int64)
		yv, ok2 := y.(int64)
		if ok1 && ok2 {
			return xv == yv
		}
	case opString:
		xv, ok1 := x.(string)
		yv, ok2 := y.(string)
		if ok1 && ok2 {
			return xv == yv
		}
	case opBytes:
		xv, ok1 := x.([]byte)
		yv, ok2 := y.([]byte)
		if ok1 && ok2 {
			return bytes.Equal(xv, yv)
		}
	}
	var bx, by [64]byte
	ex, err := e.appendCol(bx[:0], c, x)
	if err != nil {
		return false
	}
	ey, err := e.appendCol(by[:0], c, y)
	return err == nil && bytes.Equal(ex, ey)
}

// appendCol appends the encoding of value v of column c.
func (e *Encoder) appendCol(dst []byte, c *colEnc, v any) ([]byte, error) {
	if v == nil {
		if c.nullable {
			return append(dst, 0), nil
		}
		return dst, e.colErr(c, errors.New("NULL in a NOT NULL column"))
	}
	if c.nullable {
		dst = append(dst, 2)
	}
	switch c.op {
	case opInt:
		if x, ok := v.(int32); ok {
			return appendLong(dst, int64(x)), nil
		}
	case opLong:
		if x, ok := v.(int64); ok {
			return appendLong(dst, x), nil
		}
	case opString:
		if x, ok := v.(string); ok {
			return appendString(dst, x), nil
		}
	case opBytes:
		if x, ok := v.([]byte); ok {
			dst = appendLong(dst, int64(len(x)))
			return append(dst, x...), nil
		}
	case opDouble:
		if x, ok := v.(float64); ok {
			return binary.LittleEndian.AppendUint64(dst, math.Float64bits(x)), nil
		}
	case opFloat:
		if x, ok := v.(float32); ok {
			return binary.LittleEndian.AppendUint32(dst, math.Float32bits(x)), nil
		}
	case opDecimal:
		if x, ok := v.(*big.Rat); ok && x != nil {
			out, err := appendDecimal(dst, x, c)
			if err != nil {
				return dst, e.colErr(c, err)
			}
			return out, nil
		}
	case opDate:
		if x, ok := v.(time.Time); ok {
			return appendLong(dst, int64(int32(x.Unix()/(24*60*60)))), nil
		}
	case opTimestamp:
		if x, ok := v.(time.Time); ok {
			return appendLong(dst, x.Unix()*1e6+int64(x.Nanosecond()/1e3)), nil
		}
	case opLocalTime:
		switch x := v.(type) {
		case int64:
			return appendLong(dst, x), nil
		case map[string]any:
			// The union form of ValueMap's map.
			if w, ok := x[localTimestampMicros].(int64); ok && len(x) == 1 && c.nullable {
				return appendLong(dst, w), nil
			}
		}
	}
	return dst, e.colErr(c, fmt.Errorf("value %v of type %T, want %s", v, v, goType[c.op]))
}

func (e *Encoder) colErr(c *colEnc, err error) error {
	return fmt.Errorf("encode %s column %s: %w", e.table, c.name, err)
}

func (e *Encoder) lengthErr(n int) error {
	return fmt.Errorf("encode %s: row has %d values, table has %d columns", e.table, n, len(e.cols))
}

// appendLong appends the zig-zag varint of v (an Avro int or long).
func appendLong(dst []byte, v int64) []byte {
	u := uint64(v)<<1 ^ uint64(v>>63)
	for u >= 0x80 {
		dst = append(dst, byte(u)|0x80)
		u >>= 7
	}
	return append(dst, byte(u))
}

// appendString appends an Avro string (or bytes): length, then the bytes.
func appendString(dst []byte, s string) []byte {
	return append(appendLong(dst, int64(len(s))), s...)
}

// appendDecimal appends r as Avro bytes.decimal of column c, exactly as
// hamba/avro's bytesDecimalCodec does: the unscaled value floor(r*10^scale),
// checked against the precision, in two's complement big-endian in
// BitLen/8+1 bytes.
func appendDecimal(dst []byte, r *big.Rat, c *colEnc) ([]byte, error) {
	if neg, mag, ok := unscaled64(r, c.scale); ok {
		out, ok := appendDecimal64(dst, neg, mag, c)
		if !ok {
			return dst, decimalDigitsErr(r, c)
		}
		return out, nil
	}
	i := new(big.Int).Mul(r.Num(), c.pow)
	if !r.IsInt() {
		i.Div(i, r.Denom())
	}
	if i.CmpAbs(c.limit) >= 0 {
		return dst, decimalDigitsErr(r, c)
	}
	n := i.BitLen()/8 + 1
	dst = appendLong(dst, int64(n))
	start := len(dst)
	dst = append(dst, make([]byte, n)...)
	b := dst[start:]
	i.FillBytes(b) // |i|, zero-padded
	if i.Sign() < 0 {
		// Two's complement: invert and add one.
		carry := true
		for k := n - 1; k >= 0; k-- {
			b[k] = ^b[k]
			if carry {
				b[k]++
				carry = b[k] == 0
			}
		}
	}
	return dst, nil
}

// appendDecimal64 appends the bytes.decimal of column c whose unscaled value
// is mag, negated if neg (a zero mag encodes zero either way). ok is false,
// and nothing is appended, when the value has more digits than c's
// precision.
func appendDecimal64(dst []byte, neg bool, mag uint64, c *colEnc) (out []byte, ok bool) {
	if p := schema.Pow10(c.prec); p != 0 && mag >= p {
		return dst, false
	}
	n := bits.Len64(mag)/8 + 1 // 1..9
	dst = appendLong(dst, int64(n))
	if !neg {
		for k := n - 1; k >= 0; k-- {
			dst = append(dst, byte(mag>>(8*uint(k))))
		}
		return dst, true
	}
	v := -mag // the low 64 bits of the two's complement
	for k := n - 1; k >= 0; k-- {
		if k >= 8 {
			dst = append(dst, 0xff)
		} else {
			dst = append(dst, byte(v>>(8*uint(k))))
		}
	}
	return dst, true
}

// unscaled64 returns the sign and magnitude of floor(r * 10^scale) when the
// magnitude fits a uint64 and can be computed without big arithmetic.
func unscaled64(r *big.Rat, scale int) (neg bool, mag uint64, ok bool) {
	num := r.Num()
	nw := num.Bits()
	if len(nw) == 0 {
		return false, 0, true
	}
	m, ok := words64(nw)
	p := schema.Pow10(scale)
	if !ok || p == 0 {
		return false, 0, false
	}
	neg = num.Sign() < 0
	hi, lo := bits.Mul64(m, p)
	if r.IsInt() {
		return neg, lo, hi == 0
	}
	d, ok := words64(r.Denom().Bits())
	if !ok || hi >= d {
		return false, 0, false
	}
	q, rem := bits.Div64(hi, lo, d)
	if neg && rem != 0 {
		// big.Int.Div is Euclidean: floor for a positive divisor.
		if q == math.MaxUint64 {
			return false, 0, false
		}
		q++
	}
	return neg, q, true
}

// words64 returns the value of a little-endian nat when it fits a uint64.
func words64(w []big.Word) (uint64, bool) {
	switch {
	case len(w) == 0:
		return 0, true
	case len(w) == 1:
		return uint64(w[0]), true
	case bits.UintSize == 32 && len(w) == 2:
		return uint64(w[1])<<32 | uint64(w[0]), true
	}
	return 0, false
}

func decimalDigitsErr(r *big.Rat, c *colEnc) error {
	return fmt.Errorf("decimal %s does not fit decimal(%d,%d)", r.FloatString(c.scale), c.prec, c.scale)
}
