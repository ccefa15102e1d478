package event

import (
	"context"
	"encoding/json"
	"errors"
	"github.com/syncline/syncline/schema"
	"github.com/syncline/syncline/schema/schematest"
	"math"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hamba/avro/v2"
)

func TestFieldNames(t *testing.T) {
	for topic, want := range map[string]string{
		"syncline.shop.orders":    "syncline.shop.orders",
		"syncline.my-db.2024_log": "syncline.my_db._2024_log",
		"p.a..b":                  "p.a._.b",
		"p.dé.t":                  "p.d_.t",
	} {
		if got := Namespace(topic); got != want {
			t.Errorf("Namespace(%q) = %q, want %q", topic, got, want)
		}
	}
	tbl := schema.Table{Columns: []schema.Column{
		{Name: "a-b"}, {Name: "a_b"}, {Name: "1st"}, {Name: "a b"}, {Name: "é"}, {Name: "ok"}, {Name: "a_b_2"},
	}}
	want := []string{"a_b_3", "a_b", "_1st", "a_b_4", "_", "ok", "a_b_2"}
	if got := FieldNames(tbl); !schematest.EqualStrings(got, want) {
		t.Errorf("FieldNames = %v, want %v", got, want)
	}
	if got := FieldNames(schema.Table{Columns: []schema.Column{{Name: "x"}, {Name: "Y_1"}}}); !schematest.EqualStrings(got, []string{"x", "Y_1"}) {
		t.Errorf("FieldNames of valid names = %v", got)
	}
	if got := schema.QuoteIdent("a`b"); got != "`a``b`" {
		t.Errorf("QuoteIdent = %s", got)
	}
}

// typesTable has one nullable column per type of EveryType plus a NOT NULL
// key and NOT NULL DATETIME.
func typesTable(t *testing.T) schema.Table {
	t.Helper()
	tbl := schema.Table{Database: "d", Name: "t", Key: []string{"id"}, Columns: []schema.Column{
		{Name: "id", Type: schema.Type{Kind: schema.BigInt, Unsigned: true}},
		{Name: "dt_nn", Type: schema.Type{Kind: schema.DateTime, Precision: 6}},
	}}
	for _, s := range schematest.EveryType {
		typ, err := schema.ParseType(s)
		if err != nil {
			t.Fatal(err)
		}
		if typ.Kind.IsText() || typ.Kind == schema.Enum || typ.Kind == schema.Set {
			typ.Charset = "utf8mb4"
		}
		tbl.Columns = append(tbl.Columns, schema.Column{Name: s, Type: typ, Nullable: true})
	}
	return tbl
}

func TestSchemasParse(t *testing.T) {
	tbl := typesTable(t)
	ns := Namespace("syncline.d.t")
	build := map[string]func() (*avro.RecordSchema, error){
		"key":           func() (*avro.RecordSchema, error) { return KeySchema(tbl, ns) },
		"value":         func() (*avro.RecordSchema, error) { return ValueSchema(tbl, ns) },
		"envelope":      func() (*avro.RecordSchema, error) { return EnvelopeSchema(tbl, ns) },
		"source":        SourceSchema,
		"schema change": SchemaChangeSchema,
	}
	for name, f := range build {
		s, err := f()
		if err != nil {
			t.Fatalf("%s schema: %v", name, err)
		}
		text, err := json.Marshal(s)
		if err != nil {
			t.Fatalf("%s schema: marshal: %v", name, err)
		}
		parsed, err := avro.ParseWithCache(string(text), "", &avro.SchemaCache{})
		if err != nil {
			t.Fatalf("%s schema does not parse: %v\n%s", name, err, text)
		}
		if parsed.String() != s.String() {
			t.Errorf("%s schema changes when parsed back", name)
		}
	}
	env, _ := EnvelopeSchema(tbl, ns)
	if env.FullName() != "syncline.d.t.Envelope" {
		t.Errorf("envelope name %s", env.FullName())
	}
	back, err := TableFromValueSchema(env)
	if err != nil {
		t.Fatal(err)
	}
	want := tbl
	want.Database, want.Name = "", ""
	want.Columns = append([]schema.Column(nil), tbl.Columns...)
	for i := range want.Columns {
		want.Columns[i].Type.Charset = ""
	}
	schematest.DiffTables(t, "TableFromValueSchema", back, want)
	if _, err := KeySchema(schema.Table{Name: "x", Columns: []schema.Column{{Name: "a", Type: schema.Type{Kind: schema.Int}}}}, ns); !errors.Is(err, schema.ErrNoKey) {
		t.Errorf("KeySchema without key: %v", err)
	}
}

// TestValueSchemaJSON pins the JSON of a small Value and Key schema: the
// contract other consumers read.
func TestValueSchemaJSON(t *testing.T) {
	tbl := schema.Table{Database: "shop", Name: "orders", Key: []string{"order id"}, Columns: []schema.Column{
		{Name: "order id", Type: schema.Type{Kind: schema.BigInt, Unsigned: true}},
		{Name: "amount", Type: schema.Type{Kind: schema.Decimal, Precision: 10, Scale: 2}, Nullable: true},
		{Name: "at", Type: schema.Type{Kind: schema.DateTime, Precision: 3}},
	}}
	v, err := ValueSchema(tbl, "syncline.shop.orders")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(v)
	want := `{"name":"syncline.shop.orders.Value","type":"record","fields":[` +
		`{"name":"order_id","type":{"type":"bytes","logicalType":"decimal","precision":20},"mysql.column":"order id","mysql.type":"bigint unsigned"},` +
		`{"name":"amount","type":["null",{"type":"bytes","logicalType":"decimal","precision":10,"scale":2}],"default":null,"mysql.type":"decimal(10,2)"},` +
		`{"name":"at","type":{"type":"long","logicalType":"local-timestamp-micros"},"mysql.type":"datetime(3)"}],` +
		`"mysql.primary_key":["order id"]}`
	if string(got) != want {
		t.Errorf("value schema\n got %s\nwant %s", got, want)
	}
	k, err := KeySchema(tbl, "syncline.shop.orders")
	if err != nil {
		t.Fatal(err)
	}
	got, _ = json.Marshal(k)
	want = `{"name":"syncline.shop.orders.Key","type":"record","fields":[` +
		`{"name":"order_id","type":{"type":"bytes","logicalType":"decimal","precision":20},"mysql.column":"order id","mysql.type":"bigint unsigned"}]}`
	if string(got) != want {
		t.Errorf("key schema\n got %s\nwant %s", got, want)
	}
	row := map[string]any{"order_id": new(big.Rat).SetUint64(math.MaxUint64), "amount": nil, "at": int64(0)}
	if key := KeyOf(tbl, row); len(key) != 1 || key["order_id"] != row["order_id"] {
		t.Errorf("KeyOf = %v", key)
	}
}

// TestValueRoundTrip encodes and decodes a value of every type, NULLs,
// extremes and sentinels included.
func TestValueRoundTrip(t *testing.T) {
	tbl := typesTable(t)
	s, err := ValueSchema(tbl, "ns")
	if err != nil {
		t.Fatal(err)
	}
	names := FieldNames(tbl)
	idx := map[string]string{}
	for i, c := range tbl.Columns {
		idx[c.Name] = names[i]
	}
	nulls := map[string]any{}
	for _, n := range names {
		nulls[n] = nil
	}
	nulls["id"], nulls["dt_nn"] = new(big.Rat), int64(0)
	schematest.RoundTrip(t, s, nulls)

	maxU := new(big.Rat).SetUint64(math.MaxUint64)
	big65 := schematest.Rat("-99999999999999999999999999999999999.999999999999999999999999999999")
	values := []map[string]any{
		{
			"tinyint": int32(-128), "tinyint unsigned": int32(255), "smallint": int32(-32768), "smallint unsigned": int32(65535),
			"mediumint": int32(-8388608), "mediumint unsigned": int32(16777215), "int": int32(math.MinInt32),
			"int unsigned": int64(math.MaxUint32), "bigint": int64(math.MinInt64), "bigint unsigned": maxU,
			"decimal(10,2)": schematest.Rat("-12345678.91"), "decimal(65,30)": big65, "decimal(20,0)": maxU, "decimal(1,1)": schematest.Rat("0.5"),
			"float": float32(-3.4028234e38), "double": math.SmallestNonzeroFloat64,
			"bit(1)": []byte{1}, "bit(5)": []byte{0x1f}, "bit(64)": []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
			"char(0)": "", "char(3)": "é😀", "char(255)": strings.Repeat("x", 255), "varchar(20)": "Grüße", "varchar(16383)": "",
			"tinytext": "t", "text": "😀", "mediumtext": "", "longtext": strings.Repeat("long ", 1000),
			"binary(4)": []byte{0, 0, 0, 0}, "varbinary(10)": []byte{}, "tinyblob": []byte{0}, "blob": []byte{1, 2},
			"mediumblob": []byte("m"), "longblob": []byte{0xff},
			"enum('a','b')": "b", `enum('','b''c','d\\e','\0\n\r','é')`: "", "set('x','y','z')": "x,z",
			"json": `{"a":1}`, "date": schematest.Date(1, 1, 1), "time": int64(-3020399000000), "time(3)": int64(3020399000000),
			"time(6)": int64(-1), "datetime": int64(schema.ZeroDateTime), "datetime(6)": schematest.Micros(9999, 12, 31, 23, 59, 59, 999999),
			"timestamp": schema.ZeroTimestamp(), "timestamp(3)": time.Date(2038, 1, 19, 3, 14, 7, 999000000, time.UTC),
			"year": int32(0), "geometry": schematest.PointWKB(1, 2), "point": schematest.PointWKB(-1, 0.5), "linestring": []byte{}, "polygon": []byte{},
			"multipoint": []byte{}, "multilinestring": []byte{}, "multipolygon": []byte{}, "geometrycollection": []byte{},
		},
		{
			"date": schema.ZeroDate(), "datetime(6)": schema.ZeroDateTime, "timestamp(3)": time.Date(1970, 1, 1, 0, 0, 1, 0, time.UTC),
			"time": int64(0), "datetime": schematest.Micros(1000, 1, 1, 0, 0, 0, 0), "enum('a','b')": "",
			"decimal(65,30)": schematest.Rat("99999999999999999999999999999999999.999999999999999999999999999999"),
			"decimal(20,0)":  new(big.Rat), "bigint unsigned": new(big.Rat),
		},
	}
	for _, v := range values {
		row := map[string]any{}
		for k, x := range nulls {
			row[k] = x
		}
		for col, x := range v {
			c, _, ok := tbl.Column(col)
			if !ok {
				t.Fatalf("no column %s", col)
			}
			row[idx[col]] = UnionValue(c, x)
		}
		schematest.RoundTrip(t, s, row)
	}
}

func TestZeroDateSentinels(t *testing.T) {
	dateSchema := avro.MustParse(`{"type":"int","logicalType":"date"}`)
	b, err := avro.Marshal(dateSchema, schema.ZeroDate())
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := avro.Marshal(avro.MustParse(`"int"`), int32(math.MinInt32))
	if string(b) != string(raw) {
		t.Errorf("ZeroDate encodes as %x, want %x", b, raw)
	}
	tsSchema := avro.MustParse(`{"type":"long","logicalType":"timestamp-micros"}`)
	b, err = avro.Marshal(tsSchema, schema.ZeroTimestamp())
	if err != nil {
		t.Fatal(err)
	}
	raw, _ = avro.Marshal(avro.MustParse(`"long"`), int64(math.MinInt64))
	if string(b) != string(raw) {
		t.Errorf("ZeroTimestamp encodes as %x, want %x", b, raw)
	}
	ldtSchema := avro.MustParse(`{"type":"long","logicalType":"local-timestamp-micros"}`)
	b, err = avro.Marshal(ldtSchema, schema.ZeroDateTime)
	if err != nil || string(b) != string(raw) {
		t.Errorf("ZeroDateTime encodes as %x (%v), want %x", b, err, raw)
	}
	var decoded time.Time
	if err := avro.Unmarshal(ldtSchema, b, &decoded); err != nil || !schema.IsZeroDate(decoded) {
		t.Errorf("decoded DATETIME sentinel %v (%v) is not a zero date", decoded, err)
	}
	for _, v := range []any{schema.ZeroDate(), schema.ZeroTimestamp(), schema.ZeroDateTime, int32(math.MinInt32), schematest.DTU(schema.ZeroDateTime)} {
		if !schema.IsZeroDate(v) {
			t.Errorf("IsZeroDate(%v) = false", v)
		}
	}
	for _, v := range []any{schematest.Date(0, 1, 1), time.Time{}, int64(0), int32(0), "0000-00-00", nil} {
		if schema.IsZeroDate(v) {
			t.Errorf("IsZeroDate(%v) = true", v)
		}
	}
}

func TestTableMethods(t *testing.T) {
	tbl := schema.Table{Name: "t", Key: []string{"b", "A"}, Columns: []schema.Column{
		{Name: "a", Type: schema.Type{Kind: schema.Int}}, {Name: "b", Type: schema.Type{Kind: schema.Int}}, {Name: "c", Type: schema.Type{Kind: schema.Int}},
	}}
	if c, i, ok := tbl.Column("B"); !ok || i != 1 || c.Name != "b" {
		t.Errorf("Column(B) = %v %d %v", c, i, ok)
	}
	if _, _, ok := tbl.Column("z"); ok {
		t.Errorf("Column(z) found")
	}
	if got := tbl.KeyIndexes(); len(got) != 2 || got[0] != 1 || got[1] != 0 {
		t.Errorf("KeyIndexes = %v", got)
	}
	key := KeyOf(tbl, map[string]any{"a": int32(1), "b": int32(2), "c": int32(3)})
	if len(key) != 2 || key["a"] != int32(1) || key["b"] != int32(2) {
		t.Errorf("KeyOf = %v", key)
	}
	for _, k := range []schema.Kind{schema.TinyInt, schema.BigInt} {
		if !k.IsInteger() || !k.IsNumeric() || k.IsString() {
			t.Errorf("predicates of %s", k)
		}
	}
	if !schema.Enum.IsString() || schema.Enum.IsText() || !schema.LongText.IsText() || !schema.LongBlob.IsBinary() || !schema.Point.IsGeometry() ||
		!schema.Year.IsTemporal() || !schema.TinyText.IsBlob() || schema.VarChar.IsBlob() {
		t.Errorf("predicates")
	}
}

func TestRegistryConcurrent(t *testing.T) {
	// The network part runs in TestRegistry against the test registry; here
	// only the cache: a remembered id is served without a client.
	r := NewRegistry(nil)
	s, err := SourceSchema()
	if err != nil {
		t.Fatal(err)
	}
	r.remember(7, s)
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := r.Schema(context.Background(), 7)
			if err != nil || got != s {
				t.Errorf("Schema(7) = %v, %v", got, err)
			}
		}()
	}
	wg.Wait()
}
