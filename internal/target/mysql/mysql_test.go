package mysql_test

import (
	"context"
	"database/sql"
	"math"
	"math/big"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/syncline/syncline/apply"
	"github.com/syncline/syncline/apply/sinktest"
	"github.com/syncline/syncline/endpoint"
	"github.com/syncline/syncline/internal/target/mysql"
	"github.com/syncline/syncline/schema"
	"github.com/syncline/syncline/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Run(m)) }

func newSink(t *testing.T, tgt *testenv.MySQL) *mysql.Sink {
	t.Helper()
	ep, err := endpoint.Parse(tgt.URL(""))
	if err != nil {
		t.Fatal(err)
	}
	s, err := mysql.New(ep, mysql.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newTarget(t *testing.T) sinktest.Target {
	tgt := testenv.Target(t)
	db := tgt.NewDatabase(t)
	pool := tgt.DB(t, "")
	return sinktest.Target{
		Sink:     newSink(t, tgt),
		Database: db,
		Rows: func(t *testing.T, db, table string, cols ...string) [][]*string {
			t.Helper()
			quoted := make([]string, len(cols))
			for i, c := range cols {
				quoted[i] = schema.QuoteIdent(c)
			}
			return query(t, pool, "SELECT "+strings.Join(quoted, ", ")+" FROM "+schema.QuoteIdent(db)+"."+schema.QuoteIdent(table)+" ORDER BY 1")
		},
		CreateUserTable: func(t *testing.T, db, table string) {
			q := schema.QuoteIdent(db) + "." + schema.QuoteIdent(table)
			tgt.Exec(t, "CREATE TABLE "+q+" (id INT PRIMARY KEY, v VARCHAR(20))")
			tgt.Exec(t, "INSERT INTO "+q+" VALUES (1, 'user')")
		},
		Columns: func(t *testing.T, db, table string) []string {
			rows := query(t, pool, "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION", db, table)
			out := make([]string, len(rows))
			for i, r := range rows {
				out[i] = *r[0]
			}
			return out
		},
	}
}

func query(t *testing.T, pool *sql.DB, q string, args ...any) [][]*string {
	t.Helper()
	rows, err := pool.Query(q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	var out [][]*string
	for rows.Next() {
		row, err := testenv.ScanStrings(rows)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestContract(t *testing.T) { sinktest.Run(t, newTarget) }

func mustType(t *testing.T, s string) schema.Type {
	t.Helper()
	typ, err := schema.ParseType(s)
	if err != nil {
		t.Fatal(err)
	}
	return typ
}

// TestAllTypes writes one value of every type, the extremes and the zero
// dates, and reads them back as the server prints them.
func TestAllTypes(t *testing.T) {
	tgt := testenv.Target(t)
	db := tgt.NewDatabase(t)
	s := newSink(t, tgt)
	defer s.Close()
	cols := []struct {
		name, typ string
		value     any
		want      string
	}{
		{"id", "int", int32(1), "1"},
		{"ti", "tinyint", int32(-128), "-128"},
		{"tiu", "tinyint unsigned", int32(255), "255"},
		{"si", "smallint unsigned", int32(65535), "65535"},
		{"mi", "mediumint", int32(-8388608), "-8388608"},
		{"iu", "int unsigned", int64(4294967295), "4294967295"},
		{"bi", "bigint", int64(math.MinInt64), "-9223372036854775808"},
		{"biu", "bigint unsigned", new(big.Rat).SetUint64(math.MaxUint64), "18446744073709551615"},
		{"de", "decimal(30,10)", mustRat("-12345678901234567890.0123456789"), "-12345678901234567890.0123456789"},
		{"fl", "float", float32(3.4028235e38), "3.40282e38"},
		{"do", "double", 0.1, "0.1"},
		{"bt", "bit(10)", []byte{0x03, 0xff}, "\x03\xff"},
		{"ch", "char(5)", "ab", "ab"},
		{"vc", "varchar(20)", "héllo 😀", "héllo 😀"},
		{"tx", "mediumtext", strings.Repeat("t", 70000), strings.Repeat("t", 70000)},
		{"bn", "binary(4)", []byte{0, 1, 0, 0}, "\x00\x01\x00\x00"},
		{"vb", "varbinary(10)", []byte{0xff, 0}, "\xff\x00"},
		{"bl", "longblob", []byte("blob\x00"), "blob\x00"},
		{"en", "enum('a','b c','d''e')", "d'e", "d'e"},
		{"st", "set('x','y','z')", "x,z", "x,z"},
		{"js", "json", `{"a": [1, 2]}`, `{"a": [1, 2]}`},
		{"da", "date", time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC), "2024-02-29"},
		{"dz", "date", schema.ZeroDate(), "0000-00-00"},
		{"dt", "datetime(6)", time.Date(1000, 1, 1, 23, 59, 59, 123456000, time.UTC), "1000-01-01 23:59:59.123456"},
		{"dtz", "datetime", time.UnixMicro(math.MinInt64).UTC(), "0000-00-00 00:00:00"},
		{"ts", "timestamp(3)", time.Date(2038, 1, 19, 3, 14, 7, 999000000, time.UTC), "2038-01-19 03:14:07.999"},
		{"tsz", "timestamp", schema.ZeroTimestamp(), "0000-00-00 00:00:00"},
		{"tm", "time(6)", int64(-(838*3600+59*60+58)*1e6 - 999999), "-838:59:58.999999"},
		{"tm2", "time", int64(100 * 3600 * 1e6), "100:00:00"},
		{"yr", "year", int32(2155), "2155"},
		{"yr0", "year", int32(0), "0000"},
		{"nul", "varchar(3)", nil, `\N`},
		{"pt", "point", []byte{1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 240, 63, 0, 0, 0, 0, 0, 0, 0, 64}, "POINT(1 2)"},
	}
	tab := schema.Table{Database: db, Name: "types", Key: []string{"id"}}
	row := map[string]any{}
	var selects []string
	for _, c := range cols {
		tab.Columns = append(tab.Columns, schema.Column{Name: c.name, Type: mustType(t, c.typ), Nullable: c.name != "id"})
		row[c.name] = c.value
		q := schema.QuoteIdent(c.name)
		switch c.typ {
		case "point":
			q = "ST_AsText(" + q + ")"
		case "year", "float":
			q = "CAST(" + q + " AS CHAR)"
		}
		selects = append(selects, q)
	}
	ctx := context.Background()
	if err := s.Prepare(ctx, tab, apply.PrepareOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(ctx, tab, []apply.Change{{Op: apply.Upsert, Row: row, Version: 1}}); err != nil {
		t.Fatal(err)
	}
	// The table's types are the source's.
	pool := tgt.DB(t, "")
	types := query(t, pool, "SELECT COLUMN_NAME, COLUMN_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'types' ORDER BY ORDINAL_POSITION", db)
	for i, c := range cols {
		got, err := schema.ParseType(*types[i][1])
		if err != nil || (got.String() != mustType(t, c.typ).String() && c.typ != "json") {
			t.Errorf("column %s has type %s, want %s", c.name, *types[i][1], c.typ)
		}
	}
	got := query(t, pool, "SELECT "+strings.Join(selects, ", ")+" FROM `"+db+"`.types")
	if len(got) != 1 {
		t.Fatalf("%d rows", len(got))
	}
	for i, c := range cols {
		v := `\N`
		if got[0][i] != nil {
			v = *got[0][i]
		}
		if v != c.want {
			if len(v) > 60 {
				v = v[:60] + "..."
			}
			t.Errorf("column %s (%s): got %q, want %q", c.name, c.typ, v, c.want)
		}
	}
}

func mustRat(s string) *big.Rat {
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		panic(s)
	}
	return r
}

// TestRetryable checks that a stopped target gives retryable errors and
// that the sink recovers once it is back.
func TestTargetDown(t *testing.T) {
	tgt := testenv.StartMariaDB(t, testenv.MariaDBOptions{NoBinlog: true, ServerID: 3})
	s := newSink(t, tgt)
	defer s.Close()
	ctx := context.Background()
	tab := schema.Table{Database: "down", Name: "kv", Key: []string{"id"}, Columns: []schema.Column{{Name: "id", Type: mustType(t, "int")}}}
	if err := s.Prepare(ctx, tab, apply.PrepareOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := tgt.Stop(); err != nil {
		t.Fatal(err)
	}
	err := s.Write(ctx, tab, []apply.Change{{Op: apply.Upsert, Row: map[string]any{"id": int32(1)}, Version: 1}})
	if err == nil || !apply.IsRetryable(err) {
		t.Fatalf("write to a stopped server: %v; want a retryable error", err)
	}
	if err := tgt.Start(); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(ctx, tab, []apply.Change{{Op: apply.Upsert, Row: map[string]any{"id": int32(1)}, Version: 1}}); err != nil {
		t.Fatalf("write after the restart: %v", err)
	}
	// A constraint error is final.
	err = s.Write(ctx, tab, []apply.Change{{Op: apply.Upsert, Row: map[string]any{"id": "not a number"}, Version: 1}})
	if err == nil || apply.IsRetryable(err) {
		t.Fatalf("bad value: %v; want a final error", err)
	}
}

// TestUUIDAndInetTypes writes UUID, INET4 and INET6 values keyed by a
// UUID, into the native types of the MariaDB target and into the text
// columns used on servers without them, and deletes by key in both; a
// sink that has the native types keeps an existing text column as it is.
func TestUUIDAndInetTypes(t *testing.T) {
	tgt := testenv.Target(t)
	pool := tgt.DB(t, "")
	ctx := context.Background()
	for _, native := range []bool{true, false} {
		db := tgt.NewDatabase(t)
		s := newSink(t, tgt)
		defer s.Close()
		if !native {
			if err := mysql.WithoutNativeTypes(ctx, s); err != nil {
				t.Fatal(err)
			}
		}
		tab := schema.Table{Database: db, Name: "addrs", Key: []string{"k"}, Columns: []schema.Column{
			{Name: "k", Type: mustType(t, "uuid")},
			{Name: "i4", Type: mustType(t, "inet4"), Nullable: true},
			{Name: "i6", Type: mustType(t, "inet6"), Nullable: true},
		}}
		if err := s.Prepare(ctx, tab, apply.PrepareOptions{}); err != nil {
			t.Fatal(err)
		}
		rows := []map[string]any{
			{"k": "00000000-0000-0000-0000-000000000000", "i4": "0.0.0.0", "i6": "::"},
			{"k": "6ccd780c-baba-1026-9564-5b8c656024db", "i4": "255.255.255.255", "i6": "::ffff:1.2.3.4"},
			{"k": "ffffffff-ffff-ffff-ffff-ffffffffffff", "i4": nil, "i6": "2001:db8:85a3::8a2e:370:7334"},
		}
		var changes []apply.Change
		for _, r := range rows {
			changes = append(changes, apply.Change{Op: apply.Upsert, Row: r, Version: 1})
		}
		if err := s.Write(ctx, tab, changes); err != nil {
			t.Fatal(err)
		}
		del := apply.Change{Op: apply.Delete, Row: map[string]any{"k": "ffffffff-ffff-ffff-ffff-ffffffffffff"}, Version: 2}
		if err := s.Write(ctx, tab, []apply.Change{del}); err != nil {
			t.Fatal(err)
		}
		want := []string{"uuid inet4 inet6", "char(36) varchar(15) varchar(39)"}[map[bool]int{true: 0, false: 1}[native]]
		typesOf := func() string {
			var out []string
			for _, r := range query(t, pool, "SELECT COLUMN_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'addrs' AND COLUMN_NAME <> ? ORDER BY ORDINAL_POSITION", db, apply.VersionColumn) {
				out = append(out, *r[0])
			}
			return strings.Join(out, " ")
		}
		if got := typesOf(); got != want {
			t.Errorf("native %v: column types %q, want %q", native, got, want)
		}
		var got []string
		for _, r := range query(t, pool, "SELECT k, i4, i6 FROM `"+db+"`.addrs ORDER BY CAST(k AS CHAR)") {
			var vals []string
			for _, v := range r {
				if v == nil {
					vals = append(vals, "NULL")
				} else {
					vals = append(vals, *v)
				}
			}
			got = append(got, strings.Join(vals, " "))
		}
		wantRows := "00000000-0000-0000-0000-000000000000 0.0.0.0 ::|6ccd780c-baba-1026-9564-5b8c656024db 255.255.255.255 ::ffff:1.2.3.4"
		if strings.Join(got, "|") != wantRows {
			t.Errorf("native %v: rows %q, want %q", native, strings.Join(got, "|"), wantRows)
		}
		if !native {
			// A server upgrade does not convert the text columns.
			s2 := newSink(t, tgt)
			defer s2.Close()
			if err := s2.Prepare(ctx, tab, apply.PrepareOptions{}); err != nil {
				t.Fatal(err)
			}
			if got := typesOf(); got != want {
				t.Errorf("after Prepare by a sink with native types: %q, want %q", got, want)
			}
		}
	}
}
