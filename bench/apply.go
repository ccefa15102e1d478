package bench

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/jackc/pgx/v5"

	"github.com/syncline/syncline/apply"
	"github.com/syncline/syncline/endpoint"
	"github.com/syncline/syncline/internal/event"
	"github.com/syncline/syncline/internal/source/mysqlvalue"
	"github.com/syncline/syncline/internal/target"
	applych "github.com/syncline/syncline/internal/target/clickhouse"
	"github.com/syncline/syncline/topics"
)

// mysqlRowsPerStmt is the rows of one INSERT of the MySQL baseline: ten
// parameters a row, well under the protocol's 65,535.
const mysqlRowsPerStmt = 1000

// applyTarget is one target of the apply benchmarks.
type applyTarget struct {
	name     string // "ClickHouse", ...
	key      string // profile names
	target   string // the goal
	minRatio float64
	baseName string
	// reset drops what an earlier run left in the target.
	reset func(ctx context.Context) error
	// sink returns a new sink.
	sink func() (apply.Sink, error)
	// baseline inserts the rows of the change events the plain way and
	// returns the rows written.
	baseline func(ctx context.Context) (int, error)
	// count returns the rows apply left in the target, for a check.
	count func(ctx context.Context) (int64, error)
	// wantRows is what count should return.
	wantRows int64
}

// sink opens apply's sink for a target endpoint from the target registry,
// as syncline apply does.
func (h *harness) sink(ep endpoint.Endpoint) (apply.Sink, error) {
	t, err := target.Open(ep, target.Options{Logger: h.log})
	if err != nil {
		return nil, err
	}
	return t.Sink()
}

// applyBenches are benchmarks 3 and 4: apply of the captured change
// events into each target against a plain batch insert of the same rows.
func (h *harness) applyBenches(ctx context.Context) []Result {
	ins := int64(h.plan.rounds * h.plan.unit)
	targets := []applyTarget{
		{
			name: "Apply: Kafka to ClickHouse", key: "apply-clickhouse", target: "≥ 0.6", minRatio: 0.6,
			baseName: "clickhouse-go batch INSERT into a copy of apply's table",
			reset:    h.resetClickHouse, baseline: h.clickhouseBaseline, count: h.countClickHouse,
			sink: func() (apply.Sink, error) {
				return h.sink(h.ch)
			},
			wantRows: int64(h.plan.changes()),
		},
		{
			name: "Apply: Kafka to MySQL (MariaDB)", key: "apply-mysql", target: "≥ 0.5", minRatio: 0.5,
			baseName: fmt.Sprintf("multi-row INSERT, %d rows a statement, parameters bound, go-mysql client", mysqlRowsPerStmt),
			reset:    h.resetMySQL, baseline: h.mysqlBaseline, count: h.countMySQL,
			sink: func() (apply.Sink, error) {
				return h.sink(h.tgt)
			},
			wantRows: 2 * ins,
		},
		{
			name: "Apply: Kafka to PostgreSQL", key: "apply-postgres", target: "≥ 0.5", minRatio: 0.5,
			baseName: "COPY (pgx CopyFrom)",
			reset:    h.resetPostgres, baseline: h.postgresBaseline, count: h.countPostgres,
			sink: func() (apply.Sink, error) {
				return h.sink(h.pg)
			},
			wantRows: 2 * ins,
		},
	}
	var out []Result
	for _, t := range targets {
		if ctx.Err() != nil {
			break
		}
		if !h.cfg.runs(t.key) {
			continue
		}
		out = append(out, h.applyBench(ctx, t))
	}
	return out
}

// applyBench runs the pairs of one target.
func (h *harness) applyBench(ctx context.Context, t applyTarget) Result {
	res := Result{Name: t.name, Key: t.key, Target: t.target, MinRatio: t.minRatio, BaselineName: t.baseName}
	if h.streamPrefix == "" {
		return res.failed(errors.New("no captured changes: the capture benchmark failed"))
	}
	n := h.plan.changes()
	res.Notes = append(res.Notes, fmt.Sprintf("the %s change events of the capture benchmark; batches of %s rows", thousands(float64(n)), thousands(float64(h.cfg.BatchRows))))
	topic := event.Names{Prefix: h.streamPrefix}.Table(h.cfg.Database, "changes")
	want, err := h.kafka.appliedOffset(ctx, topic)
	if err != nil {
		return res.failed(err)
	}
	began := time.Now()
	for i := range h.cfg.Repeat {
		if !h.morePairs(i, began) {
			res.Notes = append(res.Notes, repeatNote(i))
			break
		}
		var p pair
		if err := t.reset(ctx); err != nil {
			return res.failed(fmt.Errorf("reset target: %w", err))
		}
		start := time.Now()
		rows, err := t.baseline(ctx)
		if err != nil {
			return res.failed(fmt.Errorf("baseline: %w", err))
		}
		p.baseline = float64(rows) / time.Since(start).Seconds()

		group := fmt.Sprintf("%s-%s-%d", h.streamPrefix, t.key, i+1)
		profile := fmt.Sprintf("%s-%d", t.key, i+1)
		took, err := h.runApply(ctx, t.sink, group, topic, want, profile)
		if err != nil {
			return res.failed(err)
		}
		p.syncline = float64(n) / took.Seconds()
		if got, err := t.count(ctx); err != nil {
			res.Notes = append(res.Notes, "count the target's rows: "+err.Error())
		} else if got != t.wantRows {
			res.Notes = append(res.Notes, fmt.Sprintf("run %d: the target holds %d rows, %d expected", i+1, got, t.wantRows))
		}
		res.add(p, h.profilePath(profile))
		h.progress("%s %d/%d: %s", t.key, i+1, h.cfg.Repeat, p)
	}
	return res.finish(ctx)
}

// runApply runs apply with its defaults into a new sink until the group has
// committed want on topic, and returns how long that took.
func (h *harness) runApply(ctx context.Context, newSink func() (apply.Sink, error), group, topic string, want int64, profile string) (time.Duration, error) {
	sink, err := newSink()
	if err != nil {
		return 0, err
	}
	defer sink.Close()
	a, err := apply.New(apply.Config{
		Kafka: topics.Kafka{Brokers: h.srv.Kafka.Brokers}, RegistryURL: h.srv.Kafka.RegistryURL,
		Prefix: h.streamPrefix, Group: group, BatchRows: h.cfg.BatchRows, Logger: h.log,
	}, sink)
	if err != nil {
		return 0, err
	}
	stopProfile := h.startProfile(profile)
	began := time.Now()
	watch, stop := background(ctx, "apply", a.Run)
	werr := h.kafka.waitGroup(watch, group, topic, want)
	took := time.Since(began)
	stopProfile()
	if err := stop(); err != nil {
		return 0, err
	}
	return took, werr
}

// baseDB is the target database of the baselines.
func (h *harness) baseDB() string { return h.cfg.Database + "_base" }

// eachBatch calls f with the row images of the plan's changes, in batches
// of BatchRows.
func (h *harness) eachBatch(f func([]change) error) error {
	batch := make([]change, 0, h.cfg.BatchRows)
	var err error
	h.plan.each(func(c change) bool {
		batch = append(batch, c)
		if len(batch) == h.cfg.BatchRows {
			err = f(batch)
			batch = batch[:0]
		}
		return err == nil
	})
	if err == nil && len(batch) > 0 {
		err = f(batch)
	}
	return err
}

// MySQL.

func (h *harness) resetMySQL(ctx context.Context) error {
	conn, err := endpoint.DialMySQL(ctx, h.tgt, 10*time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	for _, db := range []string{h.cfg.Database, h.baseDB()} {
		if _, err := conn.Execute("DROP DATABASE IF EXISTS `" + db + "`"); err != nil {
			return err
		}
	}
	return nil
}

func (h *harness) countMySQL(ctx context.Context) (int64, error) {
	conn, err := endpoint.DialMySQL(ctx, h.tgt, 10*time.Second)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	r, err := conn.Execute("SELECT COUNT(*) FROM `" + h.cfg.Database + "`.`changes`")
	if err != nil {
		return 0, err
	}
	return r.GetInt(0, 0)
}

// mysqlBaseline inserts the rows with prepared multi-row INSERTs, one
// transaction per batch, into a table of the source's shape.
func (h *harness) mysqlBaseline(ctx context.Context) (int, error) {
	conn, err := endpoint.DialMySQL(ctx, h.tgt, 10*time.Second)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	table := "`" + h.baseDB() + "`.`rows`"
	for _, q := range []string{
		"CREATE DATABASE IF NOT EXISTS `" + h.baseDB() + "`",
		"CREATE TABLE " + table + " (" + tableColumns + ") DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
	} {
		if _, err := conn.Execute(q); err != nil {
			return 0, err
		}
	}
	insert := func(rows int) string {
		one := "(" + strings.TrimSuffix(strings.Repeat("?, ", 10), ", ") + ")"
		return "INSERT INTO " + table + " (" + columnList + ") VALUES " + strings.TrimSuffix(strings.Repeat(one+", ", rows), ", ")
	}
	full, err := conn.Prepare(insert(mysqlRowsPerStmt))
	if err != nil {
		return 0, err
	}
	defer full.Close()
	written := 0
	args := make([]any, 0, 10*mysqlRowsPerStmt)
	err = h.eachBatch(func(batch []change) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := conn.Begin(); err != nil {
			return err
		}
		for len(batch) > 0 {
			k := min(len(batch), mysqlRowsPerStmt)
			args = args[:0]
			for _, c := range batch[:k] {
				args = c.image().mysqlArgs(args)
			}
			var err error
			if k == mysqlRowsPerStmt {
				_, err = full.Execute(args...)
			} else {
				_, err = conn.Execute(insert(k), args...)
			}
			if err != nil {
				_ = conn.Rollback()
				return err
			}
			batch = batch[k:]
			written += k
		}
		return conn.Commit()
	})
	return written, err
}

// PostgreSQL.

// createPostgresDatabase creates the PostgreSQL database of the run.
func (h *harness) createPostgresDatabase(ctx context.Context) error {
	admin := h.pg
	admin.Database = "postgres"
	conn, err := endpoint.ConnectPostgres(ctx, admin, 10*time.Second)
	if err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", h.cfg.Database).Scan(&exists); err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	if !exists {
		if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{h.cfg.Database}.Sanitize()); err != nil {
			return fmt.Errorf("postgres: %w", err)
		}
	}
	return nil
}

func (h *harness) pgConn(ctx context.Context) (*pgx.Conn, error) {
	return endpoint.ConnectPostgres(ctx, h.pg, 10*time.Second)
}

func (h *harness) resetPostgres(ctx context.Context) error {
	conn, err := h.pgConn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	for _, s := range []string{h.cfg.Database, h.baseDB()} {
		if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{s}.Sanitize()+" CASCADE"); err != nil {
			return err
		}
	}
	return nil
}

func (h *harness) countPostgres(ctx context.Context) (int64, error) {
	conn, err := h.pgConn(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var n int64
	err = conn.QueryRow(ctx, "SELECT COUNT(*) FROM "+pgx.Identifier{h.cfg.Database, "changes"}.Sanitize()).Scan(&n)
	return n, err
}

// postgresBaseline copies the rows with COPY, one COPY (and transaction)
// per batch, into a table of the source's shape.
func (h *harness) postgresBaseline(ctx context.Context) (int, error) {
	conn, err := h.pgConn(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	table := pgx.Identifier{h.baseDB(), "rows"}
	for _, q := range []string{
		"CREATE SCHEMA IF NOT EXISTS " + pgx.Identifier{h.baseDB()}.Sanitize(),
		"CREATE TABLE " + table.Sanitize() + " (" + pgColumns + ")",
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			return 0, err
		}
	}
	cols := strings.Split(strings.ReplaceAll(columnList, " ", ""), ",")
	written := 0
	rows := make([][]any, 0, h.cfg.BatchRows)
	err = h.eachBatch(func(batch []change) error {
		rows = rows[:0]
		for _, c := range batch {
			rows = append(rows, c.image().pgValues())
		}
		n, err := conn.CopyFrom(ctx, table, cols, pgx.CopyFromRows(rows))
		written += int(n)
		return err
	})
	return written, err
}

// ClickHouse.

func (h *harness) chConn(ctx context.Context) (driver.Conn, error) {
	return endpoint.OpenClickHouse(ctx, h.ch, 10*time.Second)
}

func (h *harness) resetClickHouse(ctx context.Context) error {
	conn, err := h.chConn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	for _, db := range []string{h.cfg.Database, h.baseDB()} {
		if err := conn.Exec(ctx, "DROP DATABASE IF EXISTS `"+db+"`"); err != nil {
			return err
		}
	}
	return nil
}

func (h *harness) countClickHouse(ctx context.Context) (int64, error) {
	conn, err := h.chConn(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	var n uint64
	err = conn.QueryRow(ctx, "SELECT count() FROM `"+h.cfg.Database+"`.`changes`").Scan(&n)
	return int64(n), err
}

// clickhouseBaseline inserts the rows, one batch (one native block) per
// INSERT, into a table with the columns, types and engine apply gives the
// source table on this server: apply writes one row per change event,
// with its version and delete flag. The table's shape comes from a table
// apply creates from the first events, which is then dropped.
func (h *harness) clickhouseBaseline(ctx context.Context) (int, error) {
	conn, err := h.chConn(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	cols, err := h.clickhouseShape(ctx, conn)
	if err != nil {
		return 0, fmt.Errorf("shape of apply's table: %w", err)
	}
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = "`" + c.name + "`"
	}
	insert := "INSERT INTO `" + h.baseDB() + "`.`rows` (" + strings.Join(names, ", ") + ")"
	written := 0
	version := uint64(0)
	vals := make([]any, len(cols))
	err = h.eachBatch(func(batch []change) error {
		b, err := conn.PrepareBatch(ctx, insert)
		if err != nil {
			return err
		}
		for _, c := range batch {
			version++
			r := c.image()
			for i, col := range cols {
				if vals[i], err = col.value(r, version, c.kind == 'd'); err != nil {
					_ = b.Abort()
					return err
				}
			}
			if err := b.Append(vals...); err != nil {
				_ = b.Abort()
				return err
			}
		}
		if err := b.Send(); err != nil {
			return err
		}
		written += len(batch)
		return nil
	})
	return written, err
}

// chColumn is a column of the ClickHouse baseline table.
type chColumn struct {
	name, typ string
}

// clickhouseShape has the ClickHouse sink create its table for the source
// table (from the source's live schema, as apply would from the events),
// copies that table's structure to the baseline table, and drops the sink's
// table again.
func (h *harness) clickhouseShape(ctx context.Context, conn driver.Conn) ([]chColumn, error) {
	t, err := mysqlvalue.LoadTable(ctx, h.srcConn, h.cfg.Database, "changes")
	if err != nil {
		return nil, err
	}
	sink, err := h.sink(h.ch)
	if err != nil {
		return nil, err
	}
	err = sink.Prepare(ctx, t, apply.PrepareOptions{Existing: apply.ExistingFail})
	_ = sink.Close()
	if err != nil {
		return nil, err
	}
	src := "`" + h.cfg.Database + "`.`changes`"
	base := "`" + h.baseDB() + "`.`rows`"
	for _, q := range []string{
		"CREATE DATABASE IF NOT EXISTS `" + h.baseDB() + "`",
		"DROP TABLE IF EXISTS " + base,
		"CREATE TABLE " + base + " AS " + src,
		"DROP DATABASE `" + h.cfg.Database + "`",
	} {
		if err := conn.Exec(ctx, q); err != nil {
			return nil, err
		}
	}
	rows, err := conn.Query(ctx, "SELECT name, type FROM system.columns WHERE database = ? AND table = 'rows'", h.baseDB())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var cols []chColumn
	for rows.Next() {
		var c chColumn
		if err := rows.Scan(&c.name, &c.typ); err != nil {
			return nil, err
		}
		cols = append(cols, c)
	}
	return cols, rows.Err()
}

// value returns the column's value for a row, in the Go type the driver
// appends to the column's type.
func (c chColumn) value(r row, version uint64, deleted bool) (any, error) {
	var v any
	switch c.name {
	case "id":
		v = r.id
	case "account":
		v = int64(r.account)
	case "qty":
		v = int64(r.qty)
	case "amount":
		v = r.amountText()
	case "score":
		v = r.score
	case "name":
		v = r.name
	case "note":
		if !r.noteNull {
			v = r.note
		}
	case "status":
		v = int64(r.status)
	case "created":
		v = r.created
	case "day":
		v = r.day
	case apply.VersionColumn:
		return version, nil
	case applych.DeletedColumn:
		if deleted {
			return uint8(1), nil
		}
		return uint8(0), nil
	default:
		return nil, fmt.Errorf("unexpected column %s", c.name)
	}
	if v == nil {
		return nil, nil
	}
	typ := c.typ
	for _, wrap := range []string{"Nullable(", "LowCardinality("} {
		if strings.HasPrefix(typ, wrap) {
			typ = strings.TrimSuffix(strings.TrimPrefix(typ, wrap), ")")
		}
	}
	family, _, _ := strings.Cut(typ, "(")
	if t, ok := v.(time.Time); ok {
		switch family {
		case "Int32":
			return int32(t.Unix() / 86400), nil
		case "Int64":
			return t.UnixMicro(), nil
		}
		return t, nil
	}
	if n, ok := v.(int64); ok {
		switch family {
		case "Int8":
			return int8(n), nil
		case "Int16":
			return int16(n), nil
		case "Int32":
			return int32(n), nil
		case "Int64":
			return n, nil
		case "UInt8":
			return uint8(n), nil
		case "UInt16":
			return uint16(n), nil
		case "UInt32":
			return uint32(n), nil
		case "UInt64":
			return uint64(n), nil
		case "Float64":
			return float64(n), nil
		}
	}
	if f, ok := v.(float64); ok && family == "Float32" {
		if float64(float32(f)) != f && !math.IsNaN(f) {
			return nil, fmt.Errorf("%v does not fit a Float32", f)
		}
		return float32(f), nil
	}
	return v, nil
}
