package event

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

// EnvelopeReader is what EnvelopeCodec.Decode reuses from one record to
// the next: the Avro reader, whose byte slab the strings of successive
// records share instead of one slab each, and the event it decodes into.
// One goroutine uses it.
type EnvelopeReader struct {
	rd *avro.Reader
	ev Event
}

// NewEnvelopeReader returns a reader for EnvelopeCodec.Decode.
func NewEnvelopeReader() *EnvelopeReader {
	return &EnvelopeReader{rd: avro.NewReader(nil, 0, avro.WithReaderConfig(readerAPI))}
}

// EnvelopeCodec decodes the change envelopes written with one schema id. It
// is immutable and safe for concurrent use; each caller brings its reader.
type EnvelopeCodec struct {
	id int
	// table is the writer's table shape (Database and Name are empty; they
	// come from each event's source block).
	table schema.Table
	// fields read the envelope's fields in schema order. The before image
	// is only skipped (noting whether it is there): upserts do not use it.
	fields []envelopeField
	// before is the index of the before field; beforeRow decodes it, for
	// deletes, in a second pass.
	before    int
	beforeRow valueDecoder
}

// envelopeField reads one field of the envelope.
type envelopeField struct {
	name string
	// read decodes the field into the event (or skips what the event does
	// not hold).
	read func(r *avro.Reader, ev *Event)
	// skip passes over the field.
	skip func(r *avro.Reader)
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

// Event is one decoded change envelope.
type Event struct {
	// Before and After are the row images (maps keyed by column name);
	// Before is decoded for deletes only.
	Before, After map[string]any
	// HasBefore reports that the before image is not null.
	HasBefore bool
	// Op is c, u, d or r.
	Op string
	// Version is source.version, the ordering version.
	Version int64
	// DB and Table are the true source database and table names.
	DB, Table string
	// SourceTS is source.ts_ms, the source commit time.
	SourceTS time.Time
}

// ID returns the schema id the codec decodes.
func (c *EnvelopeCodec) ID() int { return c.id }

// Table returns the writer's table shape; Database and Name are empty
// (they come from each event's source block).
func (c *EnvelopeCodec) Table() schema.Table { return c.table }

// NewEnvelopeCodec compiles the decoder of an Envelope schema.
func NewEnvelopeCodec(id int, s avro.Schema) (*EnvelopeCodec, error) {
	rec, ok := s.(*avro.RecordSchema)
	if !ok {
		return nil, fmt.Errorf("schema %d is a %s, not an envelope record", id, s.Type())
	}
	t, err := TableFromValueSchema(rec)
	if err != nil {
		return nil, fmt.Errorf("schema %d: %w", id, err)
	}
	if len(t.Columns) == 0 {
		return nil, fmt.Errorf("schema %d (%s) is not a change envelope: it has no before/after Value record", id, rec.FullName())
	}
	c := &EnvelopeCodec{id: id, table: t}
	seen := map[string]bool{}
	for i, f := range rec.Fields() {
		ef, err := c.compileField(i, f)
		if err != nil {
			return nil, fmt.Errorf("schema %d field %s: %w", id, f.Name(), err)
		}
		seen[f.Name()] = true
		c.fields = append(c.fields, ef)
	}
	for _, need := range []string{"after", "before", "source", "op"} {
		if !seen[need] {
			return nil, fmt.Errorf("schema %d (%s) is not a change envelope: no %s field", id, rec.FullName(), need)
		}
	}
	return c, nil
}

// compileField compiles the reader of the envelope's field number i.
func (c *EnvelopeCodec) compileField(i int, f *avro.Field) (envelopeField, error) {
	ef := envelopeField{name: f.Name(), skip: compileSkip(f.Type())}
	switch f.Name() {
	case "before":
		dec, err := compileNullableRow(f.Type())
		if err != nil {
			return ef, err
		}
		c.before, c.beforeRow = i, dec
		ef.read = skipNullableRow(f.Type().(*avro.UnionSchema))
	case "after":
		dec, err := compileNullableRow(f.Type())
		if err != nil {
			return ef, err
		}
		ef.read = func(r *avro.Reader, ev *Event) { ev.After, _ = dec(r).(map[string]any) }
	case "op":
		if isPlain(f.Type(), avro.String) {
			ef.read = func(r *avro.Reader, ev *Event) { ev.Op = r.ReadString() }
		}
	case "source":
		ef.read = compileSource(f.Type())
	}
	if ef.read == nil {
		// Not used, or of a type that gives the event nothing (an op that
		// is not a string is an unknown op).
		skip := ef.skip
		ef.read = func(r *avro.Reader, _ *Event) { skip(r) }
	}
	return ef, nil
}

// skipNullableRow returns the first-pass reader of the before field, a
// union of null and the Value record: it notes whether the image is there
// and skips it.
func skipNullableRow(u *avro.UnionSchema) func(*avro.Reader, *Event) {
	types := u.Types()
	skips := make([]func(*avro.Reader), len(types))
	for i, b := range types {
		skips[i] = compileSkip(b)
	}
	return func(r *avro.Reader, ev *Event) {
		idx := r.ReadLong()
		if idx < 0 || int(idx) >= len(skips) {
			r.ReportError("decode union", fmt.Sprintf("branch %d of %d", idx, len(skips)))
			return
		}
		if types[idx].Type() != avro.Null {
			ev.HasBefore = true
		}
		skips[idx](r)
	}
}

// compileSource compiles the reader of the source block: version, db, table
// and ts_ms go into the event, the other fields are skipped. A field of an
// unexpected type is skipped too, leaving the event's field zero.
func compileSource(s avro.Schema) func(*avro.Reader, *Event) {
	if r, ok := s.(*avro.RefSchema); ok {
		s = r.Schema()
	}
	rec, ok := s.(*avro.RecordSchema)
	if !ok {
		skip := compileSkip(s)
		return func(r *avro.Reader, _ *Event) { skip(r) }
	}
	steps := make([]func(*avro.Reader, *Event), len(rec.Fields()))
	for i, f := range rec.Fields() {
		t := f.Type()
		switch {
		case f.Name() == "version" && isPlain(t, avro.Long):
			steps[i] = func(r *avro.Reader, ev *Event) { ev.Version = r.ReadLong() }
		case f.Name() == "db" && isPlain(t, avro.String):
			steps[i] = func(r *avro.Reader, ev *Event) { ev.DB = r.ReadString() }
		case f.Name() == "table" && isPlain(t, avro.String):
			steps[i] = func(r *avro.Reader, ev *Event) { ev.Table = r.ReadString() }
		case f.Name() == "ts_ms" && isPlain(t, avro.Long):
			steps[i] = func(r *avro.Reader, ev *Event) { ev.SourceTS = time.UnixMilli(r.ReadLong()) }
		default:
			skip := compileSkip(t)
			steps[i] = func(r *avro.Reader, _ *Event) { skip(r) }
		}
	}
	return func(r *avro.Reader, ev *Event) {
		for _, step := range steps {
			step(r, ev)
		}
	}
}

// isPlain reports whether s is the primitive type t without a logical type.
func isPlain(s avro.Schema, t avro.Type) bool {
	if s.Type() != t {
		return false
	}
	ls, ok := s.(avro.LogicalTypeSchema)
	return !ok || ls.Logical() == nil
}

// compileSkip returns a function that passes over one value of schema s
// without decoding it.
func compileSkip(s avro.Schema) func(*avro.Reader) {
	if r, ok := s.(*avro.RefSchema); ok {
		s = r.Schema()
	}
	switch s.Type() {
	case avro.Null:
		return func(*avro.Reader) {}
	case avro.Boolean:
		return (*avro.Reader).SkipBool
	case avro.Int:
		return (*avro.Reader).SkipInt
	case avro.Long:
		return (*avro.Reader).SkipLong
	case avro.Float:
		return (*avro.Reader).SkipFloat
	case avro.Double:
		return (*avro.Reader).SkipDouble
	case avro.String:
		return (*avro.Reader).SkipString
	case avro.Bytes:
		return (*avro.Reader).SkipBytes
	case avro.Enum:
		return (*avro.Reader).SkipInt
	case avro.Fixed:
		n := s.(*avro.FixedSchema).Size()
		return func(r *avro.Reader) { r.SkipNBytes(n) }
	case avro.Union:
		u := s.(*avro.UnionSchema)
		branches := make([]func(*avro.Reader), len(u.Types()))
		for i, b := range u.Types() {
			branches[i] = compileSkip(b)
		}
		return func(r *avro.Reader) {
			idx := r.ReadLong()
			if idx < 0 || int(idx) >= len(branches) {
				r.ReportError("skip union", fmt.Sprintf("branch %d of %d", idx, len(branches)))
				return
			}
			branches[idx](r)
		}
	case avro.Record:
		fields := s.(*avro.RecordSchema).Fields()
		skips := make([]func(*avro.Reader), len(fields))
		for i, f := range fields {
			skips[i] = compileSkip(f.Type())
		}
		return func(r *avro.Reader) {
			for _, skip := range skips {
				skip(r)
			}
		}
	}
	// Arrays and maps do not occur in envelopes; read them generically.
	return func(r *avro.Reader) { r.ReadNext(s) }
}

// Decode decodes an envelope body (after the Confluent frame) with er. The
// before image is decoded only for a delete, the one operation that uses
// it.
func (c *EnvelopeCodec) Decode(er *EnvelopeReader, body []byte) (Event, error) {
	rd, ev := er.rd, &er.ev
	rd.Reset(body)
	rd.Error = nil
	*ev = Event{}
	for _, f := range c.fields {
		f.read(rd, ev)
		if rd.Error != nil {
			return Event{}, fmt.Errorf("decode envelope field %s: %w", f.name, rd.Error)
		}
	}
	if ev.DB == "" || ev.Table == "" {
		return Event{}, errors.New("decode envelope: source.db or source.table is empty")
	}
	switch ev.Op {
	case "c", "r", "u":
		if ev.After == nil {
			return Event{}, fmt.Errorf("decode envelope: op %q without after", ev.Op)
		}
	case "d":
		if !ev.HasBefore {
			return Event{}, errors.New("decode envelope: op \"d\" without before")
		}
		if err := c.decodeBefore(rd, body, ev); err != nil {
			return Event{}, err
		}
	default:
		return Event{}, fmt.Errorf("decode envelope: unknown op %q", ev.Op)
	}
	return *ev, nil
}

// decodeBefore reads body again up to the before image and decodes it.
func (c *EnvelopeCodec) decodeBefore(rd *avro.Reader, body []byte, ev *Event) error {
	rd.Reset(body)
	for _, f := range c.fields[:c.before] {
		f.skip(rd)
	}
	ev.Before, _ = c.beforeRow(rd).(map[string]any)
	if rd.Error != nil {
		return fmt.Errorf("decode envelope field before: %w", rd.Error)
	}
	return nil
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
				if p, ok := f.Prop(PropColumn).(string); ok && p != "" {
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
			d := newDecimalDecoder(s.(avro.LogicalTypeSchema).Logical().(*avro.DecimalLogicalSchema).Scale())
			return func(r *avro.Reader) any { return d.rat(r.ReadBytes()) }, nil
		}
		return func(r *avro.Reader) any {
			// The reader's slab holds the values that follow: appending to
			// this one must not overwrite them.
			b := r.ReadBytes()
			return b[:len(b):len(b)]
		}, nil
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

// maxFastScale is the largest scale whose power of ten fits an int64.
const maxFastScale = 18

// decimalDecoder turns the bytes of an Avro decimal of one scale into a
// *big.Rat, with the scale's power of ten computed once.
type decimalDecoder struct {
	den   *big.Int // 10^scale; read only
	scale int
	fast  bool // scale <= maxFastScale
}

func newDecimalDecoder(scale int) decimalDecoder {
	return decimalDecoder{
		den:   new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(scale)), nil),
		scale: scale, fast: scale >= 0 && scale <= maxFastScale,
	}
}

// rat decodes an Avro decimal: big-endian two's complement unscaled value,
// over the scale's power of ten. Values of at most 8 bytes take no big.Int
// arithmetic.
func (d decimalDecoder) rat(b []byte) *big.Rat {
	if len(b) <= 8 && d.fast {
		var n int64
		if len(b) > 0 && b[0]&0x80 != 0 {
			n = -1 // sign extension
		}
		for _, c := range b {
			n = n<<8 | int64(c)
		}
		mag := uint64(n)
		if n < 0 {
			mag = -mag
		}
		return schema.RatOfDecimal(n < 0, mag, d.scale)
	}
	num := new(big.Int).SetBytes(b)
	if len(b) > 0 && b[0]&0x80 != 0 {
		num.Sub(num, new(big.Int).Lsh(big.NewInt(1), uint(len(b))*8))
	}
	return new(big.Rat).SetFrac(num, d.den)
}

// SchemaChangeCodec decodes schema-change events.
type SchemaChangeCodec struct {
	dec valueDecoder
}

// NewSchemaChangeCodec compiles the decoder of the schema-change schema s
// (SchemaChangeSchema, or a later version of it).
func NewSchemaChangeCodec(s avro.Schema) (*SchemaChangeCodec, error) {
	if _, ok := s.(*avro.RecordSchema); !ok {
		return nil, fmt.Errorf("schema-change schema is a %s, not a record", s.Type())
	}
	dec, err := compile(s)
	if err != nil {
		return nil, err
	}
	return &SchemaChangeCodec{dec: dec}, nil
}

// Decode decodes one schema-change event body.
func (c *SchemaChangeCodec) Decode(body []byte) (SchemaChange, error) {
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
