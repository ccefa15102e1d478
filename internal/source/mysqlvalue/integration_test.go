package mysqlvalue

import (
	"context"
	"errors"
	"fmt"
	"github.com/syncline/syncline/internal/event"
	"github.com/syncline/syncline/schema"
	"github.com/syncline/syncline/schema/schematest"
	"log/slog"
	"math/rand/v2"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-mysql-org/go-mysql/client"
	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"
	"github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/syncline/syncline/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Run(m)) }

// connect opens a go-mysql client connection on db with a utf8mb4 session,
// an empty sql_mode (zero dates allowed) and the UTC time zone.
func connect(tb testing.TB, src *testenv.MySQL, db string) *client.Conn {
	tb.Helper()
	return connectMode(tb, src, db, "")
}

// connectMode is connect with the session's sql_mode.
func connectMode(tb testing.TB, src *testenv.MySQL, db, sqlMode string) *client.Conn {
	tb.Helper()
	conn, err := client.Connect(src.Addr(), src.User, src.Password, db)
	if err != nil {
		tb.Fatalf("connect: %v", err)
	}
	tb.Cleanup(func() { _ = conn.Close() })
	exec(tb, conn, "SET NAMES utf8mb4")
	exec(tb, conn, "SET SESSION sql_mode = ?, time_zone = '+00:00'", sqlMode)
	return conn
}

func exec(tb testing.TB, conn *client.Conn, q string, args ...any) *mysql.Result {
	tb.Helper()
	r, err := conn.Execute(q, args...)
	if err != nil {
		tb.Fatalf("%s: %v", q, err)
	}
	return r
}

// masterPos returns the source's current binlog position.
func masterPos(t *testing.T, conn *client.Conn) mysql.Position {
	t.Helper()
	r := exec(t, conn, "SHOW MASTER STATUS")
	file, _ := r.GetString(0, 0)
	pos, _ := r.GetUint(0, 1)
	return mysql.Position{Name: strings.Clone(file), Pos: uint32(pos)}
}

// binlogRow is one row image of a WRITE_ROWS event with its TableMap.
type binlogRow struct {
	table *replication.TableMapEvent
	row   []any
}

// readInserts reads the binlog from pos and returns the first n inserted row
// images of db.table.
func readInserts(t *testing.T, src *testenv.MySQL, pos mysql.Position, db, table string, n int) []binlogRow {
	t.Helper()
	syncer := replication.NewBinlogSyncer(replication.BinlogSyncerConfig{
		ServerID:                1000 + rand.Uint32N(1_000_000),
		Flavor:                  "mariadb",
		Host:                    src.Host,
		Port:                    uint16(src.Port),
		User:                    src.User,
		Password:                src.Password,
		ParseTime:               true,
		UseDecimal:              false,
		TimestampStringLocation: time.UTC,
		Logger:                  slog.New(slog.DiscardHandler),
	})
	defer syncer.Close()
	stream, err := syncer.StartSync(pos)
	if err != nil {
		t.Fatalf("start binlog sync at %v: %v", pos, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out []binlogRow
	for len(out) < n {
		ev, err := stream.GetEvent(ctx)
		if err != nil {
			t.Fatalf("read binlog (have %d of %d rows): %v", len(out), n, err)
		}
		re, ok := ev.Event.(*replication.RowsEvent)
		if !ok || re.Type() != replication.EnumRowsEventTypeInsert {
			continue
		}
		if string(re.Table.Schema) != db || string(re.Table.Table) != table {
			continue
		}
		for _, r := range re.Rows {
			out = append(out, binlogRow{table: re.Table, row: r})
		}
	}
	return out
}

// textRows reads SELECT t.SelectList() FROM table ORDER BY id over the text
// protocol and converts each row with TextRow.
func textRows(t *testing.T, conn *client.Conn, tbl schema.Table) []map[string]any {
	t.Helper()
	var out []map[string]any
	var res mysql.Result
	q := "SELECT " + tbl.SelectList() + " FROM " + schema.QuoteIdent(tbl.Name) + " ORDER BY id"
	err := conn.ExecuteSelectStreaming(q, &res, func(row []mysql.FieldValue) error {
		m, err := TextRow(tbl, row)
		if err != nil {
			return err
		}
		out = append(out, m)
		return nil
	}, nil)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return out
}

// allTypesExpected are the rows of testenv.AllTypesRows as converted values, written
// down by hand.
func allTypesExpected() []map[string]any {
	lineWKB := append([]byte{1, 2, 0, 0, 0, 2, 0, 0, 0}, make([]byte, 16)...)
	lineWKB = append(lineWKB, schematest.PointWKB(1, 1)[5:]...)
	nulls := func(m map[string]any) map[string]any {
		for _, n := range []string{"ti", "tiu", "si", "siu", "mi", "miu", "i", "iu", "bi", "biu", "bo", "izf",
			"dc", "dbig", "du", "f", "d", "b1", "b5", "b64", "c", "cl", "c255", "vc", "vcl", "vca", "vc3", "vc300",
			"tt", "tx", "mt", "lt", "bn", "vb", "tb", "bl", "mb", "lb", "e", "s", "j", "dt", "dtm", "dtm0",
			"ts", "ts0", "tm", "tm0", "tm2", "yr", "g", "p", "odd_col_name", "_1st"} {
			if _, ok := m[n]; !ok {
				m[n] = nil
			}
		}
		return m
	}
	return []map[string]any{
		{
			"id": int32(1),
			"ti": int32(127), "tiu": int32(255), "si": int32(32767), "siu": int32(65535),
			"mi": int32(8388607), "miu": int32(16777215), "i": int32(2147483647), "iu": int64(4294967295),
			"bi": int64(9223372036854775807), "biu": schematest.Rat("18446744073709551615"), "bo": int32(1), "izf": int64(42),
			"dc": schematest.Rat("12345678.91"), "dbig": schematest.Rat("12345678901234567890123456789012345.123456789012345678901234567890"),
			"du": schematest.Rat("42"),
			"f":  float32(1.2345678), "d": 0.30000000000000004,
			"b1": []byte{1}, "b5": []byte{0x15}, "b64": []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff},
			"c": "ab", "cl": "é", "c255": "x",
			"vc": "😀 emoji", "vcl": "café €", "vca": "plain", "vc3": "ñandú", "vc300": strings.Repeat("a", 300),
			"tt": "tiny", "tx": "text ✓", "mt": "medium", "lt": "Grüße",
			"bn": []byte{1, 2, 0, 0}, "vb": []byte{0, 0xff, 0}, "tb": []byte{}, "bl": []byte{0xde, 0xad, 0xbe, 0xef},
			"mb": []byte("m"), "lb": []byte{0},
			"e": "b'c", "s": "x,z",
			"j":   `{"a": [1, 2.50, "x"]}`,
			"dt":  schematest.Date(2024, 2, 29),
			"dtm": schematest.DTU(schematest.Micros(2024, 2, 29, 13, 14, 15, 123456)), "dtm0": schematest.DTU(schematest.Micros(1969, 12, 31, 23, 59, 59, 0)),
			"dtnn": schematest.Micros(2000, 1, 1, 0, 0, 0, 500000),
			"ts":   time.Date(2024, 2, 29, 13, 14, 15, 123000000, time.UTC), "ts0": time.Date(2038, 1, 19, 3, 14, 7, 0, time.UTC),
			"tm": int64(3020399000000), "tm0": int64(-3020399000000), "tm2": int64(-1500000), "yr": int32(2024),
			"g": schematest.PointWKB(1, 2), "p": schematest.PointWKB(1, 2),
			"odd_col_name": int32(7), "_1st": int32(8),
		},
		{
			"id": int32(2),
			"ti": int32(-128), "tiu": int32(0), "si": int32(-32768), "siu": int32(0),
			"mi": int32(-8388608), "miu": int32(0), "i": int32(-2147483648), "iu": int64(0),
			"bi": int64(-9223372036854775808), "biu": schematest.Rat("0"), "bo": int32(0), "izf": int64(0),
			"dc": schematest.Rat("-0.01"), "dbig": schematest.Rat("-99999999999999999999999999999999999.999999999999999999999999999999"),
			"du": schematest.Rat("0"),
			"f":  float32(-3.4028234e38), "d": -1.7976931348623157e308,
			"b1": []byte{0}, "b5": []byte{1}, "b64": []byte{0x80, 0, 0, 0, 0, 0, 0, 0},
			"c": "", "cl": "", "c255": "",
			"vc": "", "vcl": "€\u0081\u008d\u008f\u0090\u009dÿ", "vca": "", "vc3": "", "vc300": "",
			"tt": "", "tx": "", "mt": "", "lt": "",
			"bn": []byte{0, 0, 0, 0}, "vb": []byte{}, "tb": []byte{0}, "bl": []byte{}, "mb": []byte{}, "lb": []byte{},
			"e": "", "s": "",
			"j":   `[]`,
			"dt":  schema.ZeroDate(),
			"dtm": schematest.DTU(schema.ZeroDateTime), "dtm0": schematest.DTU(schema.ZeroDateTime), "dtnn": schema.ZeroDateTime,
			"ts": schema.ZeroTimestamp(), "ts0": time.Date(1970, 1, 1, 0, 0, 1, 0, time.UTC),
			"tm": int64(-3020399000000), "tm0": int64(0), "tm2": int64(-10000), "yr": int32(0),
			"g": lineWKB, "p": schematest.PointWKB(-1.5, 0),
			"odd_col_name": int32(-1), "_1st": int32(0),
		},
		nulls(map[string]any{"id": int32(3), "dtnn": schematest.Micros(2000, 1, 1, 0, 0, 0, 0)}),
		nulls(map[string]any{
			"id": int32(4), "dt": schema.ZeroDate(), "dtm": schematest.DTU(schema.ZeroDateTime), "dtnn": schematest.Micros(2000, 1, 1, 0, 0, 0, 0),
			"tm": int64(-1), "tm2": int64(990000), "yr": int32(1901),
		}),
	}
}

// allTypesTable is the Table both constructors must produce.
func allTypesTable(db string) schema.Table {
	col := func(name string, typ string, nullable bool, charset string) schema.Column {
		ty, err := schema.ParseType(typ)
		if err != nil {
			panic(err)
		}
		ty.Charset = charset
		return schema.Column{Name: name, Type: ty, Nullable: nullable}
	}
	u := "utf8mb4"
	return schema.Table{Database: db, Name: "all_types", Key: []string{"id"}, Columns: []schema.Column{
		col("id", "int", false, ""),
		col("ti", "tinyint", true, ""), col("tiu", "tinyint unsigned", true, ""),
		col("si", "smallint", true, ""), col("siu", "smallint unsigned", true, ""),
		col("mi", "mediumint", true, ""), col("miu", "mediumint unsigned", true, ""),
		col("i", "int", true, ""), col("iu", "int unsigned", true, ""),
		col("bi", "bigint", true, ""), col("biu", "bigint unsigned", true, ""),
		col("bo", "tinyint", true, ""), col("izf", "int unsigned", true, ""),
		col("dc", "decimal(10,2)", true, ""), col("dbig", "decimal(65,30)", true, ""), col("du", "decimal(5,0)", true, ""),
		col("f", "float", true, ""), col("d", "double", true, ""),
		col("b1", "bit(1)", true, ""), col("b5", "bit(5)", true, ""), col("b64", "bit(64)", true, ""),
		col("c", "char(3)", true, u), col("cl", "char(5)", true, "latin1"), col("c255", "char(255)", true, u),
		col("vc", "varchar(20)", true, u), col("vcl", "varchar(20)", true, "latin1"), col("vca", "varchar(10)", true, "ascii"),
		col("vc3", "varchar(10)", true, "utf8mb3"), col("vc300", "varchar(300)", true, u),
		col("tt", "tinytext", true, u), col("tx", "text", true, u), col("mt", "mediumtext", true, u),
		col("lt", "longtext", true, "latin1"),
		col("bn", "binary(4)", true, ""), col("vb", "varbinary(10)", true, ""),
		col("tb", "tinyblob", true, ""), col("bl", "blob", true, ""), col("mb", "mediumblob", true, ""), col("lb", "longblob", true, ""),
		col("e", `enum('a','b''c','d\\e','é')`, true, u), col("s", "set('x','y','z')", true, u),
		col("j", "longtext", true, u),
		col("dt", "date", true, ""), col("dtm", "datetime(6)", true, ""), col("dtm0", "datetime", true, ""),
		col("dtnn", "datetime(3)", false, ""),
		col("ts", "timestamp(3)", true, ""), col("ts0", "timestamp", true, ""),
		col("tm", "time(6)", true, ""), col("tm0", "time", true, ""), col("tm2", "time(2)", true, ""), col("yr", "year", true, ""),
		col("g", "geometry", true, ""), col("p", "point", true, ""),
		col("odd col-name", "int", true, ""), col("1st", "int", true, ""),
	}}
}

func TestAllTypes(t *testing.T) {
	src := testenv.Source(t)
	db := src.NewDatabase(t)
	conn := connect(t, src, db)
	exec(t, conn, testenv.AllTypesDDL)
	pos := masterPos(t, conn)
	for _, q := range testenv.AllTypesRows {
		exec(t, conn, q)
	}
	want := allTypesExpected()
	wantTable := allTypesTable(db)

	loaded, err := LoadTable(context.Background(), conn, db, "all_types")
	if err != nil {
		t.Fatalf("LoadTable: %v", err)
	}
	schematest.DiffTables(t, "LoadTable", loaded, wantTable)

	rows := readInserts(t, src, pos, db, "all_types", len(want))
	var binlog []map[string]any
	for i, r := range rows {
		tm, err := FromTableMap(r.table)
		if err != nil {
			t.Fatalf("FromTableMap: %v", err)
		}
		if i == 0 {
			schematest.DiffTables(t, "FromTableMap", tm, wantTable)
			if !tm.Equal(loaded) {
				t.Errorf("FromTableMap != LoadTable")
			}
		}
		m, err := BinlogRow(tm, r.row)
		if err != nil {
			t.Fatalf("BinlogRow %d: %v", i+1, err)
		}
		binlog = append(binlog, m)
	}

	// A session time zone far from UTC must not change the text values.
	exec(t, conn, "SET SESSION time_zone = '+05:00'")
	text := textRows(t, conn, loaded)
	if len(text) != len(want) {
		t.Fatalf("text rows: got %d, want %d", len(text), len(want))
	}

	ns := event.Namespace("syncline." + db + ".all_types")
	valueSchema, err := event.ValueSchema(loaded, ns)
	if err != nil {
		t.Fatalf("ValueSchema: %v", err)
	}
	for i := range want {
		schematest.DiffRows(t, fmt.Sprintf("binlog row %d", i+1), binlog[i], want[i])
		schematest.DiffRows(t, fmt.Sprintf("text row %d", i+1), text[i], want[i])
		schematest.DiffRows(t, fmt.Sprintf("text vs binlog row %d", i+1), text[i], binlog[i])
		schematest.RoundTrip(t, valueSchema, binlog[i])
	}

	if got := InvalidDateColumns(loaded, rows[1].row); !schematest.EqualStrings(got, []string{"dtm0"}) {
		t.Errorf("InvalidDateColumns(row 2) = %v, want [dtm0]", got)
	}
	// 2024-02-30 was stored as the zero date (sql_mode without
	// ALLOW_INVALID_DATES), so only the zero day of dt is reported.
	if got := InvalidDateColumns(loaded, rows[3].row); !schematest.EqualStrings(got, []string{"dt"}) {
		t.Errorf("InvalidDateColumns(row 4) = %v, want [dt]", got)
	}

	// The envelope encodes too, with a snapshot of row 1 as after.
	env, err := event.EnvelopeSchema(loaded, ns)
	if err != nil {
		t.Fatalf("EnvelopeSchema: %v", err)
	}
	_, err = avro.Marshal(env, map[string]any{
		"before": nil, "after": event.UnionRecord(valueSchema, binlog[0]),
		"source": map[string]any{"version": int64(1), "name": "syncline", "db": db, "table": "all_types",
			"server_id": int64(0), "gtid": nil, "file": pos.Name, "pos": int64(pos.Pos), "row": int32(0),
			"ts_ms": int64(0), "snapshot": "true"},
		"op": "r", "ts_ms": time.Now().UnixMilli(),
	})
	if err != nil {
		t.Fatalf("encode envelope: %v", err)
	}
	back, err := event.TableFromValueSchema(env)
	if err != nil {
		t.Fatalf("TableFromValueSchema: %v", err)
	}
	stripped := loaded
	stripped.Database, stripped.Name = "", ""
	stripped.Columns = append([]schema.Column(nil), loaded.Columns...)
	for i := range stripped.Columns {
		stripped.Columns[i].Type.Charset = ""
	}
	if !back.Equal(stripped) {
		schematest.DiffTables(t, "TableFromValueSchema", back, stripped)
	}
}

func TestTableChangesBetweenRows(t *testing.T) {
	src := testenv.Source(t)
	db := src.NewDatabase(t)
	conn := connect(t, src, db)
	exec(t, conn, "CREATE TABLE t (id INT PRIMARY KEY, a VARCHAR(10) CHARACTER SET latin1)")
	pos := masterPos(t, conn)
	exec(t, conn, "INSERT INTO t VALUES (1, 'é1')")
	exec(t, conn, "ALTER TABLE t ADD COLUMN b BIGINT UNSIGNED NOT NULL DEFAULT 7 AFTER id")
	exec(t, conn, "INSERT INTO t VALUES (2, 18446744073709551615, 'é2')")

	rows := readInserts(t, src, pos, db, "t", 2)
	before, err := FromTableMap(rows[0].table)
	if err != nil {
		t.Fatal(err)
	}
	after, err := FromTableMap(rows[1].table)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(schematest.ColumnNames(before)); got != "[id a]" {
		t.Errorf("table before ALTER has columns %s", got)
	}
	if got := fmt.Sprint(schematest.ColumnNames(after)); got != "[id b a]" {
		t.Errorf("table after ALTER has columns %s", got)
	}
	r1, err := BinlogRow(before, rows[0].row)
	if err != nil {
		t.Fatal(err)
	}
	schematest.DiffRows(t, "row 1", r1, map[string]any{"id": int32(1), "a": "é1"})
	r2, err := BinlogRow(after, rows[1].row)
	if err != nil {
		t.Fatal(err)
	}
	schematest.DiffRows(t, "row 2", r2, map[string]any{"id": int32(2), "b": schematest.Rat("18446744073709551615"), "a": "é2"})
	loaded, err := LoadTable(context.Background(), conn, db, "t")
	if err != nil {
		t.Fatal(err)
	}
	schematest.DiffTables(t, "after ALTER", after, loaded)
}

// TestCharsets checks the conversion of every byte of the single-byte
// charsets, and sample text of the multi-byte ones, against the server's own
// conversion to utf8mb4.
func TestCharsets(t *testing.T) {
	src := testenv.Source(t)
	db := src.NewDatabase(t)
	conn := connect(t, src, db)
	var single []string
	for cs := range singleByteTables {
		single = append(single, cs)
	}
	sort.Strings(single)
	multi := []string{"ucs2", "utf16", "utf16le", "utf32", "gbk", "gb2312", "big5", "sjis", "cp932", "ujis", "eucjpms", "euckr", "utf8mb3"}
	var cols []string
	for _, cs := range append(append([]string{}, single...), multi...) {
		cols = append(cols, fmt.Sprintf("c_%s VARCHAR(300) CHARACTER SET %s", cs, cs))
	}
	exec(t, conn, "CREATE TABLE cs (id INT PRIMARY KEY, "+strings.Join(cols, ", ")+")")
	pos := masterPos(t, conn)

	var all strings.Builder
	for b := range 256 {
		fmt.Fprintf(&all, "%02X", b)
	}
	var sets []string
	for _, cs := range single {
		sets = append(sets, fmt.Sprintf("c_%s = X'%s'", cs, all.String()))
	}
	exec(t, conn, "INSERT INTO cs SET id = 1, "+strings.Join(sets, ", "))
	samples := map[string]string{
		"ucs2": "Grüße €", "utf16": "😀 Grüße", "utf16le": "😀 Grüße", "utf32": "😀 Grüße", "utf8mb3": "ñandú €",
		"gbk": "中文测试", "gb2312": "中文", "big5": "中文測試", "sjis": "日本語テスト", "cp932": "日本語①", "ujis": "日本語",
		"eucjpms": "日本語", "euckr": "한국어",
	}
	sets = nil
	for _, cs := range multi {
		sets = append(sets, fmt.Sprintf("c_%s = '%s'", cs, samples[cs]))
	}
	exec(t, conn, "INSERT INTO cs SET id = 2, "+strings.Join(sets, ", "))

	rows := readInserts(t, src, pos, db, "cs", 2)
	tbl, err := FromTableMap(rows[0].table)
	if err != nil {
		t.Fatal(err)
	}
	text := textRows(t, conn, tbl)
	for i, r := range rows {
		b, err := BinlogRow(tbl, r.row)
		if err != nil {
			t.Fatalf("BinlogRow: %v", err)
		}
		for _, c := range tbl.Columns[1:] {
			got, want := b[c.Name], text[i][c.Name]
			if want == nil {
				continue
			}
			if got != want {
				t.Errorf("row %d %s: binlog conversion %+q, server conversion %+q", i+1, c.Name, got, want)
			}
		}
	}
	for _, cs := range multi {
		if got := text[1]["c_"+cs]; got != samples[cs] {
			t.Errorf("%s sample read back as %q", cs, got)
		}
	}
}

func TestLoadTableErrors(t *testing.T) {
	src := testenv.Source(t)
	db := src.NewDatabase(t)
	conn := connect(t, src, db)
	exec(t, conn, "CREATE TABLE nokey (a INT, b INT, UNIQUE KEY (a))")
	exec(t, conn, "CREATE TABLE uk (a INT, b INT NOT NULL, c VARCHAR(20) NOT NULL, UNIQUE KEY ua (a), UNIQUE KEY pfx (c(5)), UNIQUE KEY ub (b, c))")
	exec(t, conn, "CREATE TABLE inet (id INT PRIMARY KEY, ip INET6)")
	ctx := context.Background()
	if _, err := LoadTable(ctx, conn, db, "missing"); !errors.Is(err, schema.ErrNoTable) {
		t.Errorf("missing table: %v, want ErrNoTable", err)
	}
	if _, err := LoadTable(ctx, conn, db, "nokey"); !errors.Is(err, schema.ErrNoKey) {
		t.Errorf("table without key: %v, want ErrNoKey", err)
	}
	// INET6 was refused before Syncline carried it.
	if inet, err := LoadTable(ctx, conn, db, "inet"); err != nil || inet.Columns[1].Type.Kind != schema.Inet6 {
		t.Errorf("INET6 column: %+v, %v, want inet6", inet.Columns, err)
	}
	uk, err := LoadTable(ctx, conn, db, "uk")
	if err != nil {
		t.Fatal(err)
	}
	if !schematest.EqualStrings(uk.Key, []string{"b", "c"}) {
		t.Errorf("unique key: got %v, want [b c]", uk.Key)
	}
	// The server promotes the same key to primary key in the binlog.
	pos := masterPos(t, conn)
	exec(t, conn, "INSERT INTO uk VALUES (1, 2, 'three')")
	rows := readInserts(t, src, pos, db, "uk", 1)
	tm, err := FromTableMap(rows[0].table)
	if err != nil {
		t.Fatal(err)
	}
	schematest.DiffTables(t, "unique-key table", tm, uk)

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := LoadTable(cctx, conn, db, "uk"); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled context: %v", err)
	}
}

func TestNoRowMetadata(t *testing.T) {
	src := testenv.StartMariaDB(t, testenv.MariaDBOptions{RowMetadata: "MINIMAL"})
	conn := connect(t, src, "")
	exec(t, conn, "CREATE DATABASE m")
	exec(t, conn, "CREATE TABLE m.t (id INT PRIMARY KEY, u TINYINT UNSIGNED)")
	pos := masterPos(t, conn)
	exec(t, conn, "INSERT INTO m.t VALUES (1, 255)")
	rows := readInserts(t, src, pos, "m", "t", 1)
	_, err := FromTableMap(rows[0].table)
	if !errors.Is(err, schema.ErrNoRowMetadata) || !strings.Contains(err.Error(), "binlog_row_metadata=FULL") {
		t.Errorf("FromTableMap without metadata: %v", err)
	}
	// A Table from information_schema still decodes the signed binlog value.
	tbl, err := LoadTable(context.Background(), conn, "m", "t")
	if err != nil {
		t.Fatal(err)
	}
	m, err := BinlogRow(tbl, rows[0].row)
	if err != nil {
		t.Fatal(err)
	}
	schematest.DiffRows(t, "row without metadata", m, map[string]any{"id": int32(1), "u": int32(255)})
}

func TestRegistry(t *testing.T) {
	k := testenv.Kafka(t)
	cl, err := sr.NewClient(sr.URLs(k.RegistryURL))
	if err != nil {
		t.Fatal(err)
	}
	reg := event.NewRegistry(cl)
	ctx := context.Background()
	tbl := schema.Table{Database: "d", Name: "t", Key: []string{"id"}, Columns: []schema.Column{
		{Name: "id", Type: schema.Type{Kind: schema.Int}},
		{Name: "v", Type: schema.Type{Kind: schema.VarChar, Length: 20, Charset: "utf8mb4"}, Nullable: true},
	}}
	subject := "syncline.d.t-" + t.Name() + "-value"
	ns := event.Namespace("syncline.d.t")
	s1, err := event.EnvelopeSchema(tbl, ns)
	if err != nil {
		t.Fatal(err)
	}
	id1, err := reg.Register(ctx, subject, s1)
	if err != nil {
		t.Fatal(err)
	}
	again, err := reg.Register(ctx, subject, s1)
	if err != nil || again != id1 {
		t.Fatalf("second Register: %d, %v; want %d", again, err, id1)
	}
	// Same Avro types, different mysql.type: a new schema.
	tbl.Columns[1].Type.Length = 30
	s2, err := event.EnvelopeSchema(tbl, ns)
	if err != nil {
		t.Fatal(err)
	}
	id2, err := reg.Register(ctx, subject, s2)
	if err != nil {
		t.Fatal(err)
	}
	if id2 == id1 {
		t.Fatalf("varchar(30) schema got the id of varchar(20)")
	}
	// A fresh Registry reads the schema back from the server.
	got, err := event.NewRegistry(cl).Schema(ctx, id2)
	if err != nil {
		t.Fatal(err)
	}
	rec, ok := got.(*avro.RecordSchema)
	if !ok {
		t.Fatalf("schema %d is %T", id2, got)
	}
	back, err := event.TableFromValueSchema(rec)
	if err != nil {
		t.Fatal(err)
	}
	if back.Columns[1].Type.String() != "varchar(30)" || !back.Columns[1].Nullable || !schematest.EqualStrings(back.Key, []string{"id"}) {
		t.Errorf("table from registry schema: %+v", back)
	}
	// Concurrent registrations of a new schema share one request and id.
	tbl.Columns[1].Type.Length = 40
	s3, err := event.EnvelopeSchema(tbl, ns)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]int, 16)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id, err := reg.Register(ctx, subject, s3)
			if err != nil {
				t.Errorf("concurrent Register: %v", err)
			}
			ids[i] = id
		}()
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] || id == id2 || id == id1 {
			t.Fatalf("concurrent registrations got ids %v (earlier %d, %d)", ids, id1, id2)
		}
	}
	if _, err := reg.Schema(ctx, 1<<30); err == nil {
		t.Errorf("unknown schema id: no error")
	}
}

// TestLoadTableWhileDropped loads a table with a primary key while another
// connection drops it, again and again: each load finds the table with its
// key or finds it missing, never keyless (capture would park a table that
// an online schema change merely dropped).
func TestLoadTableWhileDropped(t *testing.T) {
	src := testenv.Source(t)
	db := src.NewDatabase(t)
	conn := connect(t, src, db)
	ddl := connect(t, src, db)
	ctx := context.Background()
	found, missing := 0, 0
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline) && found+missing < 500; {
		exec(t, ddl, "CREATE TABLE k (id INT PRIMARY KEY, a INT)")
		dropped := make(chan error, 1)
		go func() {
			_, err := ddl.Execute("DROP TABLE k")
			dropped <- err
		}()
		tbl, err := LoadTable(ctx, conn, db, "k")
		if dErr := <-dropped; dErr != nil {
			t.Fatalf("drop: %v", dErr)
		}
		switch {
		case err == nil && schematest.EqualStrings(tbl.Key, []string{"id"}):
			found++
		case errors.Is(err, schema.ErrNoTable):
			missing++
		default:
			t.Fatalf("load %d of a table dropped meanwhile: %+v, %v; want its key or ErrNoTable", found+missing+1, tbl, err)
		}
	}
	t.Logf("%d loads found the table, %d found it missing", found, missing)
}
