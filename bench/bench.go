// Package bench is Syncline's benchmark harness (syncline bench, make
// bench). It measures, on real servers it is given, each part of the
// pipeline against a baseline taken on the same servers in the same run,
// back to back, and reports ratios rather than absolute speeds:
//
//   - capture of a prepared binlog into Kafka, against go-mysql's
//     replication package decoding the same binlog range and nothing else;
//   - the initial snapshot of a table into Kafka, against a plain SELECT *
//     over the same kind of connection;
//   - apply of the captured change events into ClickHouse, MySQL and
//     PostgreSQL, against a plain batch insert (COPY on PostgreSQL) of the
//     same rows in batches of the same size;
//   - the delay from source commit to target visibility under a steady
//     write rate;
//   - the peak memory of capture and of apply, each a syncline process of
//     its own, while one large source transaction passes through.
//
// Run executes them in that order and returns a Report; WriteDoc renders it
// into docs/benchmarks.md. The benchmarks are not tests: nothing here asserts
// a speed.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-mysql-org/go-mysql/client"
	"github.com/twmb/franz-go/pkg/kfake"

	"github.com/syncline/syncline/apply"
	"github.com/syncline/syncline/endpoint"
	"github.com/syncline/syncline/internal/servers"
)

// Defaults of Config: the sizes of make bench.
const (
	DefaultChanges      = 1_000_000
	DefaultSnapshotRows = 2_000_000
	DefaultMemoryRows   = 1_000_000
	DefaultPhase        = time.Minute
	DefaultSlowRate     = 2_000
	DefaultFastRate     = 10_000
	DefaultRepeat       = 3
	DefaultDatabase     = "bench"
)

// Config sizes a benchmark run. The zero value of a field means its
// default.
type Config struct {
	// Changes is the number of row changes (inserts, updates and deletes
	// of a 10-column table) in the captured binlog range, and so the number
	// of change events apply reads (DefaultChanges).
	Changes int
	// SnapshotRows is the size of the table the snapshot benchmark reads
	// (DefaultSnapshotRows).
	SnapshotRows int
	// MemoryRows is the size of the one source transaction of the memory
	// benchmark (DefaultMemoryRows).
	MemoryRows int
	// SlowRate and FastRate are the row changes per second of the two
	// delay phases (DefaultSlowRate, DefaultFastRate).
	SlowRate, FastRate int
	// Phase is how long each delay phase writes (DefaultPhase).
	Phase time.Duration
	// Repeat is how many times each throughput pair (baseline, then
	// Syncline) runs; the report gives medians (DefaultRepeat).
	Repeat int
	// BatchRows is apply's batch size and the baselines' rows per
	// transaction (apply.DefaultBatchRows).
	BatchRows int
	// Self is the syncline binary, run as a child process by the memory
	// benchmark; the benchmark is skipped when empty.
	Self string
	// ProfileDir receives a CPU profile of every measured Syncline run
	// (none when empty).
	ProfileDir string
	// Database is the source database the benchmarks create and drop
	// (DefaultDatabase). Targets get databases of the same name and of the
	// name with "_base" appended.
	Database string
	// Logger receives capture's and apply's logs; a logger that drops
	// everything below warnings fits. slog.Default() when nil.
	Logger *slog.Logger
	// Progress receives a line per step; none when nil.
	Progress io.Writer
	// Only, when not empty, names the benchmarks to run (Benchmarks lists
	// the names); the apply benchmarks also run the capture benchmark, whose
	// change events they read.
	Only []string
}

// Benchmarks are the names Config.Only accepts, in the order Run runs them.
var Benchmarks = []string{"capture", "snapshot", "apply-clickhouse", "apply-mysql", "apply-postgres", "delay", "memory"}

// runs reports whether c.Only selects the benchmark or step name: "apply"
// runs when an apply benchmark is selected, and "capture" too.
func (c *Config) runs(name string) bool {
	if len(c.Only) == 0 {
		return true
	}
	for _, o := range c.Only {
		applies := strings.HasPrefix(o, "apply-")
		if o == name || (applies && (name == "capture" || name == "apply")) {
			return true
		}
	}
	return false
}

// Quick returns c with sizes and durations a tenth of the defaults and a
// single repeat: a smoke run.
func (c Config) Quick() Config {
	c.Changes = DefaultChanges / 10
	c.SnapshotRows = DefaultSnapshotRows / 10
	c.MemoryRows = DefaultMemoryRows / 10
	c.Phase = DefaultPhase / 10
	c.Repeat = 1
	return c
}

func (c *Config) setDefaults() {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.Changes, DefaultChanges)
	def(&c.SnapshotRows, DefaultSnapshotRows)
	def(&c.MemoryRows, DefaultMemoryRows)
	def(&c.SlowRate, DefaultSlowRate)
	def(&c.FastRate, DefaultFastRate)
	def(&c.Repeat, DefaultRepeat)
	def(&c.BatchRows, apply.DefaultBatchRows)
	if c.Phase == 0 {
		c.Phase = DefaultPhase
	}
	if c.Database == "" {
		c.Database = DefaultDatabase
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Progress == nil {
		c.Progress = io.Discard
	}
}

// Validate fills in defaults and checks the configuration.
func (c *Config) Validate() error {
	c.setDefaults()
	var errs []error
	for _, f := range []struct {
		name string
		v    int
		min  int
	}{
		{"changes", c.Changes, 10}, {"snapshot-rows", c.SnapshotRows, 1}, {"memory-rows", c.MemoryRows, 1},
		{"slow-rate", c.SlowRate, 1}, {"fast-rate", c.FastRate, 1}, {"repeat", c.Repeat, 1}, {"batch-rows", c.BatchRows, 1},
	} {
		if f.v < f.min {
			errs = append(errs, fmt.Errorf("%s: %d must be at least %d", f.name, f.v, f.min))
		}
	}
	if c.Phase < time.Second {
		errs = append(errs, fmt.Errorf("phase: %s must be at least 1s", c.Phase))
	}
	for _, o := range c.Only {
		if !slices.Contains(Benchmarks, o) {
			errs = append(errs, fmt.Errorf("only: unknown benchmark %q; the benchmarks are %s", o, strings.Join(Benchmarks, ", ")))
		}
	}
	if c.Database == "" || strings.ContainsAny(c.Database, "`\"'.") {
		errs = append(errs, fmt.Errorf("database: %q is not a plain name", c.Database))
	}
	return errors.Join(errs...)
}

// Servers are the servers a run uses. Source must write a row binlog with
// full row images and full row metadata (testenv's defaults).
type Servers struct {
	Source     *servers.MySQL
	Target     *servers.MySQL
	Postgres   *servers.PostgresServer
	ClickHouse *servers.ClickHouseServer
	Kafka      *servers.KafkaCluster
	// Settings describes server settings that differ from testenv's, for
	// the report.
	Settings []string

	closers []func() error
}

// benchMariaDB is what Launch adds to testenv's MariaDB settings: room for
// the benchmark tables in memory, and a redo log that does not force
// checkpoints during large loads.
func benchMariaDB() []string {
	return []string{"innodb_buffer_pool_size=1G", "innodb_log_file_size=512M"}
}

// Launch starts every server in dir (created if missing): a MariaDB
// source, a MariaDB target, PostgreSQL, ClickHouse and an in-process Kafka
// with a schema registry. Close stops them; dir is left to the caller.
func Launch(ctx context.Context, dir string) (*Servers, error) {
	s := &Servers{Settings: []string{"MariaDB: " + strings.Join(benchMariaDB(), ", ")}}
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	start := func(name string, f func() (func() error, error)) {
		wg.Go(func() {
			closeFn, err := f()
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, fmt.Errorf("start %s: %w", name, err))
				return
			}
			s.closers = append(s.closers, closeFn)
		})
	}
	start("source MariaDB", func() (func() error, error) {
		m, err := servers.LaunchMariaDB(ctx, filepath.Join(dir, "source"), servers.MariaDBOptions{ExtraConfig: benchMariaDB()})
		if err != nil {
			return nil, err
		}
		s.Source = m
		return m.Close, nil
	})
	start("target MariaDB", func() (func() error, error) {
		m, err := servers.LaunchMariaDB(ctx, filepath.Join(dir, "target"), servers.MariaDBOptions{NoBinlog: true, ServerID: 2, ExtraConfig: benchMariaDB()})
		if err != nil {
			return nil, err
		}
		s.Target = m
		return m.Close, nil
	})
	start("PostgreSQL", func() (func() error, error) {
		pg, err := servers.LaunchPostgres(ctx, filepath.Join(dir, "postgres"))
		if err != nil {
			return nil, err
		}
		s.Postgres = pg
		return pg.Close, nil
	})
	start("ClickHouse", func() (func() error, error) {
		ch, err := servers.LaunchClickHouse(ctx, filepath.Join(dir, "clickhouse"))
		if err != nil {
			return nil, err
		}
		s.ClickHouse = ch
		return ch.Close, nil
	})
	start("Kafka", func() (func() error, error) {
		logDir, err := kafkaLogDir(dir)
		if err != nil {
			return nil, err
		}
		k, err := servers.LaunchKafka(kfake.DataDir(logDir))
		if err != nil {
			_ = os.RemoveAll(logDir)
			return nil, err
		}
		s.Kafka = k
		return func() error {
			return errors.Join(k.Close(), os.RemoveAll(logDir))
		}, nil
	})
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		_ = s.Close()
		return nil, err
	}
	return s, nil
}

// kafkaLogDir makes the directory of the in-process broker's log: in
// /dev/shm when the machine has that tmpfs, else in dir. The broker shares
// the CPU with the Syncline process it serves, which a real Kafka cluster
// does not, so the bench keeps what the broker costs small: a log in files
// on tmpfs costs one copy per write, while kfake's in-memory store copies a
// segment again each time it grows and, on a disk, every write is a
// filesystem write.
func kafkaLogDir(dir string) (string, error) {
	parent := dir
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		parent = "/dev/shm"
	}
	d, err := os.MkdirTemp(parent, "syncline-bench-kafka-")
	if err != nil {
		return "", fmt.Errorf("kafka log directory: %w", err)
	}
	return d, nil
}

// Close stops the servers Launch started.
func (s *Servers) Close() error {
	var errs []error
	for _, f := range s.closers {
		errs = append(errs, f())
	}
	s.closers = nil
	return errors.Join(errs...)
}

// harness is one Run.
type harness struct {
	cfg   Config
	srv   *Servers
	log   *slog.Logger
	kafka *kafkaTools

	src, tgt, pg, ch endpoint.Endpoint
	srcConn          *client.Conn // root on the source, for setup

	plan changePlan
	// streamPrefix is the capture prefix whose topics hold the captured
	// changes, for the apply benchmarks; empty when capture failed.
	streamPrefix string
}

// Run runs every benchmark on srv and returns the report. A benchmark that
// fails is reported as failed and the others still run; Run returns an
// error only when the setup fails or ctx ends.
func Run(ctx context.Context, cfg Config, srv *Servers) (*Report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.ProfileDir != "" {
		if err := os.MkdirAll(cfg.ProfileDir, 0o755); err != nil {
			return nil, fmt.Errorf("profile dir: %w", err)
		}
	}
	h := &harness{cfg: cfg, srv: srv, log: cfg.Logger}
	rep := &Report{Started: time.Now(), Config: cfg, Settings: srv.Settings}
	defer h.close()
	if err := h.open(ctx); err != nil {
		return nil, err
	}
	rep.Machine = describeMachine(ctx, h)

	steps := []struct {
		name string
		run  func(context.Context) []Result
	}{
		{"capture", h.captureBench},
		{"snapshot", h.snapshotBench},
		{"apply", h.applyBenches},
		{"delay", h.delayBench},
		{"memory", h.memoryBench},
	}
	defer func() { rep.Took = time.Since(rep.Started) }()
	for _, st := range steps {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		if !cfg.runs(st.name) {
			continue
		}
		h.progress("== %s", st.name)
		for _, res := range st.run(ctx) {
			if res.Status != Met && res.Status != Missed {
				h.progress("%s: %s", res.Name, res.outcome())
			}
			rep.Results = append(rep.Results, res)
		}
	}
	return rep, ctx.Err()
}

// open parses the endpoints and connects to the source.
func (h *harness) open(ctx context.Context) error {
	var err error
	parse := func(raw string) endpoint.Endpoint {
		if err != nil {
			return endpoint.Endpoint{}
		}
		var e endpoint.Endpoint
		e, err = endpoint.Parse(raw)
		return e
	}
	h.src = parse(h.srv.Source.URL(""))
	h.tgt = parse(h.srv.Target.URL(""))
	h.pg = parse(h.srv.Postgres.URL(h.cfg.Database))
	h.ch = parse(h.srv.ClickHouse.URL(""))
	if err != nil {
		return err
	}
	if h.kafka, err = newKafkaTools(h.srv.Kafka.Brokers); err != nil {
		return err
	}
	if h.srcConn, err = endpoint.DialMySQL(ctx, h.src, 10*time.Second); err != nil {
		return fmt.Errorf("source: %w", err)
	}
	db := "`" + h.cfg.Database + "`"
	if err := h.sourceExec("DROP DATABASE IF EXISTS "+db, "CREATE DATABASE "+db); err != nil {
		return err
	}
	if err := h.createPostgresDatabase(ctx); err != nil {
		return err
	}
	h.plan = newChangePlan(h.cfg.Changes)
	return nil
}

func (h *harness) close() {
	if h.kafka != nil {
		h.kafka.close()
	}
	if h.srcConn != nil {
		_ = h.srcConn.Close()
	}
}

// progress writes one line of progress.
func (h *harness) progress(format string, args ...any) {
	fmt.Fprintf(h.cfg.Progress, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

// table returns the source table name qualified with the database.
func (h *harness) table(name string) string { return "`" + h.cfg.Database + "`.`" + name + "`" }

// prefix returns a topic prefix of the run.
func (h *harness) prefix(what string) string { return h.cfg.Database + "_" + what }

// sourceExec runs statements on the source.
func (h *harness) sourceExec(qs ...string) error {
	for _, q := range qs {
		if _, err := h.srcConn.Execute(q); err != nil {
			return fmt.Errorf("source: %s: %w", firstWords(q), err)
		}
	}
	return nil
}

// firstWords shortens a statement for messages.
func firstWords(q string) string {
	if len(q) > 80 {
		return q[:80] + "..."
	}
	return q
}
