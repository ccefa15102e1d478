package mysqlvalue

import (
	"fmt"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/syncline/syncline/internal/event"
	"github.com/syncline/syncline/schema"
)

// textOp is how the TextEncoder reads a column's text-protocol value: straight
// from the field's bytes or parsed number, or through textValue.
type textOp uint8

const (
	textGeneric  textOp = iota // textValue, then Encoder.AppendColumn
	textInt                    // integer kinds and YEAR
	textString                 // CHAR, VARCHAR, the TEXT kinds, ENUM, SET, JSON
	textFloat                  // FLOAT (read as CAST(col AS DOUBLE)) and DOUBLE
	textDecimal                // DECIMAL
	textDate                   // DATE
	textDateTime               // DATETIME
)

// TextEncoder encodes the Key and Value records of rows read over the text
// protocol straight from the wire values (capture's snapshot fast path),
// with the event.Encoder of the same table for the format. It is immutable
// and safe for concurrent use.
type TextEncoder struct {
	enc  *event.Encoder
	cols []textCol
}

// textCol is how one column's text value is read and encoded.
type textCol struct {
	text     textOp
	nullable bool
	// kind of Avro value: an int (truncated to int32), a long, a float, a
	// decimal (BIGINT UNSIGNED read as integer, DECIMAL read as text).
	int32, float32, decimal bool
	scale                   int // DECIMAL scale
	typ                     schema.Type
}

// NewTextEncoder returns the TextEncoder of table t, writing through enc,
// the event.Encoder compiled from the same t.
func NewTextEncoder(t schema.Table, enc *event.Encoder) (*TextEncoder, error) {
	if enc.Columns() != len(t.Columns) {
		return nil, fmt.Errorf("text encoder of %s: encoder has %d columns, table has %d", t.QualifiedName(), enc.Columns(), len(t.Columns))
	}
	te := &TextEncoder{enc: enc, cols: make([]textCol, len(t.Columns))}
	for i, c := range t.Columns {
		tc := textCol{nullable: c.Nullable, typ: c.Type}
		switch k := c.Type.Kind; {
		case k == schema.TinyInt, k == schema.SmallInt, k == schema.MediumInt, k == schema.Year:
			tc.text, tc.int32 = textInt, true
		case k == schema.Int:
			tc.text, tc.int32 = textInt, !c.Type.Unsigned
		case k == schema.BigInt:
			tc.text, tc.decimal = textInt, c.Type.Unsigned
		case k == schema.Decimal:
			tc.text, tc.decimal, tc.scale = textDecimal, true, c.Type.Scale
		case k == schema.Float:
			tc.text, tc.float32 = textFloat, true
		case k == schema.Double:
			tc.text = textFloat
		case k.IsString():
			tc.text = textString
		case k == schema.Date:
			tc.text = textDate
		case k == schema.DateTime:
			tc.text = textDateTime
		}
		te.cols[i] = tc
	}
	return te, nil
}

// Encoder returns the event.Encoder the TextEncoder writes through.
func (te *TextEncoder) Encoder() *event.Encoder { return te.enc }

// AppendKey appends the encoding of the Key record of one row read over
// the text protocol by `SELECT <t.SelectList()> FROM ...` (the row of
// client.Conn.ExecuteSelectStreaming's callback, with the connection
// requirements of TextRow), where t is the table the TextEncoder was
// compiled from: byte for byte what Encoder.AppendKey(dst, TextValues(t,
// row)) appends, but without building Go values. Integers, YEAR, the string
// kinds, FLOAT, DOUBLE, DECIMAL whose unscaled value has at most 19 digits,
// DATE and DATETIME are encoded straight from the field without
// allocating; other values go through TextValues' conversion and allocate as
// it does. Nothing of row is retained.
//
// Only the key columns are read, so a value in another column that
// TextValues cannot convert is no error here. On error, dst is returned
// unchanged, and the error names the table and column.
func (te *TextEncoder) AppendKey(dst []byte, row []mysql.FieldValue) ([]byte, error) {
	if len(row) != len(te.cols) {
		return dst, te.enc.RowLengthError(len(row))
	}
	out := dst
	var err error
	for _, i := range te.enc.KeyColumns() {
		if out, err = te.appendCol(out, i, &row[i]); err != nil {
			return dst, err
		}
	}
	return out, nil
}

// AppendValue appends the encoding of the Value record of one row read
// over the text protocol, as AppendKey reads it: byte for byte what
// Encoder.AppendValue(dst, TextValues(t, row)) appends. It fails where
// TextValues or AppendValue would, with an error that names the table and
// column as the Encoder's errors do. On error, dst is returned unchanged.
func (te *TextEncoder) AppendValue(dst []byte, row []mysql.FieldValue) ([]byte, error) {
	if len(row) != len(te.cols) {
		return dst, te.enc.RowLengthError(len(row))
	}
	out := dst
	var err error
	for i := range te.cols {
		if out, err = te.appendCol(out, i, &row[i]); err != nil {
			return dst, err
		}
	}
	return out, nil
}

// appendCol appends the encoding of the text-protocol value f of column i:
// directly when appendFast can, else through textValue and
// Encoder.AppendColumn, so that both paths give the same bytes and errors.
func (te *TextEncoder) appendCol(dst []byte, i int, f *mysql.FieldValue) ([]byte, error) {
	if f.Type == mysql.FieldValueTypeNull {
		return te.enc.AppendColumn(dst, i, nil)
	}
	c := &te.cols[i]
	if out, ok := te.appendFast(dst, i, c, f); ok {
		return out, nil
	}
	v, err := textValue(c.typ, f)
	if err != nil {
		return dst, te.enc.ColumnError(i, err)
	}
	return te.enc.AppendColumn(dst, i, v)
}

// appendFast appends the encoding of the non-NULL text-protocol value f of
// column i (with the union branch of a nullable column) without building
// its Go value, for the common forms of the common types. ok is false, and
// dst is returned unchanged, for every other case, including every value
// that is an error: the caller then takes the generic path.
func (te *TextEncoder) appendFast(dst []byte, i int, c *textCol, f *mysql.FieldValue) (out []byte, ok bool) {
	if c.text == textGeneric {
		return dst, false
	}
	out = event.AppendBranch(dst, c.nullable)
	switch c.text {
	case textInt:
		n, goUnsigned, ok := fieldInteger(f)
		if !ok {
			return dst, false
		}
		if c.decimal {
			// BIGINT UNSIGNED: integer's *big.Rat of the 64 bits.
			if out, ok = te.enc.AppendDecimal64(out, i, false, uint64(n)); !ok {
				return dst, false
			}
			return out, true
		}
		return event.AppendLong(out, textInteger(c, n, goUnsigned)), true
	case textString:
		if f.Type != mysql.FieldValueTypeString {
			return dst, false
		}
		return event.AppendBytes(out, f.AsString()), true
	case textFloat:
		if f.Type != mysql.FieldValueTypeFloat {
			return dst, false
		}
		x := f.AsFloat64()
		if c.float32 {
			return event.AppendFloat(out, float32(x)), true
		}
		return event.AppendDouble(out, x), true
	case textDecimal:
		if f.Type != mysql.FieldValueTypeString {
			return dst, false
		}
		neg, mag, ok := scanUnscaled(f.AsString(), c.scale)
		if !ok {
			return dst, false
		}
		if out, ok = te.enc.AppendDecimal64(out, i, neg, mag); !ok {
			return dst, false // too many digits: the generic path gives the error
		}
		return out, true
	case textDate:
		if f.Type != mysql.FieldValueTypeString {
			return dst, false
		}
		days, err := parseDateDays(f.AsString())
		if err != nil {
			return dst, false
		}
		return event.AppendLong(out, int64(days)), true
	case textDateTime:
		if f.Type != mysql.FieldValueTypeString {
			return dst, false
		}
		micros, err := parseDateTime(f.AsString())
		if err != nil {
			return dst, false
		}
		return event.AppendLong(out, micros), true
	}
	return dst, false
}

// textInteger returns the value textValue gives for the integer bits of
// column c (an integer kind other than BIGINT UNSIGNED, or YEAR), as the
// int64 its Avro int or long encodes.
func textInteger(c *textCol, bits int64, goUnsigned bool) int64 {
	v := intBits(&c.typ, bits, goUnsigned)
	if c.int32 {
		return int64(int32(v))
	}
	return v
}

// scanUnscaled reads the DECIMAL text MariaDB and MySQL write, -?[0-9]+
// optionally followed by '.' and [0-9]+, as the unscaled value of a column
// of the given scale: its magnitude mag and sign neg (false for zero). ok is
// false for any other text, for a fraction longer than scale (whose value
// the generic path rounds), and when the unscaled value has more than
// maxDecimalDigits digits, so that mag always fits a uint64.
func scanUnscaled(s []byte, scale int) (neg bool, mag uint64, ok bool) {
	start := 0
	if len(s) > 0 && s[0] == '-' {
		neg, start = true, 1
	}
	dot := -1   // index of the '.'
	frac := 0   // digits after the '.'
	digits := 0 // digits of mag, without leading zeros
	for i := start; i < len(s); i++ {
		switch b := s[i]; {
		case isDigit(b):
			if dot >= 0 {
				frac++
			}
			if mag == 0 && b == '0' {
				continue
			}
			if digits++; digits > maxDecimalDigits {
				return false, 0, false
			}
			mag = mag*10 + uint64(b-'0')
		case b == '.' && dot < 0:
			dot = i
		default:
			return false, 0, false
		}
	}
	if dot < 0 && len(s) == start || dot == start || dot == len(s)-1 || frac > scale {
		return false, 0, false
	}
	if mag == 0 {
		return false, 0, true
	}
	if digits+scale-frac > maxDecimalDigits {
		return false, 0, false
	}
	return neg, mag * schema.Pow10(scale-frac), true
}
