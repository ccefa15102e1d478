package apply

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/hamba/avro/v2"

	"github.com/syncline/syncline/schema"
)

// readerAPI reads without hamba's default 1 MiB cap on bytes and strings: a
// LONGBLOB or LONGTEXT value may be as large as a Kafka record.
var readerAPI = avro.Config{MaxByteSliceSize: -1}.Freeze()

// valueDecoder reads one Avro value of a known schema.
type valueDecoder func(r *avro.Reader) any

// envelopeCodec decodes the change envelopes written with one schema id.
type envelopeCodec struct {
	id int
	// table is the writer's table shape (Database and Name are empty; they
	// come from each event's source block).
	table schema.Table
	// fields decode the envelope's fields in schema order.
	fields []envelopeField
}

type envelopeField struct {
	name string
	dec  valueDecoder
}

// rowDecoder decodes a Value record into a map keyed by column name.
type rowDecoder struct {
	columns []string
	decs    []valueDecoder
}

func (d *rowDecoder) decode(r *avro.Reader) any {
	m := make(map[string]any, len(d.columns))
	for i, dec := range d.decs {
		m[d.columns[i]] = dec(r)
	}
	return m
}

// event is one decoded change envelope.
type event struct {
	before, after map[string]any
	op            string
	version       int64
	db, table     string
	sourceTS      time.Time
}

// newEnvelopeCodec compiles the decoder of an Envelope schema.
func newEnvelopeCodec(id int, s avro.Schema) (*envelopeCodec, error) {
	rec, ok := s.(*avro.RecordSchema)
	if !ok {
		return nil, fmt.Errorf("schema %d is a %s, not an envelope record", id, s.Type())
	}
	t, err := schema.TableFromValueSchema(rec)
	if err != nil {
		return nil, fmt.Errorf("schema %d: %w", id, err)
	}
	if len(t.Columns) == 0 {
		return nil, fmt.Errorf("schema %d (%s) is not a change envelope: it has no before/after Value record", id, rec.FullName())
	}
	c := &envelopeCodec{id: id, table: t}
	seen := map[string]bool{}
	for _, f := range rec.Fields() {
		var dec valueDecoder
		switch f.Name() {
		case "before", "after":
			dec, err = compileNullableRow(f.Type())
		default:
			dec, err = compile(f.Type())
		}
		if err != nil {
			return nil, fmt.Errorf("schema %d field %s: %w", id, f.Name(), err)
		}
		seen[f.Name()] = true
		c.fields = append(c.fields, envelopeField{name: f.Name(), dec: dec})
	}
	for _, need := range []string{"after", "before", "source", "op"} {
		if !seen[need] {
			return nil, fmt.Errorf("schema %d (%s) is not a change envelope: no %s field", id, rec.FullName(), need)
		}
	}
	return c, nil
}

// decode decodes an envelope body (after the Confluent frame).
func (c *envelopeCodec) decode(body []byte) (event, error) {
	r := avro.NewReader(nil, 0, avro.WithReaderConfig(readerAPI))
	r.Reset(body)
	var ev event
	for _, f := range c.fields {
		v := f.dec(r)
		if r.Error != nil {
			return event{}, fmt.Errorf("decode envelope field %s: %w", f.name, r.Error)
		}
		switch f.name {
		case "before":
			ev.before, _ = v.(map[string]any)
		case "after":
			ev.after, _ = v.(map[string]any)
		case "op":
			ev.op, _ = v.(string)
		case "source":
			src, _ := v.(map[string]any)
			ev.version, _ = src["version"].(int64)
			ev.db, _ = src["db"].(string)
			ev.table, _ = src["table"].(string)
			if ms, ok := src["ts_ms"].(int64); ok {
				ev.sourceTS = time.UnixMilli(ms)
			}
		}
	}
	if ev.db == "" || ev.table == "" {
		return event{}, errors.New("decode envelope: source.db or source.table is empty")
	}
	switch ev.op {
	case "c", "r", "u":
		if ev.after == nil {
			return event{}, fmt.Errorf("decode envelope: op %q without after", ev.op)
		}
	case "d":
		if ev.before == nil {
			return event{}, errors.New("decode envelope: op \"d\" without before")
		}
	default:
		return event{}, fmt.Errorf("decode envelope: unknown op %q", ev.op)
	}
	return ev, nil
}

// compileNullableRow compiles ["null", Value] of the before and after
// fields into a decoder giving map[string]any keyed by column name, or nil.
func compileNullableRow(s avro.Schema) (valueDecoder, error) {
	u, ok := s.(*avro.UnionSchema)
	if !ok {
		return nil, fmt.Errorf("is %s, want a union of null and the Value record", s.Type())
	}
	branches := make([]valueDecoder, len(u.Types()))
	for i, b := range u.Types() {
		if r, ok := b.(*avro.RefSchema); ok {
			b = r.Schema()
		}
		switch b := b.(type) {
		case *avro.NullSchema:
			branches[i] = func(*avro.Reader) any { return nil }
		case *avro.RecordSchema:
			rd := &rowDecoder{}
			for _, f := range b.Fields() {
				name := f.Name()
				if p, ok := f.Prop(schema.PropColumn).(string); ok && p != "" {
					name = p
				}
				dec, err := compile(f.Type())
				if err != nil {
					return nil, fmt.Errorf("column %s: %w", name, err)
				}
				rd.columns = append(rd.columns, name)
				rd.decs = append(rd.decs, dec)
			}
			branches[i] = rd.decode
		default:
			return nil, fmt.Errorf("union branch %s, want null or the Value record", b.Type())
		}
	}
	return unionDecoder(branches), nil
}

func unionDecoder(branches []valueDecoder) valueDecoder {
	return func(r *avro.Reader) any {
		idx := r.ReadLong()
		if idx < 0 || int(idx) >= len(branches) {
			r.ReportError("decode union", fmt.Sprintf("branch %d of %d", idx, len(branches)))
			return nil
		}
		return branches[idx](r)
	}
}

// compile returns the decoder of one Avro schema, giving the Go values
// documented on Change.
func compile(s avro.Schema) (valueDecoder, error) {
	if r, ok := s.(*avro.RefSchema); ok {
		s = r.Schema()
	}
	var logical avro.LogicalType
	if ls, ok := s.(avro.LogicalTypeSchema); ok && ls.Logical() != nil {
		logical = ls.Logical().Type()
	}
	switch s.Type() {
	case avro.Null:
		return func(*avro.Reader) any { return nil }, nil
	case avro.Boolean:
		return func(r *avro.Reader) any { return r.ReadBool() }, nil
	case avro.Int:
		if logical == avro.Date {
			return func(r *avro.Reader) any {
				return time.Unix(int64(r.ReadInt())*86400, 0).UTC()
			}, nil
		}
		return func(r *avro.Reader) any { return r.ReadInt() }, nil
	case avro.Long:
		switch logical {
		case avro.TimestampMicros, avro.LocalTimestampMicros:
			return func(r *avro.Reader) any { return time.UnixMicro(r.ReadLong()).UTC() }, nil
		case avro.TimestampMillis, avro.LocalTimestampMillis:
			return func(r *avro.Reader) any { return time.UnixMilli(r.ReadLong()).UTC() }, nil
		}
		return func(r *avro.Reader) any { return r.ReadLong() }, nil
	case avro.Float:
		return func(r *avro.Reader) any { return r.ReadFloat() }, nil
	case avro.Double:
		return func(r *avro.Reader) any { return r.ReadDouble() }, nil
	case avro.String:
		return func(r *avro.Reader) any { return r.ReadString() }, nil
	case avro.Bytes:
		if logical == avro.Decimal {
			scale := s.(avro.LogicalTypeSchema).Logical().(*avro.DecimalLogicalSchema).Scale()
			return func(r *avro.Reader) any { return ratFromBytes(r.ReadBytes(), scale) }, nil
		}
		return func(r *avro.Reader) any { return r.ReadBytes() }, nil
	case avro.Union:
		u := s.(*avro.UnionSchema)
		branches := make([]valueDecoder, len(u.Types()))
		for i, b := range u.Types() {
			d, err := compile(b)
			if err != nil {
				return nil, err
			}
			branches[i] = d
		}
		return unionDecoder(branches), nil
	case avro.Record:
		rec := s.(*avro.RecordSchema)
		names := make([]string, len(rec.Fields()))
		decs := make([]valueDecoder, len(rec.Fields()))
		for i, f := range rec.Fields() {
			d, err := compile(f.Type())
			if err != nil {
				return nil, err
			}
			names[i], decs[i] = f.Name(), d
		}
		return func(r *avro.Reader) any {
			m := make(map[string]any, len(names))
			for i, d := range decs {
				m[names[i]] = d(r)
			}
			return m
		}, nil
	}
	// Maps, arrays, enums and fixed do not occur in row values; read them
	// generically.
	return func(r *avro.Reader) any { return r.ReadNext(s) }, nil
}

// ratFromBytes decodes an Avro decimal: big-endian two's complement
// unscaled value, then the scale.
func ratFromBytes(b []byte, scale int) *big.Rat {
	num := new(big.Int).SetBytes(b)
	if len(b) > 0 && b[0]&0x80 != 0 {
		num.Sub(num, new(big.Int).Lsh(big.NewInt(1), uint(len(b))*8))
	}
	den := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil)
	return new(big.Rat).SetFrac(num, den)
}

// schemaChangeCodec decodes schema-change events.
type schemaChangeCodec struct {
	dec valueDecoder
}

func newSchemaChangeCodec(s avro.Schema) (*schemaChangeCodec, error) {
	if _, ok := s.(*avro.RecordSchema); !ok {
		return nil, fmt.Errorf("schema-change schema is a %s, not a record", s.Type())
	}
	dec, err := compile(s)
	if err != nil {
		return nil, err
	}
	return &schemaChangeCodec{dec: dec}, nil
}

// decode decodes one schema-change event body.
func (c *schemaChangeCodec) decode(body []byte) (SchemaChange, error) {
	r := avro.NewReader(nil, 0, avro.WithReaderConfig(readerAPI))
	r.Reset(body)
	v := c.dec(r)
	if r.Error != nil {
		return SchemaChange{}, fmt.Errorf("decode schema change: %w", r.Error)
	}
	m, _ := v.(map[string]any)
	var ev SchemaChange
	src, _ := m["source"].(map[string]any)
	ev.Version, _ = src["version"].(int64)
	if ms, ok := src["ts_ms"].(int64); ok {
		ev.SourceTS = time.UnixMilli(ms)
	}
	ev.Database, _ = m["db"].(string)
	ev.Table, _ = m["table"].(string)
	ev.DDL, _ = m["ddl"].(string)
	ev.Kind, _ = m["kind"].(string)
	if nt, ok := m["new_table"].(string); ok && nt != "" {
		ev.NewDatabase, ev.NewTable = ev.Database, nt
		if db, t, ok := splitQualified(nt); ok {
			ev.NewDatabase, ev.NewTable = db, t
		}
	}
	if rc, ok := m["renamed_columns"].(map[string]any); ok && len(rc) > 0 {
		ev.RenamedColumns = make(map[string]string, len(rc))
		for k, v := range rc {
			if s, ok := v.(string); ok {
				ev.RenamedColumns[k] = s
			}
		}
	}
	if cols, ok := m["columns"].(string); ok && cols != "" {
		var raw []struct {
			Name     string `json:"name"`
			Type     string `json:"type"`
			Nullable bool   `json:"nullable"`
		}
		if err := json.Unmarshal([]byte(cols), &raw); err != nil {
			return SchemaChange{}, fmt.Errorf("decode schema change columns of %s.%s: %w", ev.Database, ev.Table, err)
		}
		ev.Columns = make([]schema.Column, len(raw))
		for i, c := range raw {
			typ, err := schema.ParseType(c.Type)
			if err != nil {
				return SchemaChange{}, fmt.Errorf("decode schema change columns of %s.%s: column %s: %w", ev.Database, ev.Table, c.Name, err)
			}
			ev.Columns[i] = schema.Column{Name: c.Name, Type: typ, Nullable: c.Nullable}
		}
	}
	if ev.Database == "" || ev.Kind == "" {
		return SchemaChange{}, errors.New("decode schema change: db or kind is empty")
	}
	return ev, nil
}

// splitQualified splits "db.table" written by capture for a rename into
// another database. Names containing dots are ambiguous there; the first
// dot is taken.
func splitQualified(s string) (string, string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == '.' {
			return s[:i], s[i+1:], true
		}
	}
	return "", "", false
}
