package target_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/syncline/syncline/apply"
	"github.com/syncline/syncline/endpoint"
	"github.com/syncline/syncline/internal/target"
	"github.com/syncline/syncline/internal/target/clickhouse"
	"github.com/syncline/syncline/internal/target/mysql"
	"github.com/syncline/syncline/internal/target/postgres"
	"github.com/syncline/syncline/schema"
	"github.com/syncline/syncline/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Run(m)) }

// TestOpen opens each target from its URL and writes a row through the
// sink the registry gives: the scheme picks the target's own sink, which
// reaches the real server.
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
		})
	}
}

// TestOpenUnknown refuses an endpoint no target serves, naming its kind.
func TestOpenUnknown(t *testing.T) {
	_, err := target.Open(endpoint.Endpoint{Kind: "oracle", Host: "db.example"}, target.Options{})
	if err == nil || !strings.Contains(err.Error(), "oracle") {
		t.Fatalf("Open(oracle): %v, want an error naming the kind", err)
	}
}
