package event

import (
	"errors"
	"fmt"
	"github.com/syncline/syncline/schema"
	"strconv"
	"strings"

	"github.com/hamba/avro/v2"
)

// Avro names and properties of the event contract (docs/events.md).
const (
	// SourceNamespace is the namespace of the Source and SchemaChange records.
	SourceNamespace = "io.syncline"
	// PropType is the field property holding the canonical MySQL type.
	PropType = "mysql.type"
	// PropColumn is the field property holding the true column name when the
	// field name had to be sanitized.
	PropColumn = "mysql.column"
	// PropPrimaryKey is the Value record property listing the key columns.
	PropPrimaryKey = "mysql.primary_key"

	// localTimestampMicros is hamba/avro's union branch name for
	// local-timestamp-micros; see UnionValue.
	localTimestampMicros = "long.local-timestamp-micros"
)

// Namespace returns the Avro namespace of a topic: every character outside
// [A-Za-z0-9_.] becomes '_', and each dot-separated part that starts with a
// digit (or is empty) gets a leading '_'.
func Namespace(topic string) string {
	parts := strings.Split(topic, ".")
	for i, p := range parts {
		var b strings.Builder
		if p == "" || (p[0] >= '0' && p[0] <= '9') {
			b.WriteByte('_')
		}
		for _, r := range p {
			if isNameChar(r) {
				b.WriteRune(r)
			} else {
				b.WriteByte('_')
			}
		}
		parts[i] = b.String()
	}
	return strings.Join(parts, ".")
}

func isNameChar(r rune) bool {
	return r == '_' || (r >= 'A' && r <= 'Z') || (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9')
}

// validName reports whether s is a valid Avro name: [A-Za-z_][A-Za-z0-9_]*.
func validName(s string) bool {
	if s == "" || (s[0] >= '0' && s[0] <= '9') {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isNameChar(rune(s[i])) {
			return false
		}
	}
	return true
}

// SanitizeName returns the Avro field name for a column name on its own:
// every character outside [A-Za-z0-9_] becomes '_' and a leading digit gets a
// '_' prefix. FieldNames also resolves collisions.
func SanitizeName(name string) string {
	if validName(name) {
		return name
	}
	var b strings.Builder
	if name == "" || (name[0] >= '0' && name[0] <= '9') {
		b.WriteByte('_')
	}
	for _, r := range name {
		if isNameChar(r) {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

// FieldNames returns the Avro field name of each column, in table order.
// Valid names are kept; the others are sanitized (SanitizeName), and a
// sanitized name that collides with another field gets the suffix _2, _3, ...
// (valid names keep priority, so adding a column never renames another valid
// one).
func FieldNames(t schema.Table) []string {
	if names := fieldNames(t); names != nil {
		return names
	}
	names := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		names[i] = c.Name
	}
	return names
}

// fieldNames returns nil when every column name is a valid Avro name (the
// common case: no allocation), else the field names.
func fieldNames(t schema.Table) []string {
	ok := true
	for _, c := range t.Columns {
		if !validName(c.Name) {
			ok = false
			break
		}
	}
	if ok {
		return nil
	}
	names := make([]string, len(t.Columns))
	used := make(map[string]bool, len(t.Columns))
	for i, c := range t.Columns {
		if validName(c.Name) {
			names[i] = c.Name
			used[c.Name] = true
		}
	}
	for i, c := range t.Columns {
		if names[i] != "" {
			continue
		}
		base := SanitizeName(c.Name)
		name := base
		for n := 2; used[name]; n++ {
			name = base + "_" + strconv.Itoa(n)
		}
		names[i] = name
		used[name] = true
	}
	return names
}

// AvroType returns the Avro schema of a value of type t (without the null
// branch of nullable columns), per the "Types" table of docs/events.md.
func AvroType(t schema.Type) (avro.Schema, error) {
	switch k := t.Kind; {
	case k == schema.TinyInt, k == schema.SmallInt, k == schema.MediumInt, k == schema.Year:
		return avro.NewPrimitiveSchema(avro.Int, nil), nil
	case k == schema.Int:
		if t.Unsigned {
			return avro.NewPrimitiveSchema(avro.Long, nil), nil
		}
		return avro.NewPrimitiveSchema(avro.Int, nil), nil
	case k == schema.BigInt:
		if t.Unsigned {
			return avro.NewPrimitiveSchema(avro.Bytes, avro.NewDecimalLogicalSchema(20, 0)), nil
		}
		return avro.NewPrimitiveSchema(avro.Long, nil), nil
	case k == schema.Decimal:
		if t.Precision < 1 || t.Scale < 0 || t.Scale > t.Precision {
			return nil, fmt.Errorf("invalid %s", t)
		}
		return avro.NewPrimitiveSchema(avro.Bytes, avro.NewDecimalLogicalSchema(t.Precision, t.Scale)), nil
	case k == schema.Float:
		return avro.NewPrimitiveSchema(avro.Float, nil), nil
	case k == schema.Double:
		return avro.NewPrimitiveSchema(avro.Double, nil), nil
	case k == schema.UUID:
		return avro.NewPrimitiveSchema(avro.String, avro.NewPrimitiveLogicalSchema(avro.UUID)), nil
	case k.IsString():
		return avro.NewPrimitiveSchema(avro.String, nil), nil
	case k == schema.Bit, k.IsBinary(), k.IsGeometry():
		return avro.NewPrimitiveSchema(avro.Bytes, nil), nil
	case k == schema.Date:
		return avro.NewPrimitiveSchema(avro.Int, avro.NewPrimitiveLogicalSchema(avro.Date)), nil
	case k == schema.DateTime:
		return avro.NewPrimitiveSchema(avro.Long, avro.NewPrimitiveLogicalSchema(avro.LocalTimestampMicros)), nil
	case k == schema.Timestamp:
		return avro.NewPrimitiveSchema(avro.Long, avro.NewPrimitiveLogicalSchema(avro.TimestampMicros)), nil
	case k == schema.Time:
		return avro.NewPrimitiveSchema(avro.Long, nil), nil
	}
	return nil, fmt.Errorf("%w: %s", schema.ErrUnsupportedType, t.Kind)
}

// field builds the Avro field of column c named name.
func field(c schema.Column, name string) (*avro.Field, error) {
	typ, err := AvroType(c.Type)
	if err != nil {
		return nil, err
	}
	props := map[string]any{PropType: c.Type.String()}
	if name != c.Name {
		props[PropColumn] = c.Name
	}
	if !c.Nullable {
		return avro.NewField(name, typ, avro.WithProps(props))
	}
	u, err := avro.NewUnionSchema([]avro.Schema{avro.NewNullSchema(), typ})
	if err != nil {
		return nil, err
	}
	return avro.NewField(name, u, avro.WithDefault(nil), avro.WithProps(props))
}

// ValueSchema returns the record <namespace>.Value: one field per column in
// table order, nullable columns as ["null", T] with default null, each field
// with its mysql.type (and mysql.column when renamed) property, and the record
// property mysql.primary_key.
func ValueSchema(t schema.Table, namespace string) (*avro.RecordSchema, error) {
	names := FieldNames(t)
	fields := make([]*avro.Field, len(t.Columns))
	for i, c := range t.Columns {
		f, err := field(c, names[i])
		if err != nil {
			return nil, t.ColumnError(c.Name, err)
		}
		fields[i] = f
	}
	key := append([]string{}, t.Key...)
	rec, err := avro.NewRecordSchema("Value", namespace, fields, avro.WithProps(map[string]any{PropPrimaryKey: key}))
	if err != nil {
		return nil, fmt.Errorf("value schema of %s: %w", t.QualifiedName(), err)
	}
	return rec, nil
}

// KeySchema returns the record <namespace>.Key: the key columns in key order,
// with the same field names, types and properties as in the Value record.
func KeySchema(t schema.Table, namespace string) (*avro.RecordSchema, error) {
	if len(t.Key) == 0 {
		return nil, fmt.Errorf("key schema of %s: %w", t.QualifiedName(), schema.ErrNoKey)
	}
	names := FieldNames(t)
	fields := make([]*avro.Field, len(t.Key))
	for i, k := range t.Key {
		c, idx, ok := t.Column(k)
		if !ok {
			return nil, fmt.Errorf("key schema of %s: key column %s is not a column", t.QualifiedName(), k)
		}
		f, err := field(c, names[idx])
		if err != nil {
			return nil, t.ColumnError(c.Name, err)
		}
		fields[i] = f
	}
	rec, err := avro.NewRecordSchema("Key", namespace, fields)
	if err != nil {
		return nil, fmt.Errorf("key schema of %s: %w", t.QualifiedName(), err)
	}
	return rec, nil
}

// EnvelopeSchema returns the change envelope <namespace>.Envelope: before and
// after as ["null", Value] (default null), source as io.syncline.Source, op
// and ts_ms.
//
// With hamba/avro, a record inside a union is given as a one-entry map keyed
// by the record's full name: {"<namespace>.Value": row}; see UnionRecord.
func EnvelopeSchema(t schema.Table, namespace string) (*avro.RecordSchema, error) {
	value, err := ValueSchema(t, namespace)
	if err != nil {
		return nil, err
	}
	source, err := SourceSchema()
	if err != nil {
		return nil, err
	}
	before, err := avro.NewUnionSchema([]avro.Schema{avro.NewNullSchema(), value})
	if err != nil {
		return nil, err
	}
	after, err := avro.NewUnionSchema([]avro.Schema{avro.NewNullSchema(), avro.NewRefSchema(value)})
	if err != nil {
		return nil, err
	}
	fields, err := newFields(
		fieldSpec{"before", before, true},
		fieldSpec{"after", after, true},
		fieldSpec{"source", source, false},
		fieldSpec{"op", avro.NewPrimitiveSchema(avro.String, nil), false},
		fieldSpec{"ts_ms", avro.NewPrimitiveSchema(avro.Long, nil), false},
	)
	if err != nil {
		return nil, err
	}
	rec, err := avro.NewRecordSchema("Envelope", namespace, fields)
	if err != nil {
		return nil, fmt.Errorf("envelope schema of %s: %w", t.QualifiedName(), err)
	}
	return rec, nil
}

// UnionRecord wraps a record value for a ["null", record] union field the way
// hamba/avro expects it in a map: {fullName: value}; nil stays nil.
func UnionRecord(s avro.NamedSchema, value map[string]any) any {
	if value == nil {
		return nil
	}
	return map[string]any{s.FullName(): value}
}

type fieldSpec struct {
	name        string
	typ         avro.Schema
	nullDefault bool
}

func newFields(specs ...fieldSpec) ([]*avro.Field, error) {
	fields := make([]*avro.Field, len(specs))
	for i, s := range specs {
		var opts []avro.SchemaOption
		if s.nullDefault {
			opts = append(opts, avro.WithDefault(nil))
		}
		f, err := avro.NewField(s.name, s.typ, opts...)
		if err != nil {
			return nil, fmt.Errorf("field %s: %w", s.name, err)
		}
		fields[i] = f
	}
	return fields, nil
}

func nullable(t avro.Schema) avro.Schema {
	u, err := avro.NewUnionSchema([]avro.Schema{avro.NewNullSchema(), t})
	if err != nil {
		panic(err) // cannot happen: null plus a primitive is a valid union
	}
	return u
}

// SourceSchema returns the record io.syncline.Source of docs/events.md.
func SourceSchema() (*avro.RecordSchema, error) {
	str := func() avro.Schema { return avro.NewPrimitiveSchema(avro.String, nil) }
	long := func() avro.Schema { return avro.NewPrimitiveSchema(avro.Long, nil) }
	fields, err := newFields(
		fieldSpec{"version", long(), false},
		fieldSpec{"name", str(), false},
		fieldSpec{"db", str(), false},
		fieldSpec{"table", str(), false},
		fieldSpec{"server_id", long(), false},
		fieldSpec{"gtid", nullable(str()), true},
		fieldSpec{"file", str(), false},
		fieldSpec{"pos", long(), false},
		fieldSpec{"row", avro.NewPrimitiveSchema(avro.Int, nil), false},
		fieldSpec{"ts_ms", long(), false},
		fieldSpec{"snapshot", str(), false},
	)
	if err != nil {
		return nil, err
	}
	return avro.NewRecordSchema("Source", SourceNamespace, fields)
}

// SchemaChangeSchema returns the record io.syncline.SchemaChange of the
// schema-change topic (docs/events.md).
func SchemaChangeSchema() (*avro.RecordSchema, error) {
	source, err := SourceSchema()
	if err != nil {
		return nil, err
	}
	str := func() avro.Schema { return avro.NewPrimitiveSchema(avro.String, nil) }
	fields, err := newFields(
		fieldSpec{"source", source, false},
		fieldSpec{"db", str(), false},
		fieldSpec{"table", nullable(str()), true},
		fieldSpec{"ddl", str(), false},
		fieldSpec{"kind", str(), false},
		fieldSpec{"new_table", nullable(str()), true},
		fieldSpec{"renamed_columns", avro.NewMapSchema(str()), false},
		fieldSpec{"columns", nullable(str()), true},
		fieldSpec{"ts_ms", avro.NewPrimitiveSchema(avro.Long, nil), false},
	)
	if err != nil {
		return nil, err
	}
	return avro.NewRecordSchema("SchemaChange", SourceNamespace, fields)
}

// TableFromValueSchema rebuilds a Table from a Value record schema, or from
// an Envelope schema (through its after field), as registered by capture:
// column names (mysql.column, else the field name), types (mysql.type),
// nullability (a union with null) and key (mysql.primary_key). Database, Name
// and the charsets are not in the schema and stay empty.
func TableFromValueSchema(s *avro.RecordSchema) (schema.Table, error) {
	if s == nil {
		return schema.Table{}, errors.New("table from value schema: nil schema")
	}
	rec := s
	if v := envelopeValue(s); v != nil {
		rec = v
	}
	var t schema.Table
	for _, f := range rec.Fields() {
		name := f.Name()
		if p, ok := f.Prop(PropColumn).(string); ok && p != "" {
			name = p
		}
		ts, ok := f.Prop(PropType).(string)
		if !ok {
			return schema.Table{}, fmt.Errorf("table from schema %s: field %s has no %s property", rec.FullName(), f.Name(), PropType)
		}
		typ, err := schema.ParseType(ts)
		if err != nil {
			return schema.Table{}, fmt.Errorf("table from schema %s: field %s: %w", rec.FullName(), f.Name(), err)
		}
		c := schema.Column{Name: name, Type: typ}
		if u, ok := f.Type().(*avro.UnionSchema); ok && u.Nullable() {
			c.Nullable = true
		}
		t.Columns = append(t.Columns, c)
	}
	switch key := rec.Prop(PropPrimaryKey).(type) {
	case []string:
		t.Key = append([]string{}, key...)
	case []any:
		for _, k := range key {
			ks, ok := k.(string)
			if !ok {
				return schema.Table{}, fmt.Errorf("table from schema %s: %s holds %T, want strings", rec.FullName(), PropPrimaryKey, k)
			}
			t.Key = append(t.Key, ks)
		}
	case nil:
	default:
		return schema.Table{}, fmt.Errorf("table from schema %s: %s is %T, want an array of strings", rec.FullName(), PropPrimaryKey, key)
	}
	for _, k := range t.Key {
		if _, _, ok := t.Column(k); !ok {
			return schema.Table{}, fmt.Errorf("table from schema %s: key column %s is not a field", rec.FullName(), k)
		}
	}
	return t, nil
}

// envelopeValue returns the Value record of an Envelope schema, or nil.
func envelopeValue(s *avro.RecordSchema) *avro.RecordSchema {
	for _, f := range s.Fields() {
		if f.Name() != "after" && f.Name() != "before" {
			continue
		}
		u, ok := f.Type().(*avro.UnionSchema)
		if !ok {
			continue
		}
		for _, b := range u.Types() {
			if r, ok := b.(*avro.RefSchema); ok {
				b = r.Schema()
			}
			if r, ok := b.(*avro.RecordSchema); ok {
				return r
			}
		}
	}
	return nil
}

// KeyOf returns the Key record map of a Value record map.
func KeyOf(t schema.Table, value map[string]any) map[string]any {
	names := fieldNames(t)
	m := make(map[string]any, len(t.Key))
	for _, k := range t.Key {
		c, i, ok := t.Column(k)
		if !ok {
			continue
		}
		name := c.Name
		if names != nil {
			name = names[i]
		}
		m[name] = value[name]
	}
	return m
}

// UnionValue returns v as hamba/avro encodes it in column c's field: the
// branch-named union map for a nullable DATETIME (hamba cannot resolve the
// local-timestamp-micros branch from a bare value), else v.
func UnionValue(c schema.Column, v any) any {
	if c.Nullable && c.Type.Kind == schema.DateTime && v != nil {
		return map[string]any{localTimestampMicros: v}
	}
	return v
}

// ValueMap builds the Value record map of hamba/avro from row values in
// column order: keys are the field names, nullable DATETIME values are
// wrapped for their union (UnionValue).
func ValueMap(t schema.Table, vals []any) map[string]any {
	names := fieldNames(t)
	m := make(map[string]any, len(t.Columns))
	for i, c := range t.Columns {
		name := c.Name
		if names != nil {
			name = names[i]
		}
		m[name] = UnionValue(c, vals[i])
	}
	return m
}
