package verify

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/syncline/syncline/apply"
	"github.com/syncline/syncline/capture"
	"github.com/syncline/syncline/endpoint"
	"github.com/syncline/syncline/filter"
	applych "github.com/syncline/syncline/internal/target/clickhouse"
	applymysql "github.com/syncline/syncline/internal/target/mysql"
	applypg "github.com/syncline/syncline/internal/target/postgres"
	"github.com/syncline/syncline/testenv"
	"github.com/syncline/syncline/topics"
)

func TestMain(m *testing.M) { os.Exit(testenv.Run(m)) }

// testLog is the log of the pipelines and verifiers under test: warnings
// only, unless -v.
func testLog() *slog.Logger {
	level := slog.LevelWarn
	if testing.Verbose() {
		level = slog.LevelInfo
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}

// pipeline is one test's source database, replicated by capture and apply
// (in this process) through Kafka into a target.
type pipeline struct {
	t      *testing.T
	src    *testenv.MySQL
	db     string // the source database, and the target's database or schema
	srcDB  *sql.DB
	target string // the target's URL
	count  func(table string) int
}

// newPipeline creates a source database; the target is chosen by kind.
func newPipeline(t *testing.T, kind endpoint.Kind) *pipeline {
	t.Helper()
	src := testenv.Source(t)
	db := src.NewDatabase(t)
	p := &pipeline{t: t, src: src, db: db, srcDB: src.DB(t, db)}
	ctx := context.Background()
	switch kind {
	case endpoint.MySQL:
		tgt := testenv.Target(t)
		p.target = tgt.URL("")
		tdb := tgt.DB(t, "")
		t.Cleanup(func() { tgt.Exec(t, "DROP DATABASE IF EXISTS `"+db+"`") })
		p.count = func(table string) int {
			var n int
			if err := tdb.QueryRow("SELECT COUNT(*) FROM `" + db + "`.`" + table + "`").Scan(&n); err != nil {
				return -1
			}
			return n
		}
	case endpoint.Postgres:
		pg := testenv.Postgres(t)
		pgdb := pg.NewDatabase(t)
		p.target = pg.URL(pgdb)
		conn := pg.Conn(t, pgdb)
		p.count = func(table string) int {
			var n int
			if err := conn.QueryRow(ctx, `SELECT COUNT(*) FROM "`+db+`"."`+table+`"`).Scan(&n); err != nil {
				return -1
			}
			return n
		}
	case endpoint.ClickHouse:
		ch := testenv.ClickHouse(t)
		p.target = ch.URL("")
		conn := ch.Conn(t)
		t.Cleanup(func() { _ = conn.Exec(context.Background(), "DROP DATABASE IF EXISTS `"+db+"`") })
		p.count = func(table string) int {
			var n uint64
			q := "SELECT count() FROM `" + db + "`.`" + table + "` FINAL WHERE _syncline_is_deleted = 0"
			if err := conn.QueryRow(ctx, q).Scan(&n); err != nil {
				return -1
			}
			return int(n)
		}
	default:
		t.Fatalf("no target of kind %s", kind)
	}
	return p
}

// exec runs statements on the source database.
func (p *pipeline) exec(queries ...string) {
	p.t.Helper()
	for _, q := range queries {
		if _, err := p.srcDB.Exec(q); err != nil {
			p.t.Fatalf("source: %s: %v", q, err)
		}
	}
}

// start runs capture and apply in the background until the test ends.
func (p *pipeline) start() {
	p.t.Helper()
	k := testenv.Kafka(p.t)
	log := testLog().With("test", p.t.Name())
	prefix := strings.ReplaceAll(p.db, ".", "_")
	srcEP, err := endpoint.Parse(p.src.URL(""))
	if err != nil {
		p.t.Fatal(err)
	}
	sel, err := filter.Parse(p.db+".*", "")
	if err != nil {
		p.t.Fatal(err)
	}
	c, err := capture.New(capture.Config{
		Source: srcEP, Kafka: topics.Kafka{Brokers: k.Brokers}, RegistryURL: k.RegistryURL,
		Prefix: prefix, Tables: sel, ChunkRows: 1000, BatchRows: 5000,
		FlushInterval: 20 * time.Millisecond, Heartbeat: 200 * time.Millisecond, Logger: log,
	})
	if err != nil {
		p.t.Fatal(err)
	}
	background(p.t, "capture", c.Run)
	tgtEP, err := endpoint.Parse(p.target)
	if err != nil {
		p.t.Fatal(err)
	}
	var sink apply.Sink
	switch tgtEP.Kind {
	case endpoint.MySQL:
		sink, err = applymysql.New(tgtEP, applymysql.Options{Logger: log})
	case endpoint.Postgres:
		sink, err = applypg.New(tgtEP, applypg.Options{Logger: log})
	case endpoint.ClickHouse:
		sink, err = applych.New(tgtEP, applych.Options{Logger: log})
	}
	if err != nil {
		p.t.Fatal(err)
	}
	p.t.Cleanup(func() { _ = sink.Close() })
	a, err := apply.New(apply.Config{
		Kafka: topics.Kafka{Brokers: k.Brokers}, RegistryURL: k.RegistryURL, Prefix: prefix, Group: prefix + "-apply",
		BatchRows: 2000, FlushInterval: 100 * time.Millisecond, RetryWindow: time.Minute, TopicRefresh: 500 * time.Millisecond,
		Logger: log,
	}, sink)
	if err != nil {
		p.t.Fatal(err)
	}
	background(p.t, "apply", a.Run)
}

// background runs f until the test ends; an early failure fails the test.
func background(t *testing.T, name string, f func(context.Context) error) {
	testenv.Background(t, name, f)
}

// sourceCount counts a source table's rows.
func (p *pipeline) sourceCount(table string) int {
	p.t.Helper()
	var n int
	if err := p.srcDB.QueryRow("SELECT COUNT(*) FROM `" + table + "`").Scan(&n); err != nil {
		p.t.Fatal(err)
	}
	return n
}

// waitSynced waits until every table has as many rows in the target as in
// the source.
func (p *pipeline) waitSynced(tables ...string) {
	p.t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for _, table := range tables {
		want := p.sourceCount(table)
		for {
			got := p.count(table)
			if got == want {
				break
			}
			if p.t.Failed() || time.Now().After(deadline) {
				p.t.Fatalf("%s: target holds %d rows, source %d", table, got, want)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
}

// config returns a verification of the pipeline's database.
func (p *pipeline) config() Config {
	p.t.Helper()
	return testConfig(p.t, p.src.URL(""), p.target, p.db+".*")
}

// testConfig returns a verification of the tables of pattern.
func testConfig(t *testing.T, source, target, pattern string) Config {
	t.Helper()
	src, err := endpoint.Parse(source)
	if err != nil {
		t.Fatal(err)
	}
	tgt, err := endpoint.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	sel, err := filter.Parse(pattern, "")
	if err != nil {
		t.Fatal(err)
	}
	return Config{
		Source: src, Target: tgt, Tables: sel,
		RecheckWait: 500 * time.Millisecond, RecheckAttempts: 1,
		Logger: testLog().With("test", t.Name()),
	}
}

// run verifies and returns the report.
func run(t *testing.T, cfg Config) *Report {
	t.Helper()
	v, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rep, err := v.Run(ctx)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	return rep
}

// table returns the report of one table.
func table(t *testing.T, rep *Report, name string) TableReport {
	t.Helper()
	for _, tr := range rep.Tables {
		if tr.Table == name {
			return tr
		}
	}
	t.Fatalf("no table %s in the report", name)
	return TableReport{}
}

// text renders a report for failure messages.
func text(rep *Report) string {
	var b strings.Builder
	_ = rep.WriteText(&b)
	return b.String()
}

// requireEqual fails unless the report says equal, with rows compared as
// the source holds.
func requireEqual(t *testing.T, p *pipeline, rep *Report, tables ...string) {
	t.Helper()
	if !rep.Equal() {
		t.Fatalf("verify reports differences:\n%s", text(rep))
	}
	for _, name := range tables {
		if got, want := table(t, rep, name).Rows, int64(p.sourceCount(name)); got != want {
			t.Errorf("%s: %d rows compared, the source holds %d\n%s", name, got, want, text(rep))
		}
	}
}

// insertRows inserts n rows through one multi-row statement per 500.
func (p *pipeline) insertRows(table string, n int, row func(i int) string) {
	p.t.Helper()
	for start := 1; start <= n; start += 500 {
		var vals []string
		for i := start; i < start+500 && i <= n; i++ {
			vals = append(vals, row(i))
		}
		p.exec(fmt.Sprintf("INSERT INTO `%s` VALUES %s", table, strings.Join(vals, ", ")))
	}
}
