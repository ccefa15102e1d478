package apply_test

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/syncline/syncline/apply"
	"github.com/syncline/syncline/capture"
	"github.com/syncline/syncline/endpoint"
	"github.com/syncline/syncline/fault"
	"github.com/syncline/syncline/filter"
	applych "github.com/syncline/syncline/internal/target/clickhouse"
	applymysql "github.com/syncline/syncline/internal/target/mysql"
	applypg "github.com/syncline/syncline/internal/target/postgres"
	"github.com/syncline/syncline/testenv"
	"github.com/syncline/syncline/topics"
)

func TestMain(m *testing.M) {
	testenv.ChildMain(runChild)
	os.Exit(testenv.Run(m))
}

// applySpec configures an apply run, in this process or in a child
// (testenv.StartChild), so tests can kill a real process.
type applySpec struct {
	Target        string
	Brokers       []string
	Registry      string
	Prefix        string
	Group         string
	BatchRows     int
	FlushInterval time.Duration
	RetryWindow   time.Duration
	OnError       string
	InstanceID    string
	Existing      string
	SkipDDL       []int64
}

// runChild runs apply as configured by s until ctx ends; a permanent fault
// exits with fault.ExitPermanent, as syncline apply does.
func runChild(ctx context.Context, s applySpec) int {
	a, sink, err := s.build(slog.LevelWarn)
	if err != nil {
		fmt.Fprintln(os.Stderr, "apply:", err)
		return 2
	}
	defer sink.Close()
	if err := a.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "apply:", err)
		if fault.IsPermanent(err) {
			return fault.ExitPermanent
		}
		return 1
	}
	return 0
}

// build returns the Apply and its sink.
func (s applySpec) build(level slog.Level) (*apply.Apply, apply.Sink, error) {
	return s.buildWith(level, nil)
}

// buildWith is build with metrics.
func (s applySpec) buildWith(level slog.Level, m *apply.Metrics) (*apply.Apply, apply.Sink, error) {
	ep, err := endpoint.Parse(s.Target)
	if err != nil {
		return nil, nil, err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	var sink apply.Sink
	switch ep.Kind {
	case endpoint.MySQL:
		sink, err = applymysql.New(ep, applymysql.Options{Logger: log})
	case endpoint.Postgres:
		sink, err = applypg.New(ep, applypg.Options{Logger: log})
	case endpoint.ClickHouse:
		sink, err = applych.New(ep, applych.Options{Logger: log})
	default:
		err = fmt.Errorf("no sink for %s", ep.Kind)
	}
	if err != nil {
		return nil, nil, err
	}
	a, err := apply.New(apply.Config{
		Kafka: topics.Kafka{Brokers: s.Brokers}, RegistryURL: s.Registry, Prefix: s.Prefix, Group: s.Group,
		BatchRows: s.BatchRows, FlushInterval: s.FlushInterval, RetryWindow: s.RetryWindow,
		OnError: apply.OnError(s.OnError), InstanceID: s.InstanceID, ExistingTables: apply.ExistingTables(s.Existing), SkipDDL: s.SkipDDL, TopicRefresh: 500 * time.Millisecond,
		Logger: log, Metrics: m,
	}, sink)
	if err != nil {
		_ = sink.Close()
		return nil, nil, err
	}
	return a, sink, nil
}

// pipeline is one test's source database, Kafka, capture and apply.
type pipeline struct {
	t      *testing.T
	src    *testenv.MySQL
	kafka  *testenv.KafkaCluster
	db     string // the source database (and the target's)
	prefix string
	srcDB  *sql.DB
	spec   applySpec
	// editCapture, when set, changes capture's configuration before it
	// starts.
	editCapture func(*capture.Config)
}

func newPipeline(t *testing.T) *pipeline {
	t.Helper()
	src := testenv.Source(t)
	k := testenv.Kafka(t)
	db := src.NewDatabase(t)
	prefix := strings.ReplaceAll(db, ".", "_")
	return &pipeline{t: t, src: src, kafka: k, db: db, prefix: prefix, srcDB: src.DB(t, db), spec: applySpec{
		Brokers: k.Brokers, Registry: k.RegistryURL, Prefix: prefix, Group: prefix + "-apply",
		BatchRows: 2000, FlushInterval: 100 * time.Millisecond, RetryWindow: 2 * time.Minute,
	}}
}

func (p *pipeline) exec(q string, args ...any) {
	p.t.Helper()
	if _, err := p.srcDB.Exec(q, args...); err != nil {
		p.t.Fatalf("%s: %v", q, err)
	}
}

// startCapture runs capture in this process until the test ends or the
// returned stop is called.
func (p *pipeline) startCapture() (stop func() error) {
	p.t.Helper()
	src, err := endpoint.Parse(p.src.URL(""))
	if err != nil {
		p.t.Fatal(err)
	}
	sel, err := filter.Parse(p.db+".*", "")
	if err != nil {
		p.t.Fatal(err)
	}
	cfg := capture.Config{
		Source: src, Kafka: topics.Kafka{Brokers: p.kafka.Brokers}, RegistryURL: p.kafka.RegistryURL,
		Prefix: p.prefix, Tables: sel, ChunkRows: 1000, BatchRows: 5000,
		FlushInterval: 20 * time.Millisecond, Heartbeat: 200 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	if p.editCapture != nil {
		p.editCapture(&cfg)
	}
	c, err := capture.New(cfg)
	if err != nil {
		p.t.Fatal(err)
	}
	return runInBackground(p.t, "capture", c.Run)
}

// startApply runs apply in this process until the test ends or the
// returned stop is called.
func (p *pipeline) startApply() (stop func() error) {
	p.t.Helper()
	return runInBackground(p.t, "apply", p.newApply(nil))
}

// newApply builds apply as configured, with metrics on reg (none when nil),
// and returns its Run.
func (p *pipeline) newApply(reg prometheus.Registerer) func(context.Context) error {
	p.t.Helper()
	spec := p.spec
	a, sink, err := spec.buildWith(slog.LevelWarn, apply.NewMetrics(reg))
	if err != nil {
		p.t.Fatal(err)
	}
	p.t.Cleanup(func() { _ = sink.Close() })
	return a.Run
}

// runInBackground runs f until stop; an early failure fails the test.
func runInBackground(t *testing.T, name string, f func(context.Context) error) (stop func() error) {
	return testenv.Background(t, name, f)
}

// tableDump reads a whole table as text, ordered by its first column(s).
type tableDump struct {
	cols []string
	rows []string
}

// dumpMySQL reads db.table of a MySQL/MariaDB server: SELECT * (the target's
// version column is invisible), each row one line, the lines sorted.
func dumpMySQL(db *sql.DB, qualified string) (tableDump, error) {
	rows, err := db.Query("SELECT * FROM " + qualified)
	if err != nil {
		return tableDump{}, err
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	d := tableDump{cols: cols}
	for rows.Next() {
		vals, err := testenv.ScanStrings(rows)
		if err != nil {
			return tableDump{}, err
		}
		var b strings.Builder
		for i, v := range vals {
			if i > 0 {
				b.WriteByte('|')
			}
			if v != nil {
				b.WriteString(*v)
			} else {
				b.WriteString(`\N`)
			}
		}
		d.rows = append(d.rows, b.String())
	}
	sort.Strings(d.rows)
	return d, rows.Err()
}

// diff describes how two dumps differ, or returns "".
func diff(want, got tableDump) string {
	if strings.Join(want.cols, ",") != strings.Join(got.cols, ",") {
		return fmt.Sprintf("columns differ: source %v, target %v", want.cols, got.cols)
	}
	if len(want.rows) != len(got.rows) {
		return fmt.Sprintf("source has %d rows, target %d%s", len(want.rows), len(got.rows), firstDiff(want.rows, got.rows))
	}
	if d := firstDiff(want.rows, got.rows); d != "" {
		return "rows differ" + d
	}
	return ""
}

// short cuts a row for messages.
func short(s string) string {
	if len(s) > 300 {
		return s[:300] + fmt.Sprintf("...(%d bytes)", len(s))
	}
	return s
}

func firstDiff(a, b []string) string {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			return fmt.Sprintf(": row %d: source %q, target %q", i, short(a[i]), short(b[i]))
		}
	}
	if len(a) > len(b) {
		return fmt.Sprintf(": source row %q missing", short(a[len(b)]))
	}
	if len(b) > len(a) {
		return fmt.Sprintf(": extra target row %q", short(b[len(a)]))
	}
	return ""
}

// waitEqual polls until every table is equal in source and target, or
// fails the test with the last difference.
func waitEqual(t *testing.T, d time.Duration, tables []string, compare func(table string) string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		last := ""
		for _, table := range tables {
			if last = compare(table); last != "" {
				last = table + ": " + last
				break
			}
		}
		if last == "" {
			return
		}
		if t.Failed() {
			t.Fatalf("stopping: %s", last)
		}
		if time.Now().After(deadline) {
			t.Fatalf("target not equal to the source after %s: %s", d, last)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// load runs writers on the source until ctx ends: inserts, updates,
// deletes and primary-key changes on orders, and lines of items.
type load struct {
	wg  sync.WaitGroup
	ops atomic.Int64
	err atomic.Pointer[error]
}

func startLoad(ctx context.Context, t *testing.T, db *sql.DB, writers int, seed uint64) *load {
	l := &load{}
	var nextID atomic.Int64
	nextID.Store(1_000_000)
	for w := range writers {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(w)))
			for ctx.Err() == nil {
				if err := l.step(db, rng, &nextID); err != nil {
					if ctx.Err() == nil && !isDeadlock(err) {
						l.err.Store(&err)
						return
					}
				}
				l.ops.Add(1)
			}
		}()
	}
	return l
}

func (l *load) wait(t *testing.T) int64 {
	t.Helper()
	l.wg.Wait()
	if e := l.err.Load(); e != nil {
		t.Fatalf("load: %v", *e)
	}
	return l.ops.Load()
}

func isDeadlock(err error) bool {
	s := err.Error()
	return strings.Contains(s, "Deadlock") || strings.Contains(s, "Lock wait") || strings.Contains(s, "Duplicate entry")
}

// step runs one small transaction.
func (l *load) step(db *sql.DB, rng *rand.Rand, nextID *atomic.Int64) error {
	id := rng.IntN(2000) + 1
	var err error
	switch op := rng.IntN(100); {
	case op < 35:
		_, err = db.Exec("INSERT INTO orders (id, customer, amount, note, placed, flags) VALUES (?, ?, ?, ?, NOW(6), b'101')"+
			" ON DUPLICATE KEY UPDATE amount = amount + 1",
			id, fmt.Sprintf("cust-%d", rng.IntN(100)), fmt.Sprintf("%d.%02d", rng.IntN(10000), rng.IntN(100)), strings.Repeat("n", rng.IntN(300)))
	case op < 65:
		_, err = db.Exec("UPDATE orders SET amount = amount + 0.01, customer = CONCAT('u', ?), placed = NOW(6) WHERE id = ?", rng.IntN(1000), id)
	case op < 75:
		_, err = db.Exec("DELETE FROM orders WHERE id = ?", id)
	case op < 80:
		// A primary-key change.
		_, err = db.Exec("UPDATE orders SET id = ? WHERE id = ?", nextID.Add(1), id)
	case op < 95:
		var tx *sql.Tx
		if tx, err = db.Begin(); err != nil {
			return err
		}
		for line := range rng.IntN(4) + 1 {
			if _, err = tx.Exec("REPLACE INTO items (order_id, line, sku, qty) VALUES (?, ?, ?, ?)", id, line, fmt.Sprintf("sku-%d", rng.IntN(50)), rng.IntN(10)); err != nil {
				_ = tx.Rollback()
				return err
			}
		}
		err = tx.Commit()
	default:
		_, err = db.Exec("DELETE FROM items WHERE order_id = ?", id)
	}
	return err
}

// createLoadTables creates the tables the load writes.
func (p *pipeline) createLoadTables() {
	p.exec("CREATE TABLE orders (id BIGINT PRIMARY KEY, customer VARCHAR(40) NOT NULL, amount DECIMAL(12,2), note TEXT, placed DATETIME(6), flags BIT(3))")
	p.exec("CREATE TABLE items (order_id BIGINT, line INT, sku VARCHAR(20), qty INT UNSIGNED, PRIMARY KEY (order_id, line))")
	for i := 1; i <= 500; i++ {
		p.exec("INSERT INTO orders VALUES (?, 'seed', 1.00, 'seed', '2020-01-01 00:00:00', b'1')", i)
	}
}
