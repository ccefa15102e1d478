package schema

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"
	"github.com/hamba/avro/v2"
)

// everyType lists one canonical type string per kind (and variants).
var everyType = []string{
	"tinyint", "tinyint unsigned", "smallint", "smallint unsigned", "mediumint", "mediumint unsigned",
	"int", "int unsigned", "bigint", "bigint unsigned",
	"decimal(10,2)", "decimal(65,30)", "decimal(20,0)", "decimal(1,1)",
	"float", "double", "bit(1)", "bit(5)", "bit(64)",
	"char(0)", "char(3)", "char(255)", "varchar(20)", "varchar(16383)",
	"tinytext", "text", "mediumtext", "longtext",
	"binary(4)", "varbinary(10)", "tinyblob", "blob", "mediumblob", "longblob",
	"enum('a','b')", `enum('','b''c','d\\e','\0\n\r','é')`, "set('x','y','z')",
	"json", "date", "time", "time(3)", "time(6)", "datetime", "datetime(6)", "timestamp", "timestamp(3)", "year",
	"geometry", "point", "linestring", "polygon", "multipoint", "multilinestring", "multipolygon", "geometrycollection",
	"uuid", "inet4", "inet6",
}

func TestParseTypeRoundTrip(t *testing.T) {
	kinds := map[Kind]bool{}
	for _, s := range everyType {
		typ, err := ParseType(s)
		if err != nil {
			t.Errorf("ParseType(%q): %v", s, err)
			continue
		}
		kinds[typ.Kind] = true
		if got := typ.String(); got != s {
			t.Errorf("ParseType(%q).String() = %q", s, got)
		}
		again, err := ParseType(typ.String())
		if err != nil || !again.Equal(typ) {
			t.Errorf("ParseType(String()) of %q: %+v, %v; want %+v", s, again, err, typ)
		}
	}
	for k := TinyInt; k < kindEnd; k++ {
		if !kinds[k] {
			t.Errorf("kind %s not covered", k)
		}
	}
}

func TestParseTypeColumnType(t *testing.T) {
	for in, want := range map[string]string{
		"int(10) unsigned":                "int unsigned",
		"int(11)":                         "int",
		"INT UNSIGNED":                    "int unsigned",
		"tinyint(1)":                      "tinyint",
		"bool":                            "tinyint",
		"bigint(20) unsigned zerofill":    "bigint unsigned",
		"int(5) unsigned zerofill":        "int unsigned",
		"decimal(10,2) unsigned zerofill": "decimal(10,2)",
		"decimal":                         "decimal(10,0)",
		"numeric(7)":                      "decimal(7,0)",
		"float(7,3)":                      "float",
		"float(30)":                       "double",
		"double(10,2) unsigned":           "double",
		"double precision":                "double",
		"real":                            "double",
		"bit":                             "bit(1)",
		"char":                            "char(1)",
		"character varying(12)":           "varchar(12)",
		"enum('a','b''c')":                "enum('a','b''c')",
		`enum('a\'b',"c""d")`:             "enum('a''b','c\"d')",
		"varchar(20)":                     "varchar(20)",
		"datetime(3)":                     "datetime(3)",
		"datetime /* mariadb-5.3 */":      "datetime",
		"timestamp(0)":                    "timestamp",
		"year(4)":                         "year",
		"  Point ":                        "point",
		"geomcollection":                  "geometrycollection",
		"mediumint(8) unsigned":           "mediumint unsigned",
	} {
		typ, err := ParseType(in)
		if err != nil {
			t.Errorf("ParseType(%q): %v", in, err)
			continue
		}
		if got := typ.String(); got != want {
			t.Errorf("ParseType(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseTypeErrors(t *testing.T) {
	for _, in := range []string{"inet", "uuid4", "vector(3)", "int4range", "xml"} {
		_, err := ParseType(in)
		if !errors.Is(err, ErrUnsupportedType) || !strings.Contains(err.Error(), in) {
			t.Errorf("ParseType(%q): %v, want ErrUnsupportedType naming the type", in, err)
		}
	}
	for _, in := range []string{"", "varchar", "decimal(66,2)", "decimal(5,6)", "bit(65)", "time(7)",
		"enum('a'", "enum(a)", "int(3", "int foo", "varchar(10) unsigned", "char(256)", "text(5)"} {
		if _, err := ParseType(in); err == nil {
			t.Errorf("ParseType(%q): no error", in)
		} else if errors.Is(err, ErrUnsupportedType) {
			t.Errorf("ParseType(%q): %v is not a syntax error", in, err)
		}
	}
}

func TestNames(t *testing.T) {
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
	tbl := Table{Columns: []Column{
		{Name: "a-b"}, {Name: "a_b"}, {Name: "1st"}, {Name: "a b"}, {Name: "é"}, {Name: "ok"}, {Name: "a_b_2"},
	}}
	want := []string{"a_b_3", "a_b", "_1st", "a_b_4", "_", "ok", "a_b_2"}
	if got := tbl.FieldNames(); !equalStrings(got, want) {
		t.Errorf("FieldNames = %v, want %v", got, want)
	}
	if got := (Table{Columns: []Column{{Name: "x"}, {Name: "Y_1"}}}).FieldNames(); !equalStrings(got, []string{"x", "Y_1"}) {
		t.Errorf("FieldNames of valid names = %v", got)
	}
	if got := QuoteIdent("a`b"); got != "`a``b`" {
		t.Errorf("QuoteIdent = %s", got)
	}
}

// typesTable has one nullable column per type of everyType plus a NOT NULL
// key and NOT NULL DATETIME.
func typesTable(t *testing.T) Table {
	t.Helper()
	tbl := Table{Database: "d", Name: "t", Key: []string{"id"}, Columns: []Column{
		{Name: "id", Type: Type{Kind: BigInt, Unsigned: true}},
		{Name: "dt_nn", Type: Type{Kind: DateTime, Precision: 6}},
	}}
	for _, s := range everyType {
		typ, err := ParseType(s)
		if err != nil {
			t.Fatal(err)
		}
		if typ.Kind.IsText() || typ.Kind == Enum || typ.Kind == Set {
			typ.Charset = "utf8mb4"
		}
		tbl.Columns = append(tbl.Columns, Column{Name: s, Type: typ, Nullable: true})
	}
	return tbl
}

func TestSchemasParse(t *testing.T) {
	tbl := typesTable(t)
	ns := Namespace("syncline.d.t")
	build := map[string]func() (*avro.RecordSchema, error){
		"key":           func() (*avro.RecordSchema, error) { return tbl.KeySchema(ns) },
		"value":         func() (*avro.RecordSchema, error) { return tbl.ValueSchema(ns) },
		"envelope":      func() (*avro.RecordSchema, error) { return tbl.EnvelopeSchema(ns) },
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
	env, _ := tbl.EnvelopeSchema(ns)
	if env.FullName() != "syncline.d.t.Envelope" {
		t.Errorf("envelope name %s", env.FullName())
	}
	back, err := TableFromValueSchema(env)
	if err != nil {
		t.Fatal(err)
	}
	want := tbl
	want.Database, want.Name = "", ""
	want.Columns = append([]Column(nil), tbl.Columns...)
	for i := range want.Columns {
		want.Columns[i].Type.Charset = ""
	}
	diffTables(t, "TableFromValueSchema", back, want)
	if _, err := (Table{Name: "x", Columns: []Column{{Name: "a", Type: Type{Kind: Int}}}}).KeySchema(ns); !errors.Is(err, ErrNoKey) {
		t.Errorf("KeySchema without key: %v", err)
	}
}

// TestValueSchemaJSON pins the JSON of a small Value and Key schema: the
// contract other consumers read.
func TestValueSchemaJSON(t *testing.T) {
	tbl := Table{Database: "shop", Name: "orders", Key: []string{"order id"}, Columns: []Column{
		{Name: "order id", Type: Type{Kind: BigInt, Unsigned: true}},
		{Name: "amount", Type: Type{Kind: Decimal, Precision: 10, Scale: 2}, Nullable: true},
		{Name: "at", Type: Type{Kind: DateTime, Precision: 3}},
	}}
	v, err := tbl.ValueSchema("syncline.shop.orders")
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
	k, err := tbl.KeySchema("syncline.shop.orders")
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
	if key := tbl.KeyOf(row); len(key) != 1 || key["order_id"] != row["order_id"] {
		t.Errorf("KeyOf = %v", key)
	}
}

// TestValueRoundTrip encodes and decodes a value of every type, NULLs,
// extremes and sentinels included.
func TestValueRoundTrip(t *testing.T) {
	tbl := typesTable(t)
	s, err := tbl.ValueSchema("ns")
	if err != nil {
		t.Fatal(err)
	}
	names := tbl.FieldNames()
	idx := map[string]string{}
	for i, c := range tbl.Columns {
		idx[c.Name] = names[i]
	}
	nulls := map[string]any{}
	for _, n := range names {
		nulls[n] = nil
	}
	nulls["id"], nulls["dt_nn"] = new(big.Rat), int64(0)
	roundTrip(t, s, nulls)

	maxU := new(big.Rat).SetUint64(math.MaxUint64)
	big65 := rat("-99999999999999999999999999999999999.999999999999999999999999999999")
	values := []map[string]any{
		{
			"tinyint": int32(-128), "tinyint unsigned": int32(255), "smallint": int32(-32768), "smallint unsigned": int32(65535),
			"mediumint": int32(-8388608), "mediumint unsigned": int32(16777215), "int": int32(math.MinInt32),
			"int unsigned": int64(math.MaxUint32), "bigint": int64(math.MinInt64), "bigint unsigned": maxU,
			"decimal(10,2)": rat("-12345678.91"), "decimal(65,30)": big65, "decimal(20,0)": maxU, "decimal(1,1)": rat("0.5"),
			"float": float32(-3.4028234e38), "double": math.SmallestNonzeroFloat64,
			"bit(1)": []byte{1}, "bit(5)": []byte{0x1f}, "bit(64)": []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
			"char(0)": "", "char(3)": "é😀", "char(255)": strings.Repeat("x", 255), "varchar(20)": "Grüße", "varchar(16383)": "",
			"tinytext": "t", "text": "😀", "mediumtext": "", "longtext": strings.Repeat("long ", 1000),
			"binary(4)": []byte{0, 0, 0, 0}, "varbinary(10)": []byte{}, "tinyblob": []byte{0}, "blob": []byte{1, 2},
			"mediumblob": []byte("m"), "longblob": []byte{0xff},
			"enum('a','b')": "b", `enum('','b''c','d\\e','\0\n\r','é')`: "", "set('x','y','z')": "x,z",
			"json": `{"a":1}`, "date": date(1, 1, 1), "time": int64(-3020399000000), "time(3)": int64(3020399000000),
			"time(6)": int64(-1), "datetime": int64(ZeroDateTime), "datetime(6)": micros(9999, 12, 31, 23, 59, 59, 999999),
			"timestamp": ZeroTimestamp(), "timestamp(3)": time.Date(2038, 1, 19, 3, 14, 7, 999000000, time.UTC),
			"year": int32(0), "geometry": pointWKB(1, 2), "point": pointWKB(-1, 0.5), "linestring": []byte{}, "polygon": []byte{},
			"multipoint": []byte{}, "multilinestring": []byte{}, "multipolygon": []byte{}, "geometrycollection": []byte{},
		},
		{
			"date": ZeroDate(), "datetime(6)": ZeroDateTime, "timestamp(3)": time.Date(1970, 1, 1, 0, 0, 1, 0, time.UTC),
			"time": int64(0), "datetime": micros(1000, 1, 1, 0, 0, 0, 0), "enum('a','b')": "",
			"decimal(65,30)": rat("99999999999999999999999999999999999.999999999999999999999999999999"),
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
			row[idx[col]] = valueForUnion(c, x)
		}
		roundTrip(t, s, row)
	}
}

func TestZeroDateSentinels(t *testing.T) {
	dateSchema := avro.MustParse(`{"type":"int","logicalType":"date"}`)
	b, err := avro.Marshal(dateSchema, ZeroDate())
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := avro.Marshal(avro.MustParse(`"int"`), int32(math.MinInt32))
	if string(b) != string(raw) {
		t.Errorf("ZeroDate encodes as %x, want %x", b, raw)
	}
	tsSchema := avro.MustParse(`{"type":"long","logicalType":"timestamp-micros"}`)
	b, err = avro.Marshal(tsSchema, ZeroTimestamp())
	if err != nil {
		t.Fatal(err)
	}
	raw, _ = avro.Marshal(avro.MustParse(`"long"`), int64(math.MinInt64))
	if string(b) != string(raw) {
		t.Errorf("ZeroTimestamp encodes as %x, want %x", b, raw)
	}
	ldtSchema := avro.MustParse(`{"type":"long","logicalType":"local-timestamp-micros"}`)
	b, err = avro.Marshal(ldtSchema, ZeroDateTime)
	if err != nil || string(b) != string(raw) {
		t.Errorf("ZeroDateTime encodes as %x (%v), want %x", b, err, raw)
	}
	var decoded time.Time
	if err := avro.Unmarshal(ldtSchema, b, &decoded); err != nil || !IsZeroDate(decoded) {
		t.Errorf("decoded DATETIME sentinel %v (%v) is not a zero date", decoded, err)
	}
	for _, v := range []any{ZeroDate(), ZeroTimestamp(), ZeroDateTime, int32(math.MinInt32), dtU(ZeroDateTime)} {
		if !IsZeroDate(v) {
			t.Errorf("IsZeroDate(%v) = false", v)
		}
	}
	for _, v := range []any{date(0, 1, 1), time.Time{}, int64(0), int32(0), "0000-00-00", nil} {
		if IsZeroDate(v) {
			t.Errorf("IsZeroDate(%v) = true", v)
		}
	}
}

func TestBinlogRowConversions(t *testing.T) {
	typ := func(s, cs string) Type {
		ty, err := ParseType(s)
		if err != nil {
			t.Fatal(err)
		}
		ty.Charset = cs
		return ty
	}
	est := time.FixedZone("EST", -5*3600)
	for _, tc := range []struct {
		typ  Type
		in   any
		want any
	}{
		// Unsigned values without signedness metadata arrive signed.
		{typ("tinyint unsigned", ""), int8(-1), int32(255)},
		{typ("tinyint unsigned", ""), uint8(255), int32(255)},
		{typ("smallint unsigned", ""), int16(-1), int32(65535)},
		{typ("mediumint unsigned", ""), int32(-1), int32(16777215)},
		{typ("mediumint unsigned", ""), uint32(16777215), int32(16777215)},
		{typ("int unsigned", ""), int32(-1), int64(4294967295)},
		{typ("bigint unsigned", ""), int64(-1), new(big.Rat).SetUint64(math.MaxUint64)},
		{typ("bigint unsigned", ""), uint64(math.MaxUint64), new(big.Rat).SetUint64(math.MaxUint64)},
		{typ("tinyint", ""), int8(-128), int32(-128)},
		{typ("year", ""), 2155, int32(2155)},
		{typ("decimal(65,30)", ""), "-0.000000000000000000000000000001", rat("-1e-30")},
		{typ("float", ""), float32(1.5), float32(1.5)},
		{typ("double", ""), -0.25, -0.25},
		{typ("bit(64)", ""), int64(-1), []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
		{typ("bit(12)", ""), int64(0xabc), []byte{0x0a, 0xbc}},
		{typ("bit(1)", ""), int64(1), []byte{1}},
		{typ("char(3)", "latin1"), "\xe9", "é"},
		{typ("varchar(10)", "latin1"), "\x80\x81", "€\u0081"},
		{typ("varchar(10)", "utf8mb4"), "😀", "😀"},
		{typ("text", "utf8mb4"), []byte("tëxt"), "tëxt"},
		{typ("text", "cp1251"), []byte{0xcf, 0xf0, 0xe8}, "При"},
		{typ("varchar(10)", "gbk"), "\xd6\xd0", "中"},
		{typ("binary(4)", ""), "\x01", []byte{1, 0, 0, 0}},
		{typ("binary(4)", ""), "", []byte{0, 0, 0, 0}},
		{typ("varbinary(4)", ""), "\x00\x01", []byte{0, 1}},
		{typ("blob", ""), []byte{9}, []byte{9}},
		{typ("enum('a','b')", "utf8mb4"), int64(2), "b"},
		{typ("enum('a','b')", "utf8mb4"), int64(0), ""},
		{typ("set('a','b','c')", "utf8mb4"), int64(5), "a,c"},
		{typ("set('a','b','c')", "utf8mb4"), int64(0), ""},
		{typ("json", ""), `{"a": 1}`, `{"a": 1}`},
		{typ("longtext", "utf8mb4"), []byte(`[1]`), `[1]`},
		{typ("date", ""), "2024-02-29", date(2024, 2, 29)},
		{typ("date", ""), "0000-00-00", ZeroDate()},
		{typ("date", ""), "2024-00-10", ZeroDate()},
		{typ("date", ""), "2024-02-30", ZeroDate()},
		{typ("date", ""), "0000-01-01", date(0, 1, 1)},
		{typ("datetime(6)", ""), time.Date(2024, 1, 2, 3, 4, 5, 6000, time.UTC), micros(2024, 1, 2, 3, 4, 5, 6)},
		{typ("datetime(6)", ""), "1000-01-01 00:00:00.000001", micros(1000, 1, 1, 0, 0, 0, 1)},
		{typ("datetime(2)", ""), "1969-12-31 23:59:59.5", micros(1969, 12, 31, 23, 59, 59, 500000)},
		{typ("datetime(6)", ""), "0000-00-00 00:00:00.000000", ZeroDateTime},
		{typ("datetime", ""), "2024-05-00 10:00:00", ZeroDateTime},
		{typ("timestamp(3)", ""), time.Date(2024, 1, 1, 7, 0, 0, 123000000, est), time.Date(2024, 1, 1, 12, 0, 0, 123000000, time.UTC)},
		{typ("timestamp(3)", ""), time.Date(2024, 1, 1, 12, 0, 0, 123000000, time.Local), time.Date(2024, 1, 1, 12, 0, 0, 123000000, time.Local).UTC()},
		{typ("timestamp", ""), "0000-00-00 00:00:00", ZeroTimestamp()},
		{typ("timestamp(6)", ""), "2024-01-01 12:00:00.000001", time.Date(2024, 1, 1, 12, 0, 0, 1000, time.UTC)},
		{typ("time(6)", ""), "-838:59:59.000000", int64(-3020399000000)},
		{typ("time(6)", ""), "838:59:59", int64(3020399000000)},
		{typ("time(2)", ""), "-00:00:01.5", int64(-1500000)},
		{typ("time", ""), "25:00:00", int64(90000000000)},
		{typ("time", ""), "00:00:00", int64(0)},
		{typ("point", ""), append([]byte{0, 0, 0, 0}, pointWKB(1, 2)...), pointWKB(1, 2)},
	} {
		tbl := Table{Name: "t", Columns: []Column{{Name: "c", Type: tc.typ}}}
		got, err := tbl.BinlogRow([]any{tc.in})
		if err != nil {
			t.Errorf("%s from %T %v: %v", tc.typ, tc.in, tc.in, err)
			continue
		}
		if !sameValue(got["c"], tc.want) {
			t.Errorf("%s from %T %v: got %s, want %s", tc.typ, tc.in, tc.in, show(got["c"]), show(tc.want))
		}
	}
}

func TestBinlogRowErrors(t *testing.T) {
	tbl := Table{Database: "d", Name: "t", Columns: []Column{
		{Name: "id", Type: Type{Kind: Int}},
		{Name: "name", Type: Type{Kind: VarChar, Length: 10, Charset: "klingon"}},
	}}
	_, err := tbl.BinlogRow([]any{int32(1), "x"})
	if err == nil || !strings.Contains(err.Error(), "d.t column name") || !strings.Contains(err.Error(), "klingon") {
		t.Errorf("unsupported charset: %v", err)
	}
	for _, tc := range []struct {
		typ Type
		in  any
	}{
		{Type{Kind: Enum, Elems: []string{"a"}}, int64(2)},
		{Type{Kind: Set, Elems: []string{"a"}}, int64(2)},
		{Type{Kind: Binary, Length: 2}, "abc"},
		{Type{Kind: Int}, "1"},
		{Type{Kind: JSON}, &replication.JsonDiff{}},
		{Type{Kind: Date}, "2024/01/01"},
		{Type{Kind: Time}, "1:2"},
		{Type{Kind: Point}, []byte{1}},
	} {
		one := Table{Name: "t", Columns: []Column{{Name: "c", Type: tc.typ}}}
		if _, err := one.BinlogRow([]any{tc.in}); err == nil || !strings.Contains(err.Error(), "column c") {
			t.Errorf("%s from %T %v: %v, want an error naming the column", tc.typ, tc.in, tc.in, err)
		}
	}
	if _, err := tbl.BinlogRow([]any{int32(1)}); err == nil {
		t.Errorf("short row: no error")
	}
	if !SupportedCharset("utf8") || !SupportedCharset("latin1") || SupportedCharset("klingon") {
		t.Errorf("SupportedCharset")
	}
}

func TestTextRowConversions(t *testing.T) {
	tbl := Table{Name: "t", Columns: []Column{
		{Name: "u", Type: Type{Kind: BigInt, Unsigned: true}},
		{Name: "ts", Type: Type{Kind: Timestamp, Precision: 3}, Nullable: true},
		{Name: "ts0", Type: Type{Kind: Timestamp}},
		{Name: "f", Type: Type{Kind: Float}},
		{Name: "bn", Type: Type{Kind: Binary, Length: 3}},
		{Name: "dt", Type: Type{Kind: DateTime, Precision: 6}, Nullable: true},
		{Name: "n", Type: Type{Kind: Int}, Nullable: true},
	}}
	if got, want := tbl.SelectList(), "`u`, UNIX_TIMESTAMP(`ts`) AS `ts`, UNIX_TIMESTAMP(`ts0`) AS `ts0`, CAST(`f` AS DOUBLE) AS `f`, `bn`, `dt`, `n`"; got != want {
		t.Errorf("SelectList = %s, want %s", got, want)
	}
	buf := []byte("\x01\x02\x00")
	row := []mysql.FieldValue{
		mysql.NewFieldValue(mysql.FieldValueTypeUnsigned, math.MaxUint64, nil),
		mysql.NewFieldValue(mysql.FieldValueTypeString, 0, []byte("1700000000.123")),
		mysql.NewFieldValue(mysql.FieldValueTypeSigned, 0, nil),
		mysql.NewFieldValue(mysql.FieldValueTypeFloat, math.Float64bits(float64(float32(1.1))), nil),
		mysql.NewFieldValue(mysql.FieldValueTypeString, 0, buf),
		mysql.NewFieldValue(mysql.FieldValueTypeString, 0, []byte("2024-01-02 03:04:05.000006")),
		mysql.NewFieldValue(mysql.FieldValueTypeNull, 0, nil),
	}
	got, err := tbl.TextRow(row)
	if err != nil {
		t.Fatal(err)
	}
	buf[0] = 9 // the client reuses its buffers: the values must not change
	diffRows(t, "text row", got, map[string]any{
		"u":   new(big.Rat).SetUint64(math.MaxUint64),
		"ts":  time.UnixMilli(1700000000123).UTC(),
		"ts0": ZeroTimestamp(),
		"f":   float32(1.1),
		"bn":  []byte{1, 2, 0},
		"dt":  dtU(micros(2024, 1, 2, 3, 4, 5, 6)),
		"n":   nil,
	})
}

func TestFromTableMapWithoutMetadata(t *testing.T) {
	ev := &replication.TableMapEvent{
		Schema: []byte("d"), Table: []byte("t"), ColumnCount: 1,
		ColumnType: []byte{mysql.MYSQL_TYPE_LONG}, ColumnMeta: []uint16{0}, NullBitmap: []byte{0},
	}
	_, err := FromTableMap(ev)
	if !errors.Is(err, ErrNoRowMetadata) || !strings.Contains(err.Error(), "binlog_row_metadata=FULL") || !strings.Contains(err.Error(), "d.t") {
		t.Errorf("FromTableMap without names: %v", err)
	}
}

func TestTableMethods(t *testing.T) {
	tbl := Table{Name: "t", Key: []string{"b", "A"}, Columns: []Column{
		{Name: "a", Type: Type{Kind: Int}}, {Name: "b", Type: Type{Kind: Int}}, {Name: "c", Type: Type{Kind: Int}},
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
	key := tbl.KeyOf(map[string]any{"a": int32(1), "b": int32(2), "c": int32(3)})
	if len(key) != 2 || key["a"] != int32(1) || key["b"] != int32(2) {
		t.Errorf("KeyOf = %v", key)
	}
	for _, k := range []Kind{TinyInt, BigInt} {
		if !k.IsInteger() || !k.IsNumeric() || k.IsString() {
			t.Errorf("predicates of %s", k)
		}
	}
	if !Enum.IsString() || Enum.IsText() || !LongText.IsText() || !LongBlob.IsBinary() || !Point.IsGeometry() ||
		!Year.IsTemporal() || !TinyText.IsBlob() || VarChar.IsBlob() {
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
