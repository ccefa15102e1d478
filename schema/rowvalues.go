package schema

import (
	"fmt"

	"github.com/go-mysql-org/go-mysql/mysql"
)

// BinlogValues converts one row image of a binlog rows event, as go-mysql's
// replication package decodes it, into the values of the Value record in
// column order (nil for NULL), in the Go forms listed at the top of
// values.go. It is the conversion of BinlogRow, which builds its map from
// this slice, with the same requirements on the syncer and the row image.
//
// Unlike the map of BinlogRow, a non-NULL value of a nullable DATETIME
// column is the bare int64: the Encoder needs no union wrapping. []byte
// values may share memory with row.
func (t Table) BinlogValues(row []any) ([]any, error) {
	if len(row) != len(t.Columns) {
		return nil, fmt.Errorf("%s: row image has %d columns, table has %d", t.qualified(), len(row), len(t.Columns))
	}
	out := make([]any, len(t.Columns))
	for i := range t.Columns {
		v := row[i]
		if v == nil {
			continue
		}
		c := &t.Columns[i]
		if c.Type.binlogIdentity(v) {
			out[i] = v
			continue
		}
		x, err := c.Type.binlogValue(v)
		if err != nil {
			return nil, t.columnErr(c.Name, err)
		}
		out[i] = x
	}
	return out, nil
}

// binlogIdentity reports whether binlogValue would return the binlog value
// v unchanged (the common forms go-mysql decodes), so BinlogValues keeps
// the interface value as it is instead of boxing a copy.
func (t Type) binlogIdentity(v any) bool {
	var ok bool
	switch k := t.Kind; {
	case k == Int:
		_, ok = v.(int32)
		return ok && !t.Unsigned
	case k == BigInt:
		_, ok = v.(int64)
		return ok && !t.Unsigned
	case k == Double:
		_, ok = v.(float64)
	case k == Float:
		_, ok = v.(float32)
	case k.IsText():
		_, ok = v.(string)
		return ok && (t.Charset == "utf8mb4" || t.Charset == "utf8mb3" || t.Charset == "")
	case k == Enum, k == Set, k == JSON:
		_, ok = v.(string)
	case k.IsBinary():
		_, ok = v.([]byte)
		return ok && k != Binary
	}
	return ok
}

// TextValues converts one row of `SELECT <t.SelectList()> FROM ...` read
// over the text protocol into the same values BinlogValues gives for the
// same stored row; TextRow builds its map from this slice. The requirements
// on the connection are those of TextRow. The values never share memory
// with row.
func (t Table) TextValues(row []mysql.FieldValue) ([]any, error) {
	if len(row) != len(t.Columns) {
		return nil, fmt.Errorf("%s: result row has %d columns, table has %d", t.qualified(), len(row), len(t.Columns))
	}
	out := make([]any, len(t.Columns))
	for i := range t.Columns {
		if row[i].Type == mysql.FieldValueTypeNull {
			continue
		}
		c := &t.Columns[i]
		v, err := c.Type.textValue(&row[i])
		if err != nil {
			return nil, t.columnErr(c.Name, err)
		}
		out[i] = v
	}
	return out, nil
}

// rowMap builds the Value record map of hamba/avro from row values in
// column order: keys are the field names, nullable DATETIME values are
// wrapped for their union (valueForUnion).
func (t Table) rowMap(vals []any) map[string]any {
	names := t.fieldNames()
	m := make(map[string]any, len(t.Columns))
	for i, c := range t.Columns {
		name := c.Name
		if names != nil {
			name = names[i]
		}
		m[name] = valueForUnion(c, vals[i])
	}
	return m
}

// KeyValues returns the values of the key columns of row (values in column
// order, as BinlogValues gives them) in key order. A key column that is not
// a column of the table, or beyond the end of row, gives nil.
func (t Table) KeyValues(row []any) []any {
	out := make([]any, len(t.Key))
	for i, k := range t.Key {
		if _, idx, ok := t.Column(k); ok && idx < len(row) {
			out[i] = row[idx]
		}
	}
	return out
}
