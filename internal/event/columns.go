package event

import (
	"encoding/binary"
	"math"
)

// The column-level API below lets a source-side encoder (the text-protocol
// fast path of internal/source/mysqlvalue) write a row's fields straight
// from its wire values, while this package keeps the format: the union
// branches, the number encodings and the decimal rules.

// Columns returns the number of columns of the Encoder's table.
func (e *Encoder) Columns() int { return len(e.cols) }

// KeyColumns returns the column indexes of the key columns, in key order.
// The slice is the Encoder's own: do not modify it.
func (e *Encoder) KeyColumns() []int { return e.key }

// AppendColumn appends the encoding of value v (nil for NULL) of column i,
// with the union branch of a nullable column, exactly as AppendValue writes
// that field. The error names the table and column; on error dst is
// returned unchanged.
func (e *Encoder) AppendColumn(dst []byte, i int, v any) ([]byte, error) {
	return e.appendCol(dst, &e.cols[i], v)
}

// ColumnError wraps err, a value of column i that cannot be encoded, as the
// Encoder's own errors do: naming the table and column.
func (e *Encoder) ColumnError(i int, err error) error { return e.colErr(&e.cols[i], err) }

// RowLengthError is the Encoder's error for a row of n values.
func (e *Encoder) RowLengthError(n int) error { return e.lengthErr(n) }

// AppendDecimal64 appends the bytes.decimal of column i (a DECIMAL or a
// BIGINT UNSIGNED) whose unscaled value is mag, negated if neg, without
// union branch. ok is false, and nothing is appended, when the value has
// more digits than the column's precision.
func (e *Encoder) AppendDecimal64(dst []byte, i int, neg bool, mag uint64) (out []byte, ok bool) {
	return appendDecimal64(dst, neg, mag, &e.cols[i])
}

// AppendBranch appends the union branch of a non-null value of a nullable
// column (["null", T] branch 1); for a NOT NULL column it appends nothing.
func AppendBranch(dst []byte, nullable bool) []byte {
	if nullable {
		return append(dst, 2)
	}
	return dst
}

// AppendLong appends an Avro int or long: the zig-zag varint of v.
func AppendLong(dst []byte, v int64) []byte { return appendLong(dst, v) }

// AppendBytes appends Avro bytes or string: the length, then b.
func AppendBytes(dst, b []byte) []byte { return append(appendLong(dst, int64(len(b))), b...) }

// AppendFloat appends an Avro float.
func AppendFloat(dst []byte, x float32) []byte {
	return binary.LittleEndian.AppendUint32(dst, math.Float32bits(x))
}

// AppendDouble appends an Avro double.
func AppendDouble(dst []byte, x float64) []byte {
	return binary.LittleEndian.AppendUint64(dst, math.Float64bits(x))
}
