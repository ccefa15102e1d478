package capture_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"runtime/pprof"
	"strings"
	"testing"
	"time"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/syncline/syncline/capture"
	"github.com/syncline/syncline/endpoint"
	"github.com/syncline/syncline/filter"
	eventfmt "github.com/syncline/syncline/internal/event"
	"github.com/syncline/syncline/testenv"
	"github.com/syncline/syncline/topics"
)

// The table of syncline bench (bench/data.go), and the SELECT list that
// makes its row of id X.
const (
	benchColumns = "id BIGINT NOT NULL PRIMARY KEY, account INT NOT NULL, qty INT NOT NULL, " +
		"amount DECIMAL(12,2) NOT NULL, score DOUBLE NOT NULL, name VARCHAR(64) NOT NULL, " +
		"note VARCHAR(255) NULL, status TINYINT NOT NULL, created DATETIME(6) NOT NULL, day DATE NOT NULL"
	benchRow = "seq, seq % 100000, seq % 1000, (seq % 100000) / 100, seq * 0.5, CONCAT('name-', seq), " +
		"IF(seq % 10 = 0, NULL, REPEAT('n', 40 + seq % 60)), seq % 5, " +
		"TIMESTAMP'2024-01-01 00:00:00' + INTERVAL seq SECOND + INTERVAL (seq % 1000000) MICROSECOND, " +
		"DATE'2024-01-01' + INTERVAL (seq % 1000) DAY"
	benchUpdate = "qty = qty + 1, status = (status + 1) % 5, note = IF(note IS NULL, NULL, REPEAT('u', CHAR_LENGTH(note)))"
)

// benchEnv is a benchmark's source table, Kafka and capture settings.
type benchEnv struct {
	b     *testing.B
	src   *testenv.MySQL
	kafka *testenv.KafkaCluster
	db    string
	sql   *sql.DB
	runs  int
}

func newBenchEnv(b *testing.B) *benchEnv {
	src := testenv.Source(b)
	db := src.NewDatabase(b)
	e := &benchEnv{b: b, src: src, kafka: testenv.Kafka(b), db: db, sql: src.DB(b, db)}
	e.exec("CREATE TABLE t (" + benchColumns + ")")
	return e
}

func (e *benchEnv) exec(q string) {
	e.b.Helper()
	if _, err := e.sql.Exec(q); err != nil {
		e.b.Fatalf("%s: %v", q, err)
	}
}

// insert writes the rows lo..hi in one transaction.
func (e *benchEnv) insert(lo, hi int) {
	e.exec(fmt.Sprintf("INSERT INTO t SELECT %s FROM seq_%d_to_%d", benchRow, lo, hi))
}

// config is capture's configuration for table t under a new prefix.
func (e *benchEnv) config(mode capture.SnapshotMode) capture.Config {
	e.b.Helper()
	src, err := endpoint.Parse(e.src.URL(""))
	if err != nil {
		e.b.Fatal(err)
	}
	sel, err := filter.Parse(e.db+".t", "")
	if err != nil {
		e.b.Fatal(err)
	}
	e.runs++
	return capture.Config{
		Source: src, Kafka: topics.Kafka{Brokers: e.kafka.Brokers}, RegistryURL: e.kafka.RegistryURL,
		Prefix: fmt.Sprintf("%s_%d", strings.ReplaceAll(e.db, ".", "_"), e.runs), Tables: sel, Snapshot: mode,
		Logger: slog.New(slog.DiscardHandler),
	}
}

// run runs capture with cfg until one of its checkpoints satisfies done and
// returns how long that took. With SYNCLINE_BENCH_CPUPROFILE set, it writes
// a CPU profile of the run to that path with the run's number appended.
func (e *benchEnv) run(cfg capture.Config, done func(*topics.Checkpoint) bool) time.Duration {
	e.b.Helper()
	c, err := capture.New(cfg)
	if err != nil {
		e.b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cl := e.checkpoints(ctx, cfg.Prefix)
	defer cl.Close()
	if f := os.Getenv("SYNCLINE_BENCH_CPUPROFILE"); f != "" {
		out, err := os.Create(fmt.Sprintf("%s-%d", f, e.runs))
		if err != nil {
			e.b.Fatal(err)
		}
		defer out.Close()
		if err := pprof.StartCPUProfile(out); err != nil {
			e.b.Fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	began := time.Now()
	errc := make(chan error, 1)
	go func() { errc <- c.Run(ctx) }()
	for finished := false; !finished; {
		select {
		case err := <-errc:
			e.b.Fatalf("capture stopped: %v", err)
		default:
		}
		pctx, pcancel := context.WithTimeout(ctx, time.Second)
		fs := cl.PollFetches(pctx)
		pcancel()
		fs.EachRecord(func(r *kgo.Record) {
			var cp topics.Checkpoint
			if json.Unmarshal(r.Value, &cp) == nil && done(&cp) {
				finished = true
			}
		})
		if time.Since(began) > 5*time.Minute {
			e.b.Fatal("capture did not finish in 5 minutes")
		}
	}
	took := time.Since(began)
	cancel()
	if err := <-errc; err != nil {
		e.b.Fatalf("capture: %v", err)
	}
	return took
}

// checkpoints returns a client that reads the checkpoint topic of prefix
// from its start. The topic is created first: a consumer that starts
// before it exists waits for a metadata refresh, about a second.
func (e *benchEnv) checkpoints(ctx context.Context, prefix string) *kgo.Client {
	e.b.Helper()
	topic := eventfmt.Names{Prefix: prefix}.Checkpoints()
	adm, err := kgo.NewClient(kgo.SeedBrokers(e.kafka.Brokers...))
	if err != nil {
		e.b.Fatal(err)
	}
	err = topics.Ensure(ctx, kadm.NewClient(adm), topics.CheckpointsSpec(topic))
	adm.Close()
	if err != nil {
		e.b.Fatal(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.kafka.Brokers...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().AtStart()}}),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.FetchMaxWait(50*time.Millisecond))
	if err != nil {
		e.b.Fatal(err)
	}
	return cl
}

// report reports the rates of Syncline and the baseline and their ratio.
func report(b *testing.B, rows int, syncline, baseline time.Duration) {
	s := float64(rows) / syncline.Seconds()
	base := float64(rows) / baseline.Seconds()
	b.ReportMetric(s, "rows/s")
	b.ReportMetric(base, "baseline-rows/s")
	b.ReportMetric(s/base, "ratio")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkSnapshot snapshots a table of the bench's ten columns into Kafka
// and compares the rate with a plain SELECT * streamed over a go-mysql
// connection. Run it with -benchtime=1x and several -count.
func BenchmarkSnapshot(b *testing.B) {
	const rows = 300_000
	e := newBenchEnv(b)
	for lo := 1; lo <= rows; lo += 50_000 {
		e.insert(lo, lo+49_999)
	}
	var syncline, baseline time.Duration
	for range b.N {
		baseline += e.scan(rows)
		cfg := e.config(capture.SnapshotInitial)
		syncline += e.run(cfg, func(cp *topics.Checkpoint) bool {
			st, ok := cp.Tables[e.db+".t"]
			return ok && st.Stage == topics.StageStreaming
		})
	}
	report(b, rows*b.N, syncline, baseline)
}

// scan reads the table with SELECT * and returns how long that took.
func (e *benchEnv) scan(want int) time.Duration {
	e.b.Helper()
	src, err := endpoint.Parse(e.src.URL(""))
	if err != nil {
		e.b.Fatal(err)
	}
	conn, err := endpoint.DialMySQL(context.Background(), src, 10*time.Second)
	if err != nil {
		e.b.Fatal(err)
	}
	defer conn.Close()
	began := time.Now()
	n := 0
	var res mysql.Result
	err = conn.ExecuteSelectStreaming("SELECT * FROM `"+e.db+"`.t", &res, func([]mysql.FieldValue) error {
		n++
		return nil
	}, nil)
	if err != nil || n != want {
		e.b.Fatalf("scan: %d rows, %v", n, err)
	}
	return time.Since(began)
}

// BenchmarkBinlog captures inserts, updates and deletes from the binlog
// into Kafka and compares the rate with go-mysql decoding the same binlog
// range. Run it with -benchtime=1x and several -count.
func BenchmarkBinlog(b *testing.B) {
	const unit, rounds = 10_000, 12 // 120,000 inserts and updates, 60,000 deletes
	const changes = rounds * unit * 5 / 2
	e := newBenchEnv(b)
	e.insert(1, rounds*unit)
	cfgs := make([]capture.Config, b.N)
	for i := range cfgs {
		cfgs[i] = e.config(capture.SnapshotNever)
		cfgs[i].Heartbeat = 100 * time.Millisecond
		e.run(cfgs[i], func(*topics.Checkpoint) bool { return true })
	}
	start := e.masterPos()
	for r := range rounds {
		e.insert(rounds*unit+r*unit+1, rounds*unit+(r+1)*unit)
		e.exec(fmt.Sprintf("UPDATE t SET %s WHERE id BETWEEN %d AND %d", benchUpdate, r*unit+1, (r+1)*unit))
		e.exec(fmt.Sprintf("DELETE FROM t WHERE id BETWEEN %d AND %d", r*unit/2+1, (r+1)*unit/2))
	}
	end := e.masterPos()
	var syncline, baseline time.Duration
	for i := range b.N {
		baseline += e.decode(start, end, changes)
		syncline += e.run(cfgs[i], func(cp *topics.Checkpoint) bool {
			return cp.SkipRows == 0 && !before(mysql.Position{Name: cp.File, Pos: cp.Pos}, end)
		})
	}
	report(b, changes*b.N, syncline, baseline)
}

func (e *benchEnv) masterPos() mysql.Position {
	e.b.Helper()
	var p mysql.Position
	var doDB, ignoreDB string
	if err := e.sql.QueryRow("SHOW MASTER STATUS").Scan(&p.Name, &p.Pos, &doDB, &ignoreDB); err != nil {
		e.b.Fatal(err)
	}
	return p
}

// before orders binlog positions of one server.
func before(p, q mysql.Position) bool { return p.Compare(q) < 0 }

// decode decodes the binlog from start to end with go-mysql and returns how
// long that took.
func (e *benchEnv) decode(start, end mysql.Position, want int) time.Duration {
	e.b.Helper()
	began := time.Now()
	syncer := replication.NewBinlogSyncer(replication.BinlogSyncerConfig{
		ServerID: 1999, Flavor: mysql.MariaDBFlavor, Host: e.src.Host, Port: uint16(e.src.Port),
		User: "root", Password: e.src.Password, Charset: "utf8mb4", ParseTime: true,
		TimestampStringLocation: time.UTC, EventCacheCount: 256, Logger: slog.New(slog.DiscardHandler),
	})
	defer syncer.Close()
	st, err := syncer.StartSync(start)
	if err != nil {
		e.b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	file, n := start.Name, 0
	for {
		ev, err := st.GetEvent(ctx)
		if err != nil {
			e.b.Fatal(err)
		}
		switch x := ev.Event.(type) {
		case *replication.RotateEvent:
			file = string(x.NextLogName)
		case *replication.RowsEvent:
			if x.Type() == replication.EnumRowsEventTypeUpdate {
				n += len(x.Rows) / 2
			} else {
				n += len(x.Rows)
			}
		}
		if ev.Header.LogPos > 0 && !before(mysql.Position{Name: file, Pos: ev.Header.LogPos}, end) {
			break
		}
	}
	if n != want {
		e.b.Fatalf("decoded %d row changes, want %d", n, want)
	}
	return time.Since(began)
}
