package postgres_test

import (
	"context"
	"math"
	"math/big"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/syncline/syncline/apply"
	"github.com/syncline/syncline/apply/postgres"
	"github.com/syncline/syncline/apply/sinktest"
	"github.com/syncline/syncline/endpoint"
	"github.com/syncline/syncline/schema"
	"github.com/syncline/syncline/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Run(m)) }

func newSink(t *testing.T, url string) *postgres.Sink {
	t.Helper()
	ep, err := endpoint.Parse(url)
	if err != nil {
		t.Fatal(err)
	}
	s, err := postgres.New(ep, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func quote(s string) string { return pgx.Identifier{s}.Sanitize() }

func newTarget(t *testing.T) sinktest.Target {
	pg := testenv.Postgres(t)
	db := pg.NewDatabase(t)
	conn := pg.Conn(t, db)
	return sinktest.Target{
		Sink:     newSink(t, pg.URL(db)),
		Database: "shop",
		Rows: func(t *testing.T, schemaName, table string, cols ...string) [][]*string {
			t.Helper()
			exprs := make([]string, len(cols))
			for i, c := range cols {
				exprs[i] = quote(c) + "::text"
			}
			return query(t, conn, "SELECT "+strings.Join(exprs, ", ")+" FROM "+quote(schemaName)+"."+quote(table)+" AS src ORDER BY src."+quote(cols[0]))
		},
		CreateUserTable: func(t *testing.T, schemaName, table string) {
			q := quote(schemaName) + "." + quote(table)
			for _, stmt := range []string{"CREATE SCHEMA IF NOT EXISTS " + quote(schemaName), "CREATE TABLE " + q + " (id int PRIMARY KEY, v varchar(20))", "INSERT INTO " + q + " VALUES (1, 'user')"} {
				if _, err := conn.Exec(context.Background(), stmt); err != nil {
					t.Fatal(err)
				}
			}
		},
		Columns: func(t *testing.T, schemaName, table string) []string {
			rows := query(t, conn, "SELECT column_name::text FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position", schemaName, table)
			out := make([]string, len(rows))
			for i, r := range rows {
				out[i] = *r[0]
			}
			return out
		},
	}
}

func query(t *testing.T, conn *pgx.Conn, q string, args ...any) [][]*string {
	t.Helper()
	rows, err := conn.Query(context.Background(), q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) ([]*string, error) {
		vals := make([]*string, len(r.FieldDescriptions()))
		ptrs := make([]any, len(vals))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		return vals, r.Scan(ptrs...)
	})
	if err != nil {
		t.Fatalf("%s: %v", q, err)
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

func mustRat(s string) *big.Rat {
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		panic(s)
	}
	return r
}

// TestAllTypes writes one value of every type, with the extremes and the
// zero dates, and reads the table's types and values back.
func TestAllTypes(t *testing.T) {
	pg := testenv.Postgres(t)
	db := pg.NewDatabase(t)
	s := newSink(t, pg.URL(db))
	defer s.Close()
	cols := []struct {
		name, typ string
		value     any
		pgType    string
		want      string
	}{
		{"id", "int", int32(1), "integer", "1"},
		{"ti", "tinyint", int32(-128), "smallint", "-128"},
		{"tiu", "tinyint unsigned", int32(255), "smallint", "255"},
		{"si", "smallint unsigned", int32(65535), "integer", "65535"},
		{"mi", "mediumint unsigned", int32(16777215), "integer", "16777215"},
		{"iu", "int unsigned", int64(4294967295), "bigint", "4294967295"},
		{"bi", "bigint", int64(math.MinInt64), "bigint", "-9223372036854775808"},
		{"biu", "bigint unsigned", new(big.Rat).SetUint64(math.MaxUint64), "numeric(20,0)", "18446744073709551615"},
		{"de", "decimal(30,10)", mustRat("-12345678901234567890.0123456789"), "numeric(30,10)", "-12345678901234567890.0123456789"},
		{"fl", "float", float32(3.4028235e38), "real", "3.4028235e+38"},
		{"do", "double", 0.1, "double precision", "0.1"},
		{"bt", "bit(10)", []byte{0x02, 0x05}, "bit(10)", "1000000101"},
		{"ch", "char(5)", "ab", "character varying(5)", "ab"},
		{"vc", "varchar(20)", "héllo 😀", "character varying(20)", "héllo 😀"},
		{"tx", "longtext", "text", "text", "text"},
		{"bn", "binary(4)", []byte{0, 1, 0, 0}, "bytea", `\x00010000`},
		{"bl", "blob", []byte("blob"), "bytea", `\x626c6f62`},
		{"en", "enum('a','b c')", "b c", "text", "b c"},
		{"st", "set('x','y','z')", "x,z", "text", "x,z"},
		{"js", "json", `{"a": [1, 2]}`, "jsonb", `{"a": [1, 2]}`},
		{"da", "date", time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC), "date", "2024-02-29"},
		{"dz", "date", schema.ZeroDate(), "date", "-infinity"},
		{"dt", "datetime(6)", time.Date(1000, 1, 1, 23, 59, 59, 123456000, time.UTC), "timestamp(6) without time zone", "1000-01-01 23:59:59.123456"},
		{"dtz", "datetime", time.UnixMicro(math.MinInt64).UTC(), "timestamp(0) without time zone", "-infinity"},
		{"ts", "timestamp(3)", time.Date(2038, 1, 19, 3, 14, 7, 999000000, time.UTC), "timestamp(3) with time zone", "2038-01-19 03:14:07.999+00"},
		{"tsz", "timestamp", schema.ZeroTimestamp(), "timestamp(0) with time zone", "-infinity"},
		{"tm", "time(6)", int64(-(838*3600+59*60+58)*1e6 - 999999), "interval", "-838:59:58.999999"},
		{"tm2", "time", int64(100 * 3600 * 1e6), "interval", "100:00:00"},
		{"yr", "year", int32(2155), "smallint", "2155"},
		{"nul", "varchar(3)", nil, "character varying(3)", `\N`},
		{"pt", "point", []byte{1, 1, 0, 0, 0}, "bytea", `\x0101000000`},
	}
	tab := schema.Table{Database: "shop", Name: "types", Key: []string{"id"}}
	row := map[string]any{}
	var selects []string
	for _, c := range cols {
		tab.Columns = append(tab.Columns, schema.Column{Name: c.name, Type: mustType(t, c.typ), Nullable: c.name != "id"})
		row[c.name] = c.value
		selects = append(selects, quote(c.name)+"::text")
	}
	ctx := context.Background()
	if err := s.Prepare(ctx, tab, apply.PrepareOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Write(ctx, tab, []apply.Change{{Op: apply.Upsert, Row: row, Version: 1}}); err != nil {
		t.Fatal(err)
	}
	conn := pg.Conn(t, db)
	types := query(t, conn, `SELECT a.attname::text, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a
		WHERE a.attrelid = 'shop.types'::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`)
	for i, c := range cols {
		if *types[i][1] != c.pgType {
			t.Errorf("column %s (%s) has type %s, want %s", c.name, c.typ, *types[i][1], c.pgType)
		}
	}
	got := query(t, conn, "SELECT "+strings.Join(selects, ", ")+" FROM shop.types")
	for i, c := range cols {
		v := `\N`
		if got[0][i] != nil {
			v = *got[0][i]
		}
		if v != c.want {
			t.Errorf("column %s (%s): got %q, want %q", c.name, c.typ, v, c.want)
		}
	}
	// A string with NUL cannot be written: a final error, not a retry.
	err := s.Write(ctx, tab, []apply.Change{{Op: apply.Upsert, Row: map[string]any{"id": int32(2), "vc": "a\x00b"}, Version: 1}})
	if err == nil || apply.IsRetryable(err) {
		t.Fatalf("NUL in text: %v; want a final error", err)
	}
}

// TestTargetDown checks that a stopped server gives retryable errors and
// that the sink recovers once it is back.
func TestTargetDown(t *testing.T) {
	pg := testenv.Postgres(t)
	db := pg.NewDatabase(t)
	s := newSink(t, pg.URL(db))
	defer s.Close()
	ctx := context.Background()
	tab := schema.Table{Database: "down", Name: "kv", Key: []string{"id"}, Columns: []schema.Column{{Name: "id", Type: mustType(t, "int")}}}
	if err := s.Prepare(ctx, tab, apply.PrepareOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := pg.Stop(); err != nil {
		t.Fatal(err)
	}
	err := s.Write(ctx, tab, []apply.Change{{Op: apply.Upsert, Row: map[string]any{"id": int32(1)}, Version: 1}})
	startErr := pg.Start()
	if err == nil || !apply.IsRetryable(err) {
		t.Fatalf("write to a stopped server: %v; want a retryable error", err)
	}
	if startErr != nil {
		t.Fatal(startErr)
	}
	if err := s.Write(ctx, tab, []apply.Change{{Op: apply.Upsert, Row: map[string]any{"id": int32(1)}, Version: 1}}); err != nil {
		t.Fatalf("write after the restart: %v", err)
	}
}
