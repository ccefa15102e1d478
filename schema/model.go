// Package schema is Syncline's table model, shared by the source side and
// the targets: a MySQL/MariaDB table (columns, types, key), the parser of
// MySQL column types, and the Go values a row is made of (represent.go; the
// forms of docs/events.md, "Go values"), zero-date sentinels included.
//
// It imports no MySQL driver and nothing else of Syncline: the event format
// built on it is package internal/event, and reading the model and the values
// from MySQL (information_schema, binlog TableMap events, binlog and
// text-protocol rows) is package internal/source/mysqlvalue.
package schema

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrUnsupportedType is wrapped by the errors for column types that have no
// Avro representation in the event contract.
var ErrUnsupportedType = errors.New("unsupported column type")

// ErrNoTable is wrapped by LoadTable's error when the table does not exist.
var ErrNoTable = errors.New("table does not exist")

// ErrNoKey is wrapped by the errors for tables that have neither a primary
// key nor a UNIQUE key whose columns are all NOT NULL.
var ErrNoKey = errors.New("table has no primary key and no unique key on NOT NULL columns")

// ErrNoRowMetadata is wrapped by FromTableMap's error when the TableMap event
// carries no column names: the server does not log full row metadata.
var ErrNoRowMetadata = errors.New("binlog TableMap event has no column metadata; set binlog_row_metadata=FULL on the source server")

// Table is one table's shape: its columns in table order and its key.
type Table struct {
	// Database and Name are the true (unsanitized) names of the table.
	Database, Name string
	// Columns are the table's columns in ordinal order.
	Columns []Column
	// Key holds the key column names in key order: the primary key, else the
	// first UNIQUE key whose columns are all NOT NULL.
	Key []string
}

// Column is one column of a table.
type Column struct {
	// Name is the true column name.
	Name string
	// Type is the column's type.
	Type Type
	// Nullable is false for NOT NULL columns.
	Nullable bool
}

// Type is a MySQL column type. Its String form is the canonical `mysql.type`
// of the event contract.
type Type struct {
	// Kind is the type family.
	Kind Kind
	// Unsigned is set for UNSIGNED integer kinds (TINYINT..BIGINT) only;
	// the deprecated UNSIGNED of DECIMAL, FLOAT and DOUBLE is dropped, it
	// does not change their values.
	Unsigned bool
	// Length is the length of CHAR and VARCHAR in characters, of BINARY and
	// VARBINARY in bytes, and of BIT in bits; 0 for other kinds.
	Length int
	// Precision is the number of digits of DECIMAL and the fractional
	// seconds precision (0..6) of TIME, DATETIME and TIMESTAMP.
	Precision int
	// Scale is the number of fractional digits of DECIMAL.
	Scale int
	// Elems are the labels of ENUM and SET in definition order, in UTF-8.
	Elems []string
	// Charset is the character set of CHAR, VARCHAR, the TEXT kinds, ENUM
	// and SET ("utf8mb4", "utf8mb3", "latin1", ...; MySQL's "utf8" is
	// reported as "utf8mb3"). It is empty for other kinds, and in tables
	// rebuilt from Avro schemas, which do not carry it.
	Charset string
}

// Kind is a MySQL type family.
type Kind int

// The kinds. The zero Kind is invalid.
const (
	TinyInt Kind = iota + 1
	SmallInt
	MediumInt
	Int
	BigInt
	Decimal
	Float
	Double
	Bit
	Char
	VarChar
	TinyText
	Text
	MediumText
	LongText
	Binary
	VarBinary
	TinyBlob
	Blob
	MediumBlob
	LongBlob
	Enum
	Set
	JSON
	Date
	Time
	DateTime
	Timestamp
	Year
	Geometry
	Point
	LineString
	Polygon
	MultiPoint
	MultiLineString
	MultiPolygon
	GeometryCollection
	UUID  // MariaDB 10.7+
	Inet4 // MariaDB 10.10+
	Inet6 // MariaDB 10.5+

	kindEnd // one past the last kind
)

var kindNames = [...]string{
	TinyInt: "tinyint", SmallInt: "smallint", MediumInt: "mediumint", Int: "int", BigInt: "bigint",
	Decimal: "decimal", Float: "float", Double: "double", Bit: "bit",
	Char: "char", VarChar: "varchar",
	TinyText: "tinytext", Text: "text", MediumText: "mediumtext", LongText: "longtext",
	Binary: "binary", VarBinary: "varbinary",
	TinyBlob: "tinyblob", Blob: "blob", MediumBlob: "mediumblob", LongBlob: "longblob",
	Enum: "enum", Set: "set", JSON: "json",
	Date: "date", Time: "time", DateTime: "datetime", Timestamp: "timestamp", Year: "year",
	Geometry: "geometry", Point: "point", LineString: "linestring", Polygon: "polygon",
	MultiPoint: "multipoint", MultiLineString: "multilinestring", MultiPolygon: "multipolygon",
	GeometryCollection: "geometrycollection",
	UUID:               "uuid", Inet4: "inet4", Inet6: "inet6",
}

// String returns the kind's SQL keyword in lower case ("int", "varchar", ...).
func (k Kind) String() string {
	if k > 0 && k < kindEnd {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// IsInteger reports whether k is TINYINT, SMALLINT, MEDIUMINT, INT or BIGINT.
func (k Kind) IsInteger() bool { return k >= TinyInt && k <= BigInt }

// IsNumeric reports whether k is an integer kind, DECIMAL, FLOAT or DOUBLE.
func (k Kind) IsNumeric() bool { return k >= TinyInt && k <= Double }

// IsText reports whether k holds character data in a charset: CHAR,
// VARCHAR and the TEXT kinds (not ENUM, SET or JSON).
func (k Kind) IsText() bool { return k >= Char && k <= LongText }

// IsString reports whether k is carried as an Avro string: the text kinds,
// ENUM, SET, JSON and MariaDB's UUID, INET4 and INET6 (as their canonical
// text).
func (k Kind) IsString() bool {
	return k.IsText() || k == Enum || k == Set || k == JSON || k.IsFixedBinaryText()
}

// IsFixedBinaryText reports whether k is one of MariaDB's UUID, INET4 and
// INET6: stored (and written to the binlog) as BINARY(16), BINARY(4) and
// BINARY(16), carried as the text the server prints for them.
func (k Kind) IsFixedBinaryText() bool { return k == UUID || k == Inet4 || k == Inet6 }

// IsBinary reports whether k is BINARY, VARBINARY or a BLOB kind.
func (k Kind) IsBinary() bool { return k >= Binary && k <= LongBlob }

// IsBlob reports whether k is one of the TEXT or BLOB kinds (stored off-row,
// no declared length).
func (k Kind) IsBlob() bool {
	return (k >= TinyText && k <= LongText) || (k >= TinyBlob && k <= LongBlob)
}

// IsTemporal reports whether k is DATE, TIME, DATETIME, TIMESTAMP or YEAR.
func (k Kind) IsTemporal() bool { return k >= Date && k <= Year }

// IsGeometry reports whether k is GEOMETRY or one of its subtypes.
func (k Kind) IsGeometry() bool { return k >= Geometry && k <= GeometryCollection }

// String returns the canonical `mysql.type` form: lower case, no display
// widths, e.g. "int unsigned", "decimal(10,2)", "varchar(20)",
// "enum('a','b')", "datetime(6)", "time", "longblob".
func (t Type) String() string {
	switch {
	case t.Kind.IsInteger():
		if t.Unsigned {
			return t.Kind.String() + " unsigned"
		}
		return t.Kind.String()
	case t.Kind == Decimal:
		return "decimal(" + strconv.Itoa(t.Precision) + "," + strconv.Itoa(t.Scale) + ")"
	case t.Kind == Bit, t.Kind == Char, t.Kind == VarChar, t.Kind == Binary, t.Kind == VarBinary:
		return t.Kind.String() + "(" + strconv.Itoa(t.Length) + ")"
	case t.Kind == Enum, t.Kind == Set:
		var b strings.Builder
		b.WriteString(t.Kind.String())
		b.WriteByte('(')
		for i, e := range t.Elems {
			if i > 0 {
				b.WriteByte(',')
			}
			quoteLabel(&b, e)
		}
		b.WriteByte(')')
		return b.String()
	case t.Kind == Time, t.Kind == DateTime, t.Kind == Timestamp:
		if t.Precision > 0 {
			return t.Kind.String() + "(" + strconv.Itoa(t.Precision) + ")"
		}
		return t.Kind.String()
	}
	return t.Kind.String()
}

// Equal reports whether t and u are the same type, charset included.
func (t Type) Equal(u Type) bool {
	if t.Kind != u.Kind || t.Unsigned != u.Unsigned || t.Length != u.Length ||
		t.Precision != u.Precision || t.Scale != u.Scale || t.Charset != u.Charset ||
		len(t.Elems) != len(u.Elems) {
		return false
	}
	for i := range t.Elems {
		if t.Elems[i] != u.Elems[i] {
			return false
		}
	}
	return true
}

// quoteLabel writes an ENUM/SET label quoted as MySQL writes it in
// information_schema.COLUMNS.COLUMN_TYPE and SHOW CREATE TABLE.
func quoteLabel(b *strings.Builder, s string) {
	b.WriteByte('\'')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case 0:
			b.WriteString(`\0`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\\':
			b.WriteString(`\\`)
		case '\'':
			b.WriteString(`''`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('\'')
}

// Column returns the column named name (compared case-insensitively, as
// MySQL does), its index, and whether it exists.
func (t Table) Column(name string) (Column, int, bool) {
	for i, c := range t.Columns {
		if c.Name == name {
			return c, i, true
		}
	}
	for i, c := range t.Columns {
		if strings.EqualFold(c.Name, name) {
			return c, i, true
		}
	}
	return Column{}, -1, false
}

// KeyIndexes returns the column indexes of the key columns in key order. A
// key column that is not a column of the table gets -1.
func (t Table) KeyIndexes() []int {
	idx := make([]int, len(t.Key))
	for i, k := range t.Key {
		_, idx[i], _ = t.Column(k)
	}
	return idx
}

// Equal reports whether t and u describe the same table: names, columns
// (types with charsets) and key.
func (t Table) Equal(u Table) bool {
	if t.Database != u.Database || t.Name != u.Name || len(t.Columns) != len(u.Columns) || len(t.Key) != len(u.Key) {
		return false
	}
	for i, c := range t.Columns {
		d := u.Columns[i]
		if c.Name != d.Name || c.Nullable != d.Nullable || !c.Type.Equal(d.Type) {
			return false
		}
	}
	for i := range t.Key {
		if t.Key[i] != u.Key[i] {
			return false
		}
	}
	return true
}

// QualifiedName returns db.table (the bare name without a database), for
// error messages.
func (t Table) QualifiedName() string {
	if t.Database == "" {
		return t.Name
	}
	return t.Database + "." + t.Name
}

// ColumnError wraps err with the table and column it concerns.
func (t Table) ColumnError(col string, err error) error {
	return fmt.Errorf("%s column %s: %w", t.QualifiedName(), col, err)
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
