package mysqlvalue

import (
	"context"
	"fmt"
	"github.com/syncline/syncline/internal/event"
	"github.com/syncline/syncline/internal/event/eventtest"
	"github.com/syncline/syncline/schema"
	"github.com/syncline/syncline/schema/schematest"
	"strings"
	"testing"

	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/syncline/syncline/testenv"
)

// mariadbTypesExpected are the UUID, INET4 and INET6 values of
// testenv.MariaDBTypesRows as the server prints them (checked against the
// text protocol below), by id.
var mariadbTypesExpected = map[int32]map[string]any{
	1: {"u": "00000000-0000-0000-0000-000000000000", "unn": "ffffffff-ffff-ffff-ffff-ffffffffffff", "i4": "0.0.0.0", "i6": "::"},
	2: {"u": "6ccd780c-baba-1026-9564-5b8c656024db", "unn": "123e4567-e89b-42d3-a456-426614174000", "i4": "255.255.255.255", "i6": "::1"},
	3: {"u": "e7d4a3f0-3c5a-11ef-8d2b-0242ac120002", "unn": "00000001-0000-1000-8000-000000000002", "i4": "10.0.0.1", "i6": "::ffff:1.2.3.4"},
	4: {"u": nil, "unn": "00000000-0000-0000-0000-000000000000", "i4": nil, "i6": "2001:db8:85a3::8a2e:370:7334"},
	5: {"u": nil, "unn": "00000000-0000-0000-0000-000000000000", "i4": nil, "i6": "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
	6: {"u": nil, "unn": "00000000-0000-0000-0000-000000000000", "i4": nil, "i6": "1::2:3:4:5:6:7"},
	7: {"u": nil, "unn": "00000000-0000-0000-0000-000000000000", "i4": nil, "i6": "::1.2.3.4"},
	8: {"u": nil, "unn": "00000000-0000-0000-0000-000000000000", "i4": nil, "i6": "1::2:0:0:3:4"},
	9: {"u": nil, "unn": "00000000-0000-0000-0000-000000000000", "i4": nil, "i6": nil},
}

// TestMariaDBTypes reads the mariadb_types fixture (UUID, INET4, INET6,
// every spatial type) from information_schema, the binlog and the text
// protocol: the binlog's BINARY(16)/BINARY(4) columns take their types
// from the loaded shape, and both paths give the server's text and the
// same encoded bytes.
func TestMariaDBTypes(t *testing.T) {
	src := testenv.Source(t)
	db := src.NewDatabase(t)
	conn := connect(t, src, db)
	exec(t, conn, testenv.MariaDBTypesDDL)
	pos := masterPos(t, conn)
	for _, q := range testenv.MariaDBTypesRows {
		exec(t, conn, q)
	}
	n := len(testenv.MariaDBTypesRows)

	loaded, err := LoadTable(context.Background(), conn, db, "mariadb_types")
	if err != nil {
		t.Fatalf("LoadTable: %v", err)
	}
	want := schema.Table{Database: db, Name: "mariadb_types", Key: []string{"id"}, Columns: []schema.Column{
		{Name: "id", Type: schema.Type{Kind: schema.Int}},
		{Name: "u", Type: schema.Type{Kind: schema.UUID}, Nullable: true},
		{Name: "unn", Type: schema.Type{Kind: schema.UUID}},
		{Name: "i4", Type: schema.Type{Kind: schema.Inet4}, Nullable: true},
		{Name: "i6", Type: schema.Type{Kind: schema.Inet6}, Nullable: true},
		{Name: "b16", Type: schema.Type{Kind: schema.Binary, Length: 16}, Nullable: true},
		{Name: "g", Type: schema.Type{Kind: schema.Geometry}, Nullable: true},
		{Name: "pt", Type: schema.Type{Kind: schema.Point}, Nullable: true},
		{Name: "ls", Type: schema.Type{Kind: schema.LineString}, Nullable: true},
		{Name: "pg", Type: schema.Type{Kind: schema.Polygon}, Nullable: true},
		{Name: "mpt", Type: schema.Type{Kind: schema.MultiPoint}, Nullable: true},
		{Name: "mls", Type: schema.Type{Kind: schema.MultiLineString}, Nullable: true},
		{Name: "mpg", Type: schema.Type{Kind: schema.MultiPolygon}, Nullable: true},
		{Name: "gc", Type: schema.Type{Kind: schema.GeometryCollection}, Nullable: true},
	}}
	schematest.DiffTables(t, "LoadTable", loaded, want)

	rows := readInserts(t, src, pos, db, "mariadb_types", n)
	raw, err := FromTableMap(rows[0].table)
	if err != nil {
		t.Fatalf("FromTableMap: %v", err)
	}
	// What the binlog says on its own: the stored types.
	for _, c := range []struct {
		name string
		typ  string
	}{{"u", "binary(16)"}, {"unn", "binary(16)"}, {"i4", "binary(4)"}, {"i6", "binary(16)"}, {"b16", "binary(16)"}} {
		if col, _, _ := raw.Column(c.name); col.Type.String() != c.typ {
			t.Errorf("FromTableMap column %s: %s, want %s", c.name, col.Type, c.typ)
		}
	}
	if !raw.HasFixedBinaryCandidates() {
		t.Errorf("HasFixedBinaryCandidates: false")
	}
	binTable := raw.WithFixedBinaryTypes(loaded)
	schematest.DiffTables(t, "FromTableMap.WithFixedBinaryTypes", binTable, want)
	if col, _, _ := raw.Column("u"); col.Type.Kind != schema.Binary {
		t.Errorf("WithFixedBinaryTypes changed its receiver")
	}

	ns := event.Namespace("syncline." + db + ".mariadb_types")
	valueSchema, err := event.ValueSchema(loaded, ns)
	if err != nil {
		t.Fatal(err)
	}
	if s := valueSchema.String(); !strings.Contains(s, `"logicalType":"uuid"`) {
		t.Errorf("value schema has no uuid logical type: %s", s)
	}
	enc, err := event.NewEncoder(loaded)
	if err != nil {
		t.Fatal(err)
	}
	h := eventtest.NewHambaEnc(t, loaded)
	var binlog []map[string]any
	for i, r := range rows {
		m, err := BinlogRow(binTable, r.row)
		if err != nil {
			t.Fatalf("BinlogRow %d: %v", i+1, err)
		}
		binlog = append(binlog, m)
		vals, err := BinlogValues(binTable, r.row)
		if err != nil {
			t.Fatal(err)
		}
		eventtest.CheckEncode(t, fmt.Sprintf("binlog row %d", i+1), enc, h, vals, m, eventtest.CheckOpts{Decode: true, Envelopes: true})
		schematest.RoundTrip(t, valueSchema, m)
	}

	text := textRows(t, conn, loaded)
	if len(text) != n {
		t.Fatalf("text rows: %d, want %d", len(text), n)
	}
	for i := range text {
		id := text[i]["id"].(int32)
		for col, v := range mariadbTypesExpected[id] {
			if !schematest.SameValue(text[i][col], v) {
				t.Errorf("text row %d column %s: %s, want %s", id, col, schematest.Show(text[i][col]), schematest.Show(v))
			}
		}
		schematest.DiffRows(t, fmt.Sprintf("text vs binlog row %d", id), text[i], binlog[i])
	}
	if b, ok := binlog[1]["b16"].([]byte); !ok || len(b) != 16 {
		t.Errorf("binary(16) of zeros: %s, want 16 bytes", schematest.Show(binlog[1]["b16"]))
	}

	var res mysql.Result
	q := "SELECT " + loaded.SelectList() + " FROM mariadb_types ORDER BY id"
	i := 0
	err = conn.ExecuteSelectStreaming(q, &res, func(row []mysql.FieldValue) error {
		i++
		vals, err := TextValues(loaded, row)
		if err != nil {
			return err
		}
		m, err := TextRow(loaded, row)
		if err != nil {
			return err
		}
		eventtest.CheckEncode(t, fmt.Sprintf("text row %d", i), enc, h, vals, m, eventtest.CheckOpts{Decode: true, Envelopes: true})
		return nil
	}, nil)
	if err != nil || i != n {
		t.Fatalf("%s: %d rows, %v", q, i, err)
	}
}

// TestInet6TextAgreesWithServer formats addresses whose text form is
// tricky and compares with what MariaDB prints for the same bytes.
func TestInet6TextAgreesWithServer(t *testing.T) {
	src := testenv.Source(t)
	conn := connect(t, src, "")
	text := func(k schema.Kind, b [16]byte) string {
		t.Helper()
		s, err := schema.Type{Kind: k}.FixedBinaryText(b[:])
		if err != nil {
			t.Fatalf("FixedBinaryText(%s, %x): %v", k, b, err)
		}
		return s
	}
	for _, hex := range []string{
		"00000000000000000000000000000000", "00000000000000000000000000000001", "00000000000000000000000000000002",
		"00000000000000000000000001020304", "00000000000000000000FFFF01020304", "00000000000000000000FFFF00000000",
		"00000000000000000000FFFE01020304", "00000000000000000000000000010000", "00000000000000000001000000000000",
		"00010000000200030004000500060007", "00010000000000020000000000000003", "00010000000000020000000000030004",
		"00010000000000000000000000000000", "00000000000100000000000000000000", "00010002000300040005000600070000",
		"00000001000200030004000500060007", "0064FF9B000000000000000001020304", "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF",
		"20010DB885A3000000008A2E03707334", "FE800000000000000001000200030004", "000A000B000C000D000E000F00100011",
		"00000000FFFF00000000000000000000", "0000000000000000FFFF000001020304",
	} {
		r := exec(t, conn, "SELECT CAST(UNHEX(?) AS INET6), UNHEX(?)", hex, hex)
		want, _ := r.GetString(0, 0)
		b, _ := r.GetString(0, 1)
		var buf [16]byte
		copy(buf[:], b)
		if got := text(schema.Inet6, buf); got != want {
			t.Errorf("INET6 text of %s = %q, server prints %q", hex, got, want)
		}
		var u [16]byte
		copy(u[:], b)
		r = exec(t, conn, "SELECT CAST(UNHEX(?) AS UUID)", hex)
		wantU, _ := r.GetString(0, 0)
		if got := text(schema.UUID, u); got != wantU {
			t.Errorf("UUID text of %s = %q, server prints %q", hex, got, wantU)
		}
	}
}
