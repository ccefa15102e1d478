package bench

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/syncline/syncline/capture"
	"github.com/syncline/syncline/endpoint"
	"github.com/syncline/syncline/filter"
	"github.com/syncline/syncline/topics"
)

// baselineServerID is the replica server id of the decoding baseline.
const baselineServerID = 1999

// binlogPos is a place in the source's binlog.
type binlogPos struct {
	File string
	Pos  uint32
}

func (p binlogPos) String() string { return fmt.Sprintf("%s:%d", p.File, p.Pos) }

// less orders positions by the file's numeric suffix, then the offset.
func (p binlogPos) less(q binlogPos) bool {
	idx := func(f string) uint64 {
		n, _ := strconv.ParseUint(f[strings.LastIndexByte(f, '.')+1:], 10, 64)
		return n
	}
	if pi, qi := idx(p.File), idx(q.File); pi != qi {
		return pi < qi
	}
	return p.Pos < q.Pos
}

// masterPos returns the source's current binlog position.
func (h *harness) masterPos() (binlogPos, error) {
	res, err := h.srcConn.Execute("SHOW MASTER STATUS")
	if err != nil {
		return binlogPos{}, fmt.Errorf("source: SHOW MASTER STATUS: %w", err)
	}
	if res.RowNumber() == 0 {
		return binlogPos{}, fmt.Errorf("source: SHOW MASTER STATUS: no binlog")
	}
	file, _ := res.GetString(0, 0)
	pos, _ := res.GetUint(0, 1)
	return binlogPos{File: file, Pos: uint32(pos)}, nil
}

// captureConfig is capture's configuration as a user would write it: the
// defaults, a prefix and one table.
func (h *harness) captureConfig(prefix, table string, mode capture.SnapshotMode) (capture.Config, error) {
	sel, err := filter.Parse(h.cfg.Database+"."+table, "")
	if err != nil {
		return capture.Config{}, err
	}
	return capture.Config{
		Source: h.src, Kafka: topics.Kafka{Brokers: h.srv.Kafka.Brokers}, RegistryURL: h.srv.Kafka.RegistryURL,
		Prefix: prefix, Tables: sel, Snapshot: mode, Logger: h.log,
	}, nil
}

// runCapture runs capture with cfg until done returns for one of its
// committed checkpoints, and returns how long that took.
func (h *harness) runCapture(ctx context.Context, cfg capture.Config, profile string, done func(*topics.Checkpoint) bool) (time.Duration, error) {
	c, err := capture.New(cfg)
	if err != nil {
		return 0, err
	}
	stopProfile := h.startProfile(profile)
	began := time.Now()
	watch, stop := background(ctx, "capture", c.Run)
	werr := h.kafka.waitCheckpoint(watch, cfg.Prefix, done)
	took := time.Since(began)
	stopProfile()
	if err := stop(); err != nil {
		return 0, err
	}
	if werr != nil {
		return 0, werr
	}
	return took, nil
}

// startCheckpoint runs a capture on an idle source until its first
// checkpoint, so that a later capture of the prefix starts at the current
// position.
func (h *harness) startCheckpoint(ctx context.Context, prefix, table string) error {
	cfg, err := h.captureConfig(prefix, table, capture.SnapshotNever)
	if err != nil {
		return err
	}
	cfg.Heartbeat = 100 * time.Millisecond
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	_, err = h.runCapture(ctx, cfg, "", func(*topics.Checkpoint) bool { return true })
	return err
}

// caughtUp returns a checkpoint condition: the capture has published
// everything before end.
func caughtUp(end binlogPos) func(*topics.Checkpoint) bool {
	return func(cp *topics.Checkpoint) bool {
		return cp.SkipRows == 0 && !(binlogPos{cp.File, cp.Pos}).less(end)
	}
}

// captureBench is benchmark 1: capture of a prepared binlog range into
// Kafka against decoding the same range.
func (h *harness) captureBench(ctx context.Context) []Result {
	res := Result{
		Name: "Capture: binlog to Kafka", Key: "capture", Target: "≥ 0.7", MinRatio: 0.7,
		BaselineName: "go-mysql BinlogSyncer decoding the same range",
	}
	if err := h.prepareChanges(ctx); err != nil {
		return []Result{res.failed(err)}
	}
	n := h.plan.changes()
	prefixes := make([]string, h.cfg.Repeat)
	for i := range prefixes {
		prefixes[i] = h.prefix(fmt.Sprintf("cap%d", i+1))
		if err := h.startCheckpoint(ctx, prefixes[i], "changes"); err != nil {
			return []Result{res.failed(fmt.Errorf("first checkpoint: %w", err))}
		}
	}
	start, err := h.masterPos()
	if err != nil {
		return []Result{res.failed(err)}
	}
	began := time.Now()
	if err := writeChanges(ctx, h.srcConn, h.cfg.Database, h.table("changes"), h.plan); err != nil {
		return []Result{res.failed(err)}
	}
	end, err := h.masterPos()
	if err != nil {
		return []Result{res.failed(err)}
	}
	h.progress("wrote %d row changes in %d transactions in %s (binlog %s to %s)", n, 3*h.plan.rounds,
		time.Since(began).Round(time.Millisecond), start, end)
	u := float64(h.plan.rounds * h.plan.unit)
	res.Notes = append(res.Notes, fmt.Sprintf("%s row changes (%s inserts, %s updates, %s deletes) in %d source transactions",
		thousands(float64(n)), thousands(u), thousands(u), thousands(u/2), 3*h.plan.rounds))

	began = time.Now()
	for i, prefix := range prefixes {
		if !h.morePairs(i, began) {
			res.Notes = append(res.Notes, repeatNote(i))
			break
		}
		if i > 0 {
			// The apply benchmarks read the topics of the last pair.
			_ = h.kafka.deletePrefix(ctx, prefixes[i-1])
		}
		h.streamPrefix = ""
		var p pair
		rows, took, err := h.decodeBinlog(ctx, start, end)
		if err != nil {
			return []Result{res.failed(fmt.Errorf("baseline: %w", err))}
		}
		if rows != n {
			res.Notes = append(res.Notes, fmt.Sprintf("the baseline decoded %d row changes, not %d", rows, n))
		}
		p.baseline = float64(n) / took.Seconds()
		cfg, err := h.captureConfig(prefix, "changes", capture.SnapshotNever)
		if err != nil {
			return []Result{res.failed(err)}
		}
		profile := fmt.Sprintf("capture-%d", i+1)
		took, err = h.runCapture(ctx, cfg, profile, caughtUp(end))
		if err != nil {
			return []Result{res.failed(err)}
		}
		p.syncline = float64(n) / took.Seconds()
		res.add(p, h.profilePath(profile))
		h.progress("capture %d/%d: %s", i+1, h.cfg.Repeat, p)
		h.streamPrefix = prefix
	}
	return []Result{res.finish(ctx)}
}

// prepareChanges creates the table of the capture and apply benchmarks, filled with the rows the changes update
// and delete.
func (h *harness) prepareChanges(ctx context.Context) error {
	if err := h.sourceExec("CREATE TABLE " + h.table("changes") + " (" + tableColumns + ")"); err != nil {
		return err
	}
	began := time.Now()
	if err := fillRange(ctx, h.srcConn, h.cfg.Database, h.table("changes"), 1, h.plan.prefill(), 50_000); err != nil {
		return err
	}
	h.progress("filled %s with %d rows in %s", h.table("changes"), h.plan.prefill(), time.Since(began).Round(time.Millisecond))
	return nil
}

// decodeBinlog is the capture baseline: a BinlogSyncer configured as
// capture's reads from start to end and decodes the row events, doing
// nothing with them. It returns the row changes seen.
func (h *harness) decodeBinlog(ctx context.Context, start, end binlogPos) (int, time.Duration, error) {
	flavor := mysql.MySQLFlavor
	if strings.Contains(strings.ToLower(h.serverVersion()), "mariadb") {
		flavor = mysql.MariaDBFlavor
	}
	began := time.Now()
	syncer := replication.NewBinlogSyncer(replication.BinlogSyncerConfig{
		ServerID: baselineServerID, Flavor: flavor,
		Host: h.src.Host, Port: uint16(h.src.Port), User: h.src.User, Password: h.src.Password.Reveal(),
		Charset: "utf8mb4", ParseTime: true, TimestampStringLocation: time.UTC,
		EventCacheCount: 256, Logger: slog.New(slog.DiscardHandler),
	})
	defer syncer.Close()
	st, err := syncer.StartSync(mysql.Position{Name: start.File, Pos: start.Pos})
	if err != nil {
		return 0, 0, err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	file, rows := start.File, 0
	for {
		ev, err := st.GetEvent(ctx)
		if err != nil {
			return rows, 0, err
		}
		switch e := ev.Event.(type) {
		case *replication.RotateEvent:
			file = string(e.NextLogName)
		case *replication.RowsEvent:
			switch ev.Header.EventType {
			case replication.UPDATE_ROWS_EVENTv0, replication.UPDATE_ROWS_EVENTv1, replication.UPDATE_ROWS_EVENTv2,
				replication.PARTIAL_UPDATE_ROWS_EVENT:
				rows += len(e.Rows) / 2
			default:
				rows += len(e.Rows)
			}
		}
		if ev.Header.LogPos > 0 && !(binlogPos{file, ev.Header.LogPos}).less(end) {
			return rows, time.Since(began), nil
		}
	}
}

// serverVersion returns the source's VERSION().
func (h *harness) serverVersion() string {
	res, err := h.srcConn.Execute("SELECT VERSION()")
	if err != nil {
		return ""
	}
	v, _ := res.GetString(0, 0)
	return v
}

// snapshotBench is benchmark 2: the initial snapshot of a table into Kafka
// against a plain SELECT * of it.
func (h *harness) snapshotBench(ctx context.Context) []Result {
	res := Result{
		Name: "Snapshot: table to Kafka", Key: "snapshot", Target: "≥ 0.7", MinRatio: 0.7,
		BaselineName: "SELECT * streamed over a go-mysql client connection",
	}
	n := h.cfg.SnapshotRows
	if err := h.sourceExec("CREATE TABLE " + h.table("snap") + " (" + tableColumns + ")"); err != nil {
		return []Result{res.failed(err)}
	}
	began := time.Now()
	if err := fillRange(ctx, h.srcConn, h.cfg.Database, h.table("snap"), 1, int64(n), 100_000); err != nil {
		return []Result{res.failed(err)}
	}
	h.progress("filled %s with %d rows in %s", h.table("snap"), n, time.Since(began).Round(time.Millisecond))
	res.Notes = append(res.Notes, fmt.Sprintf("a %s-row table of the same 10 columns", thousands(float64(n))))
	// Warm the buffer pool, so that neither side of the first pair
	// reads from disk.
	if _, _, err := h.scanTable(ctx, "snap"); err != nil {
		return []Result{res.failed(err)}
	}
	began = time.Now()
	for i := range h.cfg.Repeat {
		if !h.morePairs(i, began) {
			res.Notes = append(res.Notes, repeatNote(i))
			break
		}
		var p pair
		rows, took, err := h.scanTable(ctx, "snap")
		if err != nil {
			return []Result{res.failed(fmt.Errorf("baseline: %w", err))}
		}
		if rows != n {
			res.Notes = append(res.Notes, fmt.Sprintf("the baseline read %d rows, not %d", rows, n))
		}
		p.baseline = float64(n) / took.Seconds()
		prefix := h.prefix(fmt.Sprintf("snap%d", i+1))
		cfg, err := h.captureConfig(prefix, "snap", capture.SnapshotInitial)
		if err != nil {
			return []Result{res.failed(err)}
		}
		name := h.cfg.Database + ".snap"
		profile := fmt.Sprintf("snapshot-%d", i+1)
		took, err = h.runCapture(ctx, cfg, profile, func(cp *topics.Checkpoint) bool {
			st, ok := cp.Tables[name]
			return ok && st.Stage == topics.StageStreaming
		})
		if err != nil {
			return []Result{res.failed(err)}
		}
		p.syncline = float64(n) / took.Seconds()
		res.add(p, h.profilePath(profile))
		h.progress("snapshot %d/%d: %s", i+1, h.cfg.Repeat, p)
		_ = h.kafka.deletePrefix(ctx, prefix)
	}
	return []Result{res.finish(ctx)}
}

// scanTable is the snapshot baseline: SELECT * of a table, streamed row by
// row over the kind of connection capture's snapshot uses, each row
// counted and dropped.
func (h *harness) scanTable(ctx context.Context, table string) (int, time.Duration, error) {
	began := time.Now()
	conn, err := endpoint.DialMySQL(ctx, h.src, 10*time.Second)
	if err != nil {
		return 0, 0, err
	}
	defer conn.Close()
	rows := 0
	var result mysql.Result
	err = conn.ExecuteSelectStreaming("SELECT * FROM "+h.table(table), &result, func([]mysql.FieldValue) error {
		rows++
		return nil
	}, nil)
	return rows, time.Since(began), err
}
