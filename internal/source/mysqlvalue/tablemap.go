package mysqlvalue

import (
	"errors"
	"fmt"
	"github.com/syncline/syncline/schema"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"
)

// FromTableMap builds the Table described by a binlog TableMap event logged
// with binlog_row_metadata=FULL: column names, signedness, ENUM/SET labels,
// charsets, nullability and the primary key all come from the event, so rows
// decode with the shape the table had when they were written, whatever DDL
// ran since. It gives the same Table as LoadTable for the same table, except
// for MariaDB's UUID, INET4 and INET6 columns: the event shows them as
// BINARY(16), BINARY(4) and BINARY(16), the types they are stored as, and
// nothing in it tells them apart from those; WithFixedBinaryTypes restores
// them from the table's information_schema shape.
//
// Without the metadata (no column names in the event) the error wraps
// ErrNoRowMetadata. When the event names no key (the table has neither a
// primary key nor a UNIQUE key on NOT NULL columns, which the server would
// promote to primary key), the error wraps ErrNoKey and the returned Table is
// complete except for its Key.
func FromTableMap(ev *replication.TableMapEvent) (schema.Table, error) {
	t := schema.Table{Database: string(ev.Schema), Name: string(ev.Table)}
	n := int(ev.ColumnCount)
	names := ev.ColumnNameString()
	if len(names) != n {
		return schema.Table{}, fmt.Errorf("table %s: %w", t.QualifiedName(), schema.ErrNoRowMetadata)
	}
	if len(ev.ColumnType) < n || len(ev.ColumnMeta) < n {
		return schema.Table{}, fmt.Errorf("table %s: malformed TableMap event: %d columns, %d types", t.QualifiedName(), n, len(ev.ColumnType))
	}
	unsigned := ev.UnsignedMap()
	collations := ev.CollationMap()
	enumSetCollations := ev.EnumSetCollationMap()
	enums := ev.EnumStrValueMap()
	sets := ev.SetStrValueMap()
	geoms := ev.GeometryTypeMap()

	t.Columns = make([]schema.Column, n)
	for i := range n {
		col := schema.Column{Name: names[i]}
		if ok, nullable := ev.Nullable(i); ok {
			col.Nullable = nullable
		}
		typ, err := tableMapType(ev, i, unsigned, collations, enumSetCollations, enums, sets, geoms)
		if err != nil {
			return schema.Table{}, t.ColumnError(col.Name, err)
		}
		col.Type = typ
		t.Columns[i] = col
	}
	for _, k := range ev.PrimaryKey {
		if int(k) >= n {
			return schema.Table{}, fmt.Errorf("table %s: primary key column index %d out of range", t.QualifiedName(), k)
		}
		t.Key = append(t.Key, names[k])
	}
	if len(t.Key) == 0 {
		return t, fmt.Errorf("table %s: %w", t.QualifiedName(), schema.ErrNoKey)
	}
	return t, nil
}

// tableMapType derives the type of column i of a TableMap event.
func tableMapType(ev *replication.TableMapEvent, i int, unsigned map[int]bool, collations, enumSetCollations map[int]uint64,
	enums, sets map[int][]string, geoms map[int]uint64,
) (schema.Type, error) {
	typ := ev.ColumnType[i]
	meta := ev.ColumnMeta[i]
	var t schema.Type
	switch typ {
	case mysql.MYSQL_TYPE_TINY:
		t.Kind = schema.TinyInt
	case mysql.MYSQL_TYPE_SHORT:
		t.Kind = schema.SmallInt
	case mysql.MYSQL_TYPE_INT24:
		t.Kind = schema.MediumInt
	case mysql.MYSQL_TYPE_LONG:
		t.Kind = schema.Int
	case mysql.MYSQL_TYPE_LONGLONG:
		t.Kind = schema.BigInt
	case mysql.MYSQL_TYPE_NEWDECIMAL:
		t.Kind, t.Precision, t.Scale = schema.Decimal, int(meta>>8), int(meta&0xff)
	case mysql.MYSQL_TYPE_FLOAT:
		t.Kind = schema.Float
	case mysql.MYSQL_TYPE_DOUBLE:
		t.Kind = schema.Double
	case mysql.MYSQL_TYPE_BIT:
		t.Kind, t.Length = schema.Bit, int(meta>>8)*8+int(meta&0xff)
	case mysql.MYSQL_TYPE_DATE, mysql.MYSQL_TYPE_NEWDATE:
		t.Kind = schema.Date
	case mysql.MYSQL_TYPE_TIME:
		t.Kind = schema.Time
	case mysql.MYSQL_TYPE_TIME2:
		t.Kind, t.Precision = schema.Time, int(meta)
	case mysql.MYSQL_TYPE_DATETIME:
		t.Kind = schema.DateTime
	case mysql.MYSQL_TYPE_DATETIME2:
		t.Kind, t.Precision = schema.DateTime, int(meta)
	case mysql.MYSQL_TYPE_TIMESTAMP:
		t.Kind = schema.Timestamp
	case mysql.MYSQL_TYPE_TIMESTAMP2:
		t.Kind, t.Precision = schema.Timestamp, int(meta)
	case mysql.MYSQL_TYPE_YEAR:
		t.Kind = schema.Year
	case mysql.MYSQL_TYPE_JSON:
		t.Kind = schema.JSON
	case mysql.MYSQL_TYPE_GEOMETRY:
		t.Kind = schema.Geometry
		if g, ok := geoms[i]; ok {
			kinds := [...]schema.Kind{schema.Geometry, schema.Point, schema.LineString, schema.Polygon, schema.MultiPoint, schema.MultiLineString, schema.MultiPolygon, schema.GeometryCollection}
			if g >= uint64(len(kinds)) {
				return schema.Type{}, fmt.Errorf("%w: geometry subtype %d", schema.ErrUnsupportedType, g)
			}
			t.Kind = kinds[g]
		}
	case mysql.MYSQL_TYPE_VARCHAR, mysql.MYSQL_TYPE_VAR_STRING:
		cs, err := columnCharset(collations, i)
		if err != nil {
			return schema.Type{}, err
		}
		if cs == "binary" {
			t.Kind, t.Length = schema.VarBinary, int(meta)
			break
		}
		t.Kind, t.Charset = schema.VarChar, cs
		if t.Length, err = charLength(int(meta), cs); err != nil {
			return schema.Type{}, err
		}
	case mysql.MYSQL_TYPE_BLOB:
		cs, err := columnCharset(collations, i)
		if err != nil {
			return schema.Type{}, err
		}
		if int(meta) < 1 || int(meta) > 4 {
			return schema.Type{}, fmt.Errorf("blob length bytes %d", meta)
		}
		if cs == "binary" {
			t.Kind = [...]schema.Kind{schema.TinyBlob, schema.Blob, schema.MediumBlob, schema.LongBlob}[meta-1]
		} else {
			t.Kind, t.Charset = [...]schema.Kind{schema.TinyText, schema.Text, schema.MediumText, schema.LongText}[meta-1], cs
		}
	case mysql.MYSQL_TYPE_STRING:
		real := byte(meta >> 8)
		switch {
		case meta >= 256 && real == mysql.MYSQL_TYPE_ENUM:
			labels, ok := enums[i]
			return enumSetType(schema.Enum, labels, ok, enumSetCollations, i)
		case meta >= 256 && real == mysql.MYSQL_TYPE_SET:
			labels, ok := sets[i]
			return enumSetType(schema.Set, labels, ok, enumSetCollations, i)
		}
		// CHAR/BINARY: the byte length is split over both meta bytes for
		// lengths above 255 (see Field_string::do_save_field_metadata).
		length := int(meta)
		if meta >= 256 {
			b0, b1 := uint16(meta>>8), uint16(meta&0xff)
			if b0&0x30 != 0x30 {
				length = int(b1 | ((b0&0x30)^0x30)<<4)
			} else {
				length = int(b1)
			}
		}
		cs, err := columnCharset(collations, i)
		if err != nil {
			return schema.Type{}, err
		}
		if cs == "binary" {
			t.Kind, t.Length = schema.Binary, length
			break
		}
		t.Kind, t.Charset = schema.Char, cs
		if t.Length, err = charLength(length, cs); err != nil {
			return schema.Type{}, err
		}
	default:
		return schema.Type{}, fmt.Errorf("%w: binlog column type %d", schema.ErrUnsupportedType, typ)
	}
	if t.Kind.IsInteger() {
		t.Unsigned = unsigned[i]
	}
	return t, nil
}

// enumSetType builds an ENUM or SET type from the event's labels, converted
// to UTF-8 from the column's charset.
func enumSetType(kind schema.Kind, labels []string, ok bool, collations map[int]uint64, i int) (schema.Type, error) {
	if !ok {
		return schema.Type{}, fmt.Errorf("no %s labels in the TableMap event: %w", kind, schema.ErrNoRowMetadata)
	}
	t := schema.Type{Kind: kind, Elems: make([]string, len(labels))}
	cs := "utf8mb4"
	if id, ok := collations[i]; ok {
		var known bool
		if cs, known = charsetOfCollation(id); !known {
			return schema.Type{}, fmt.Errorf("%w: collation id %d", schema.ErrUnsupportedType, id)
		}
		t.Charset = cs
	}
	for j, l := range labels {
		s, err := decodeText(cs, []byte(l))
		if err != nil {
			return schema.Type{}, fmt.Errorf("%s label %d: %w", kind, j+1, err)
		}
		t.Elems[j] = s
	}
	return t, nil
}

// columnCharset returns the charset of character column i.
func columnCharset(collations map[int]uint64, i int) (string, error) {
	id, ok := collations[i]
	if !ok {
		return "", errors.New("no charset in the TableMap event")
	}
	cs, ok := charsetOfCollation(id)
	if !ok {
		return "", fmt.Errorf("%w: collation id %d", schema.ErrUnsupportedType, id)
	}
	return cs, nil
}

// charLength turns a byte length into a character length in charset cs.
func charLength(bytes int, cs string) (int, error) {
	m, ok := maxBytesPerChar(cs)
	if !ok {
		return 0, fmt.Errorf("%w: charset %s", schema.ErrUnsupportedType, cs)
	}
	return bytes / m, nil
}
