package schema

import (
	"encoding/binary"
	"math"

	"github.com/go-mysql-org/go-mysql/mysql"
)

// textOp is how the Encoder reads a column's text-protocol value: straight
// from the field's bytes or parsed number, or through Type.textValue.
type textOp uint8

const (
	textGeneric  textOp = iota // Type.textValue, then appendCol
	textInt                    // integer kinds and YEAR
	textString                 // CHAR, VARCHAR, the TEXT kinds, ENUM, SET, JSON
	textFloat                  // FLOAT (read as CAST(col AS DOUBLE)) and DOUBLE
	textDecimal                // DECIMAL
	textDate                   // DATE
	textDateTime               // DATETIME
)

// AppendTextKey appends the encoding of the Key record of one row read over
// the text protocol by `SELECT <t.SelectList()> FROM ...` (the row of
// client.Conn.ExecuteSelectStreaming's callback, with the connection
// requirements of TextRow), where t is the table the Encoder was compiled
// from: byte for byte what AppendKey(dst, t.TextValues(row)) appends, but
// without building Go values. Integers, YEAR, the string kinds, FLOAT, DOUBLE, DECIMAL whose unscaled value has at most 19
// digits, DATE and DATETIME are encoded straight from the field without
// allocating; other values go through TextValues' conversion and allocate as
// it does. Nothing of row is retained.
//
// Only the key columns are read, so a value in another column that
// TextValues cannot convert is no error here. On error, dst is returned
// unchanged, and the error names the table and column.
func (e *Encoder) AppendTextKey(dst []byte, row []mysql.FieldValue) ([]byte, error) {
	if len(row) != len(e.cols) {
		return dst, e.lengthErr(len(row))
	}
	out := dst
	var err error
	for _, i := range e.key {
		if out, err = e.appendTextCol(out, &e.cols[i], &row[i]); err != nil {
			return dst, err
		}
	}
	return out, nil
}

// AppendTextValue appends the encoding of the Value record of one row read
// over the text protocol, as AppendTextKey reads it: byte for byte what
// AppendValue(dst, t.TextValues(row)) appends. It fails where TextValues or
// AppendValue would, with an error that names the table and column as the
// Encoder's errors do. On error, dst is returned unchanged.
func (e *Encoder) AppendTextValue(dst []byte, row []mysql.FieldValue) ([]byte, error) {
	if len(row) != len(e.cols) {
		return dst, e.lengthErr(len(row))
	}
	out := dst
	var err error
	for i := range e.cols {
		if out, err = e.appendTextCol(out, &e.cols[i], &row[i]); err != nil {
			return dst, err
		}
	}
	return out, nil
}

// appendTextCol appends the encoding of the text-protocol value f of column
// c: directly when appendTextFast can, else through Type.textValue and
// appendCol, so that both paths give the same bytes and errors.
func (e *Encoder) appendTextCol(dst []byte, c *colEnc, f *mysql.FieldValue) ([]byte, error) {
	if f.Type == mysql.FieldValueTypeNull {
		return e.appendCol(dst, c, nil)
	}
	if out, ok := appendTextFast(dst, c, f); ok {
		return out, nil
	}
	v, err := c.typ.textValue(f)
	if err != nil {
		return dst, e.colErr(c, err)
	}
	return e.appendCol(dst, c, v)
}

// appendTextFast appends the encoding of the non-NULL text-protocol value f
// of column c (with the union branch of a nullable column) without building
// its Go value, for the common forms of the common types. ok is false, and
// dst is returned unchanged, for every other case, including every value
// that is an error: the caller then takes the generic path.
func appendTextFast(dst []byte, c *colEnc, f *mysql.FieldValue) (out []byte, ok bool) {
	if c.text == textGeneric {
		return dst, false
	}
	out = dst
	if c.nullable {
		out = append(out, 2)
	}
	switch c.text {
	case textInt:
		n, goUnsigned, ok := fieldInteger(f)
		if !ok {
			return dst, false
		}
		if c.op == opDecimal {
			// BIGINT UNSIGNED: Type.integer's *big.Rat of the 64 bits.
			if out, ok = appendDecimal64(out, false, uint64(n), c); !ok {
				return dst, false
			}
			return out, true
		}
		return appendLong(out, textInteger(c, n, goUnsigned)), true
	case textString:
		if f.Type != mysql.FieldValueTypeString {
			return dst, false
		}
		raw := f.AsString()
		return append(appendLong(out, int64(len(raw))), raw...), true
	case textFloat:
		if f.Type != mysql.FieldValueTypeFloat {
			return dst, false
		}
		x := f.AsFloat64()
		if c.op == opFloat {
			return binary.LittleEndian.AppendUint32(out, math.Float32bits(float32(x))), true
		}
		return binary.LittleEndian.AppendUint64(out, math.Float64bits(x)), true
	case textDecimal:
		if f.Type != mysql.FieldValueTypeString {
			return dst, false
		}
		neg, mag, ok := scanUnscaled(f.AsString(), c.scale)
		if !ok {
			return dst, false
		}
		if out, ok = appendDecimal64(out, neg, mag, c); !ok {
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
		return appendLong(out, int64(days)), true
	case textDateTime:
		if f.Type != mysql.FieldValueTypeString {
			return dst, false
		}
		micros, err := parseDateTime(f.AsString())
		if err != nil {
			return dst, false
		}
		return appendLong(out, micros), true
	}
	return dst, false
}

// textInteger returns the value Type.textValue gives for the integer bits
// of column c (an integer kind other than BIGINT UNSIGNED, or YEAR), as the
// int64 its Avro int or long encodes.
func textInteger(c *colEnc, bits int64, goUnsigned bool) int64 {
	v := c.typ.intBits(bits, goUnsigned)
	if c.op == opInt {
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
	return neg, mag * pow10[scale-frac], true
}
