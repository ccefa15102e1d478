package capture

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/go-mysql-org/go-mysql/client"
	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/syncline/syncline/endpoint"
	"github.com/syncline/syncline/internal/source/mysqlvalue"
	"github.com/syncline/syncline/schema"
)

// snapshot is an open consistent snapshot of the source and the binlog
// position it matches exactly.
type snapshot struct {
	conn   *client.Conn
	pos    position
	opened time.Time
	tables map[string]schema.Table // shapes loaded while it is open, by "db.table"
}

// table returns the shape of a table, loading it the first time it is asked
// for while the snapshot is open rather than per chunk: the snapshot reads
// rows as they were when it started, a DDL statement after that comes
// later in the binlog, and the server refuses reads of a table whose
// definition changed after the snapshot started.
func (s *snapshot) table(ctx context.Context, db, name string) (schema.Table, error) {
	if t, ok := s.tables[db+"."+name]; ok {
		return t, nil
	}
	t, err := mysqlvalue.LoadTable(ctx, s.conn, db, name)
	if err != nil {
		return schema.Table{}, err
	}
	s.tables[db+"."+name] = t
	return t, nil
}

// openSnapshot starts a consistent snapshot on a connection of its own.
func (r *run) openSnapshot(ctx context.Context) error {
	conn, err := endpoint.DialMySQL(ctx, r.cfg.Source, 10*time.Second)
	if err != nil {
		return err
	}
	s := &snapshot{conn: conn, opened: time.Now(), tables: map[string]schema.Table{}}
	for _, q := range []string{
		"SET SESSION time_zone = '+00:00'",
		"SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ",
	} {
		if _, err := conn.Execute(q); err != nil {
			conn.Close()
			return fmt.Errorf("snapshot: %s: %w", q, err)
		}
	}
	if r.flavor == mysql.MariaDBFlavor {
		s.pos, err = mariadbSnapshot(conn)
	} else {
		s.pos, err = mysqlSnapshot(conn)
	}
	if err != nil {
		conn.Close()
		return err
	}
	r.snap = s
	r.log.Debug("snapshot opened", "position", s.pos.String())
	return nil
}

// mariadbSnapshot opens the snapshot without locks: MariaDB reports the
// binlog position that matches it exactly.
func mariadbSnapshot(conn *client.Conn) (position, error) {
	if _, err := conn.Execute("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY"); err != nil {
		return position{}, fmt.Errorf("start consistent snapshot: %w", err)
	}
	res, err := conn.Execute("SHOW STATUS LIKE 'binlog_snapshot_%'")
	if err != nil {
		return position{}, fmt.Errorf("read snapshot position: %w", err)
	}
	var p position
	for i := range res.RowNumber() {
		name, _ := res.GetString(i, 0)
		val, _ := res.GetString(i, 1)
		switch strings.ToLower(name) {
		case "binlog_snapshot_file":
			p.File = val
		case "binlog_snapshot_position":
			n, err := strconv.ParseUint(val, 10, 32)
			if err != nil {
				return position{}, fmt.Errorf("snapshot position %q: %w", val, err)
			}
			p.Pos = uint32(n)
		}
	}
	if p.File == "" {
		return position{}, fmt.Errorf("the source reports no binlog_snapshot_file: is log_bin on?")
	}
	return p, nil
}

// mysqlSnapshot opens the snapshot on MySQL, which has no snapshot position
// status: a brief global read lock pins the position while the snapshot
// starts (needs the RELOAD privilege).
func mysqlSnapshot(conn *client.Conn) (position, error) {
	if _, err := conn.Execute("FLUSH TABLES WITH READ LOCK"); err != nil {
		return position{}, fmt.Errorf("snapshot on MySQL needs a brief global read lock: grant RELOAD to the capture user: %w", err)
	}
	defer conn.Execute("UNLOCK TABLES") //nolint:errcheck // the transaction below holds the snapshot
	if _, err := conn.Execute("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY"); err != nil {
		return position{}, fmt.Errorf("start consistent snapshot: %w", err)
	}
	return masterPosition(conn)
}

func (r *run) closeSnapshot() {
	if r.snap != nil {
		r.snap.conn.Close()
		r.snap = nil
	}
}

// maybeSnapshot reads snapshot chunks at a transaction boundary once the
// binlog has been read exactly up to the snapshot's position. boundary is
// where the next source transaction starts (or the current position when
// idle).
func (r *run) maybeSnapshot(ctx context.Context, boundary position, idle bool) error {
	if r.pendingSnapshots() == 0 {
		r.closeSnapshot()
		return nil
	}
	if r.snap == nil {
		if !idle && time.Since(r.lastCommit) < r.cfg.FlushInterval {
			// Let the binlog flow between snapshot rounds.
			return nil
		}
		if err := r.openSnapshot(ctx); err != nil {
			return err
		}
	}
	if r.snap.pos.less(r.lastTxnEnd) {
		// Transactions after the snapshot were already read: take a
		// newer snapshot.
		r.closeSnapshot()
		return nil
	}
	if boundary.less(r.snap.pos) {
		return nil // the binlog has not reached the snapshot yet
	}
	if err := r.readChunks(ctx); err != nil {
		return err
	}
	if err := r.noteSnapshotsDone(); err != nil {
		return err
	}
	if err := r.commit(ctx); err != nil {
		return err
	}
	r.closeSnapshot()
	return nil
}

// readChunks reads chunks of the next table from the open snapshot for up
// to ChunkTime, or all of a table whose key cannot be resumed.
func (r *run) readChunks(ctx context.Context) error {
	deadline := time.Now().Add(r.cfg.ChunkTime)
	for time.Now().Before(deadline) {
		ts := r.nextSnapshotTable()
		if ts == nil {
			return nil
		}
		t, err := r.snap.table(ctx, ts.db, ts.name)
		if err != nil {
			if err := r.parkOr(ts, fmt.Errorf("snapshot %s: %w", ts.fullName(), err)); err != nil {
				return err
			}
			continue
		}
		c, err := r.codecFor(ctx, t)
		if err != nil {
			if err := r.parkOr(ts, err); err != nil {
				return err
			}
			continue
		}
		done, err := r.readChunk(ctx, ts, c)
		if err != nil {
			return fmt.Errorf("snapshot %s: %w", ts.fullName(), err)
		}
		if done {
			ts.stage, ts.afterKey, ts.again = stageStreaming, nil, false
			r.snapDone = append(r.snapDone, ts)
			r.log.Info("snapshot of table done", "table", ts.fullName(), "rows", ts.rows)
		}
		if r.pub.pending >= r.cfg.BatchRows {
			if err := r.commit(ctx); err != nil {
				return err
			}
		}
	}
	return nil
}

// readChunk reads the rows after ts.afterKey (the whole table when the key
// cannot be resumed) and reports whether the table is done.
func (r *run) readChunk(ctx context.Context, ts *tableState, c *tableCodec) (bool, error) {
	// Without a row filter the chunk reads just the published columns and
	// encodes them straight from the text protocol. A filter needs values,
	// and may read columns that are not published: then the chunk reads
	// every column and converts it.
	direct := !c.narrow.filters()
	t := c.full
	if direct {
		t = c.table
	}
	resumable := resumableKey(t)
	keyList := make([]string, len(t.Key))
	for i, k := range t.Key {
		keyList[i] = schema.QuoteIdent(k)
	}
	var q strings.Builder
	fmt.Fprintf(&q, "SELECT %s FROM %s.%s", t.SelectList(), schema.QuoteIdent(t.Database), schema.QuoteIdent(t.Name))
	if resumable && ts.afterKey != nil {
		vars := make([]string, len(t.Key))
		args := make([]any, len(t.Key))
		for i, v := range ts.afterKey {
			vars[i] = fmt.Sprintf("@syncline_k%d", i)
			args[i] = keyParam(v)
		}
		set := "SET " + strings.Join(vars, " = ?, ") + " = ?"
		if _, err := r.snap.conn.Execute(set, args...); err != nil {
			return false, fmt.Errorf("set chunk boundary: %w", err)
		}
		fmt.Fprintf(&q, " WHERE (%s) > (%s)", strings.Join(keyList, ", "), strings.Join(vars, ", "))
	}
	fmt.Fprintf(&q, " ORDER BY %s", strings.Join(keyList, ", "))
	if resumable {
		fmt.Fprintf(&q, " LIMIT %d", r.cfg.ChunkRows)
	}
	ver, err := version(r.snap.pos.File, r.snap.pos.Pos)
	if err != nil {
		return false, err
	}
	src := sourceInfo{
		version: ver, db: t.Database, table: t.Name, file: r.snap.pos.File, pos: r.snap.pos.Pos,
		tsMillis: r.snap.opened.UnixMilli(), snapshot: true,
	}
	n := 0
	var last []any // the key of the last row of a full chunk
	var res mysql.Result
	err = r.snap.conn.ExecuteSelectStreaming(q.String(), &res, func(row []mysql.FieldValue) error {
		n++
		if resumable && n == r.cfg.ChunkRows {
			// The chunk's last row (LIMIT): the next chunk starts after
			// its key. TextValues copies: row points into the
			// connection's packet buffer.
			v, err := mysqlvalue.TextValues(t, row)
			if err != nil {
				return err
			}
			last = t.KeyValues(v)
		}
		if direct {
			return r.pub.snapshotRow(ctx, c, row, src)
		}
		v, err := mysqlvalue.TextValues(t, row)
		if err != nil {
			return err
		}
		out, ok := c.narrow.read(v)
		if !ok {
			return nil
		}
		return r.pub.change(ctx, c, "r", nil, out, src)
	}, nil)
	if err != nil {
		return false, err
	}
	ts.rows += int64(n)
	r.cfg.Metrics.snapshot(ts.fullName(), ts.rows, 0)
	if !resumable || n < r.cfg.ChunkRows {
		return true, nil
	}
	ts.afterKey = last
	return false, nil
}
