package target_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/syncline/syncline/apply"
	"github.com/syncline/syncline/endpoint"
	"github.com/syncline/syncline/internal/target"
	"github.com/syncline/syncline/internal/target/clickhouse"
	"github.com/syncline/syncline/internal/target/mysql"
	"github.com/syncline/syncline/internal/target/postgres"
	"github.com/syncline/syncline/internal/target/verifyread"
	"github.com/syncline/syncline/schema"
	"github.com/syncline/syncline/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Run(m)) }

// TestOpen opens each target from its URL and writes a row through the
// sink the registry gives: the scheme picks the target's own sink, which
// reaches the real server; verify's reader the registry gives reads the
// row back, and precheck's connection finds the table.
func TestOpen(t *testing.T) {
	my := testenv.Target(t)
	pg := testenv.Postgres(t)
	ch := testenv.ClickHouse(t)
	pgDB := pg.NewDatabase(t)
	for _, tc := range []struct {
		url   string
		db    string
		check func(apply.Sink) bool
		count func(t *testing.T, db string) int64
	}{
		{url: my.URL(""), db: my.NewDatabase(t), check: func(s apply.Sink) bool { _, ok := s.(*mysql.Sink); return ok },
			count: func(t *testing.T, db string) int64 {
				var n int64
				if err := my.DB(t, "").QueryRow("SELECT COUNT(*) FROM " + schema.QuoteIdent(db) + ".t").Scan(&n); err != nil {
					t.Fatal(err)
				}
				return n
			}},
		{url: pg.URL(pgDB), db: "shop", check: func(s apply.Sink) bool { _, ok := s.(*postgres.Sink); return ok },
			count: func(t *testing.T, db string) int64 {
				var n int64
				if err := pg.Conn(t, pgDB).QueryRow(context.Background(), `SELECT COUNT(*) FROM "`+db+`".t`).Scan(&n); err != nil {
					t.Fatal(err)
				}
				return n
			}},
		{url: ch.URL(""), db: ch.NewDatabase(t), check: func(s apply.Sink) bool { _, ok := s.(*clickhouse.Sink); return ok },
			count: func(t *testing.T, db string) int64 {
				var n uint64
				if err := ch.Conn(t).QueryRow(context.Background(), "SELECT count() FROM `"+db+"`.t FINAL WHERE _syncline_is_deleted = 0").Scan(&n); err != nil {
					t.Fatal(err)
				}
				return int64(n)
			}},
	} {
		ep, err := endpoint.Parse(tc.url)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(string(ep.Kind), func(t *testing.T) {
			tg, err := target.Open(ep, target.Options{MaxConns: 2})
			if err != nil {
				t.Fatal(err)
			}
			sink, err := tg.Sink()
			if err != nil {
				t.Fatal(err)
			}
			defer sink.Close()
			if !tc.check(sink) {
				t.Fatalf("%s: the registry gave a %T", ep.Kind, sink)
			}
			typ, err := schema.ParseType("int")
			if err != nil {
				t.Fatal(err)
			}
			tab := schema.Table{Database: tc.db, Name: "t", Key: []string{"id"}, Columns: []schema.Column{{Name: "id", Type: typ}}}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := sink.Prepare(ctx, tab, apply.PrepareOptions{}); err != nil {
				t.Fatal(err)
			}
			if err := sink.Write(ctx, tab, []apply.Change{{Op: apply.Upsert, Row: map[string]any{"id": int32(1)}, Version: 1}}); err != nil {
				t.Fatal(err)
			}
			if n := tc.count(t, tc.db); n != 1 {
				t.Errorf("%s: %d rows after writing one", ep.Kind, n)
			}

			// verify's reader of the target reads the row back.
			rd := tg.Reader(10 * time.Second)
			defer rd.Close()
			tr, err := rd.Open(ctx, &verifyread.Table{Source: tc.db + ".t", Database: tc.db, Name: "t",
				Columns: []verifyread.Column{{Source: tab.Columns[0], Target: "id"}}, Key: []int{0}})
			if err != nil {
				t.Fatal(err)
			}
			var read []string
			if err := tr.Rows(ctx, nil, nil, func(vals []any) error { read = append(read, fmt.Sprint(vals...)); return nil }); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(read, []string{"1"}) {
				t.Errorf("%s: the reader read %q, want the row id 1", ep.Kind, read)
			}

			// precheck's connection names the server and finds the table.
			pc, err := tg.Precheck(ctx, 10*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer pc.Close()
			if want := map[endpoint.Kind]string{endpoint.MySQL: "MariaDB", endpoint.Postgres: "PostgreSQL ", endpoint.ClickHouse: "ClickHouse "}[ep.Kind]; !strings.Contains(pc.Version(), want) {
				t.Errorf("%s: precheck's version %q does not name %q", ep.Kind, pc.Version(), want)
			}
			existing, err := pc.ExistingTables(ctx, []string{tc.db})
			if err != nil {
				t.Fatal(err)
			}
			if !existing[tc.db+".t"] {
				t.Errorf("%s: precheck does not find the table %s.t it wrote: %v", ep.Kind, tc.db, existing)
			}
		})
	}
}

// TestSchemes names every target's scheme in messages, in the registry's
// order, and only those.
func TestSchemes(t *testing.T) {
	if got, want := target.Schemes(), "mysql://, postgres:// or clickhouse://"; got != want {
		t.Errorf("Schemes() = %q, want %q", got, want)
	}
	if target.Serves("oracle") || !target.Serves(endpoint.ClickHouse) {
		t.Error("Serves: wrong kinds")
	}
}

// TestOpenUnknown refuses an endpoint no target serves, naming its kind.
func TestOpenUnknown(t *testing.T) {
	_, err := target.Open(endpoint.Endpoint{Kind: "oracle", Host: "db.example"}, target.Options{})
	if err == nil || !strings.Contains(err.Error(), "oracle") {
		t.Fatalf("Open(oracle): %v, want an error naming the kind", err)
	}
}
