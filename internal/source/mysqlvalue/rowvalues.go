package mysqlvalue

import (
	"fmt"
	"github.com/syncline/syncline/schema"

	"github.com/go-mysql-org/go-mysql/mysql"
)

// BinlogValues converts one row image of a binlog rows event, as go-mysql's
// replication package decodes it, into the values of the Value record in
// column order (nil for NULL), in the Go forms of package schema
// (represent.go). It is the conversion of BinlogRow, which builds its map from
// this slice, with the same requirements on the syncer and the row image.
//
// Unlike the map of BinlogRow, a non-NULL value of a nullable DATETIME
// column is the bare int64: the Encoder needs no union wrapping. []byte
// values may share memory with row.
func BinlogValues(t schema.Table, row []any) ([]any, error) {
	if len(row) != len(t.Columns) {
		return nil, fmt.Errorf("%s: row image has %d columns, table has %d", t.QualifiedName(), len(row), len(t.Columns))
	}
	out := make([]any, len(t.Columns))
	for i := range t.Columns {
		v := row[i]
		if v == nil {
			continue
		}
		c := &t.Columns[i]
		if binlogIdentity(c.Type, v) {
			out[i] = v
			continue
		}
		x, err := binlogValue(c.Type, v)
		if err != nil {
			return nil, t.ColumnError(c.Name, err)
		}
		out[i] = x
	}
	return out, nil
}

// binlogIdentity reports whether binlogValue would return the binlog value
// v unchanged (the common forms go-mysql decodes), so BinlogValues keeps
// the interface value as it is instead of boxing a copy.
func binlogIdentity(t schema.Type, v any) bool {
	var ok bool
	switch k := t.Kind; {
	case k == schema.Int:
		_, ok = v.(int32)
		return ok && !t.Unsigned
	case k == schema.BigInt:
		_, ok = v.(int64)
		return ok && !t.Unsigned
	case k == schema.Double:
		_, ok = v.(float64)
	case k == schema.Float:
		_, ok = v.(float32)
	case k.IsText():
		_, ok = v.(string)
		return ok && (t.Charset == "utf8mb4" || t.Charset == "utf8mb3" || t.Charset == "")
	case k == schema.Enum, k == schema.Set, k == schema.JSON:
		_, ok = v.(string)
	case k.IsBinary():
		_, ok = v.([]byte)
		return ok && k != schema.Binary
	}
	return ok
}

// TextValues converts one row of `SELECT <t.SelectList()> FROM ...` read
// over the text protocol into the same values BinlogValues gives for the
// same stored row; TextRow builds its map from this slice. The requirements
// on the connection are those of TextRow. The values never share memory
// with row.
func TextValues(t schema.Table, row []mysql.FieldValue) ([]any, error) {
	if len(row) != len(t.Columns) {
		return nil, fmt.Errorf("%s: result row has %d columns, table has %d", t.QualifiedName(), len(row), len(t.Columns))
	}
	out := make([]any, len(t.Columns))
	for i := range t.Columns {
		if row[i].Type == mysql.FieldValueTypeNull {
			continue
		}
		c := &t.Columns[i]
		v, err := textValue(c.Type, &row[i])
		if err != nil {
			return nil, t.ColumnError(c.Name, err)
		}
		out[i] = v
	}
	return out, nil
}
