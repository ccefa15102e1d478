package capture

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/syncline/syncline/internal/source/mysqlvalue"
	"github.com/syncline/syncline/schema"
)

// stream reads binlog events until ctx is done or an error occurs.
func (r *run) stream(ctx context.Context, s *replication.BinlogStreamer) error {
	r.lastCommit = time.Now()
	for {
		wait := r.cfg.FlushInterval
		if r.snap != nil || (!r.inTxn && r.pendingSnapshots() > 0) {
			wait = 10 * time.Millisecond
		}
		ectx, cancel := context.WithTimeout(ctx, wait)
		ev, err := s.GetEvent(ectx)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return r.shutdown(ctx)
			}
			if errors.Is(err, context.DeadlineExceeded) {
				if err := r.idle(ctx); err != nil {
					if errors.Is(err, errTaskStopped) {
						return r.stopTask(ctx)
					}
					return err
				}
				continue
			}
			return r.readError(err)
		}
		if err := r.event(ctx, ev); err != nil {
			if errors.Is(err, errTaskStopped) {
				return r.stopTask(ctx)
			}
			return err
		}
	}
}

// stopTask commits what was read, then tells the task's apply groups that
// capture stopped, so they drain and stop.
func (r *run) stopTask(ctx context.Context) error {
	if err := r.shutdown(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	if err := r.store.CaptureStopped(ctx); err != nil {
		return fmt.Errorf("tell apply that capture stopped: %w", err)
	}
	r.log.Info("capture stopped for syncline task stop", "position", r.resumePos.String())
	return errTaskStopped
}

// finalCommitTimeout bounds the commit of a stopping capture.
const finalCommitTimeout = 30 * time.Second

// shutdown commits what was read up to the last transaction boundary.
func (r *run) shutdown(ctx context.Context) error {
	if !r.pub.inTxn && !r.dirty {
		return ctx.Err()
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), finalCommitTimeout)
	defer cancel()
	if err := r.commit(cctx); err != nil {
		return fmt.Errorf("final commit: %w", err)
	}
	r.log.Info("capture stopped", "position", r.resumePos.String())
	return ctx.Err()
}

// idle runs when no event arrived for a while: the stream is at a
// transaction boundary or waiting inside a slow transaction.
func (r *run) idle(ctx context.Context) error {
	if r.inTxn {
		return nil
	}
	if err := r.followTask(ctx); err != nil {
		return err
	}
	if err := r.maybeSnapshot(ctx, r.resumePos, true); err != nil {
		return err
	}
	return r.maybeCommit(ctx, false)
}

// maybeCommit commits when the batch is full, when events waited long
// enough, or when a heartbeat is due.
func (r *run) maybeCommit(ctx context.Context, boundary bool) error {
	since := time.Since(r.lastCommit)
	switch {
	case r.pub.pending >= r.cfg.BatchRows:
	case r.pub.pending > 0 && since >= r.cfg.FlushInterval && (boundary || !r.inTxn):
	case r.dirty && since >= r.cfg.Heartbeat && !r.inTxn:
	default:
		return nil
	}
	return r.commit(ctx)
}

// event handles one binlog event.
func (r *run) event(ctx context.Context, ev *replication.BinlogEvent) error {
	h := ev.Header
	if h.Timestamp > 0 && h.EventType != replication.HEARTBEAT_EVENT {
		r.sourceTS = time.Unix(int64(h.Timestamp), 0)
	}
	switch e := ev.Event.(type) {
	case *replication.RotateEvent:
		r.file = string(e.NextLogName)
		if !r.inTxn {
			r.resumePos = position{r.file, uint32(e.Position)}
		}
		return nil
	case *replication.FormatDescriptionEvent:
		return nil
	case *replication.MariadbGTIDEvent:
		r.gtidSet[e.GTID.DomainID] = e.GTID.String()
		return r.beginTxn(ctx, h, e.GTID.String())
	case *replication.GTIDEvent:
		return r.beginTxn(ctx, h, gtidOf(e))
	case *replication.QueryEvent:
		q := string(e.Query)
		switch {
		case strings.EqualFold(q, "BEGIN"):
			if !r.inTxn {
				return r.beginTxn(ctx, h, "")
			}
			return nil
		case strings.EqualFold(q, "COMMIT"):
			return r.endTxn(ctx, h)
		}
		if err := r.ddl(ctx, h, e); err != nil {
			return err
		}
		return r.endTxn(ctx, h)
	case *replication.XIDEvent:
		return r.endTxn(ctx, h)
	case *replication.RowsEvent:
		return r.rows(ctx, h, e)
	case *replication.TableMapEvent:
		return nil
	}
	if h.EventType == replication.HEARTBEAT_EVENT {
		if !r.inTxn {
			// The server has nothing newer: the source is idle now.
			r.sourceTS = time.Now()
			r.dirty = true
		}
		return nil
	}
	if !r.inTxn && h.LogPos > 0 {
		r.resumePos = position{r.file, h.LogPos}
	}
	return nil
}

func gtidOf(e *replication.GTIDEvent) string {
	g, err := e.GTIDNext()
	if err != nil {
		return ""
	}
	return g.String()
}

// beginTxn handles the event that opens a source transaction; snapshot
// chunks are read here, at the boundary before it.
func (r *run) beginTxn(ctx context.Context, h *replication.EventHeader, gtid string) error {
	if r.inTxn {
		return nil
	}
	start := position{r.file, h.LogPos - h.EventSize}
	if err := r.followTask(ctx); err != nil {
		return err
	}
	if err := r.maybeSnapshot(ctx, start, false); err != nil {
		return err
	}
	r.inTxn, r.txnStart, r.txnGTID, r.rowsInTxn = true, r.resumePos, gtid, 0
	return nil
}

// endTxn closes a source transaction.
func (r *run) endTxn(ctx context.Context, h *replication.EventHeader) error {
	r.inTxn, r.txnGTID, r.rowsInTxn, r.skipRows = false, "", 0, 0
	r.resumePos = position{r.file, h.LogPos}
	r.lastTxnEnd = r.resumePos
	r.dirty = true
	return r.maybeCommit(ctx, true)
}

// rows publishes the row images of one rows event.
func (r *run) rows(ctx context.Context, h *replication.EventHeader, e *replication.RowsEvent) error {
	kind := e.Type()
	step := 1
	if kind == replication.EnumRowsEventTypeUpdate {
		step = 2
	}
	n := int64(len(e.Rows) / step)
	first := r.rowsInTxn
	r.rowsInTxn += n
	db, name := string(e.Table.Schema), string(e.Table.Table)
	ts := r.tables[db+"."+name]
	if ts == nil || ts.waitsForSnapshot() || r.rowsInTxn <= r.skipRows {
		return nil
	}
	t, err := mysqlvalue.FromTableMap(e.Table)
	if err != nil {
		return r.parkOr(ts, fmt.Errorf("decode rows of %s.%s at %s:%d: %w", db, name, r.file, h.LogPos, err))
	}
	if t.HasFixedBinaryCandidates() {
		if t, err = r.fixedBinaryTypes(ctx, t); err != nil {
			return err
		}
	}
	codec, err := r.codecFor(ctx, t)
	if err != nil {
		return r.parkOr(ts, err)
	}
	eventStart := h.LogPos - h.EventSize
	src := sourceInfo{
		db: db, table: name, serverID: h.ServerID, gtid: r.txnGTID, file: r.file, pos: eventStart,
		tsMillis: int64(h.Timestamp) * 1000,
	}
	// Row i's version is that of the offset eventStart+i.
	eventVersion, err := version(r.file, eventStart)
	if err != nil {
		return err
	}
	for i := 0; i < int(n); i++ {
		if first+int64(i) < r.skipRows {
			continue
		}
		src.row, src.version = i, eventVersion+int64(i)
		var before, after []any
		switch kind {
		case replication.EnumRowsEventTypeInsert:
			after, err = mysqlvalue.BinlogValues(t, e.Rows[i])
		case replication.EnumRowsEventTypeDelete:
			before, err = mysqlvalue.BinlogValues(t, e.Rows[i])
		case replication.EnumRowsEventTypeUpdate:
			before, err = mysqlvalue.BinlogValues(t, e.Rows[2*i])
			if err == nil {
				after, err = mysqlvalue.BinlogValues(t, e.Rows[2*i+1])
			}
		default:
			return fmt.Errorf("rows event of unknown type %s at %s:%d", h.EventType, r.file, h.LogPos)
		}
		if err != nil {
			return r.parkOr(ts, fmt.Errorf("decode row of %s.%s at %s:%d: %w", db, name, r.file, h.LogPos, err))
		}
		before, after, ok := codec.narrow.change(before, after)
		if !ok {
			continue
		}
		if err := r.publishChange(ctx, ts, codec, before, after, src); err != nil {
			return err
		}
		if r.pub.pending >= r.cfg.BatchRows {
			// A large source transaction: commit this part with a
			// checkpoint that says how many of its rows are out.
			saved := r.rowsInTxn
			r.rowsInTxn = first + int64(i) + 1
			err := r.commit(ctx)
			r.rowsInTxn = saved
			if err != nil {
				return err
			}
		}
	}
	return nil
}

// fixedBinaryTypes gives the BINARY(16) and BINARY(4) columns of a table
// read from a TableMap event the UUID, INET6 or INET4 type the table
// declares for them in information_schema (which the binlog does not tell
// apart from BINARY), so that its binlog rows are published with the shape
// and values of its snapshot. The shape is read once per table and again
// after any DDL. A table that is gone (or that information_schema cannot
// describe) keeps the binlog's types.
func (r *run) fixedBinaryTypes(ctx context.Context, t schema.Table) (schema.Table, error) {
	name := t.Database + "." + t.Name
	known, ok := r.shapes[name]
	if !ok {
		loaded, err := mysqlvalue.LoadTable(ctx, r.conn, t.Database, t.Name)
		switch {
		case err == nil, errors.Is(err, schema.ErrNoKey), errors.Is(err, schema.ErrNoTable), errors.Is(err, schema.ErrUnsupportedType):
		default:
			return t, fmt.Errorf("read the column types of %s: %w", name, err)
		}
		if r.shapes == nil {
			r.shapes = map[string]schema.Table{}
		}
		r.shapes[name], known = loaded, loaded
	}
	return t.WithFixedBinaryTypes(known), nil
}

// publishChange publishes one change, filtered by the table's snapshot
// progress: keys the snapshot has not reached yet are left to it.
func (r *run) publishChange(ctx context.Context, ts *tableState, c *tableCodec, before, after []any, src sourceInfo) error {
	var beforeOut, afterOut bool
	if before != nil {
		beforeOut = ts.published(c, before)
	}
	if after != nil {
		afterOut = ts.published(c, after)
	}
	switch {
	case before == nil && after != nil:
		if afterOut {
			return r.pub.change(ctx, c, "c", nil, after, src)
		}
	case before != nil && after == nil:
		if beforeOut {
			return r.pub.change(ctx, c, "d", before, nil, src)
		}
	default:
		same := c.enc.SameKey(before, after)
		if same && beforeOut {
			return r.pub.change(ctx, c, "u", before, after, src)
		}
		if same {
			return nil
		}
		// A primary-key change: a delete of the old key and a create of
		// the new one.
		if beforeOut {
			if err := r.pub.change(ctx, c, "d", before, nil, src); err != nil {
				return err
			}
		}
		if afterOut {
			return r.pub.change(ctx, c, "c", nil, after, src)
		}
	}
	return nil
}

// errUndecodable marks a binlog event go-mysql cannot decode.
var errUndecodable = errors.New("binlog event cannot be decoded")

// readError words a failure to read the binlog. go-mysql's decoding errors
// quote the event's bytes (row data): keep only their reason.
func (r *run) readError(err error) error {
	msg := err.Error()
	if i := strings.LastIndex(msg, ", Err: "); i >= 0 && strings.Contains(msg, "don't know how to handle") {
		return fmt.Errorf("%w after %s: %s; the table holds a column type capture cannot read (such as a MariaDB COMPRESSED column): change the column or leave the table out with --exclude-tables", errUndecodable, r.resumePos, msg[i+len(", Err: "):])
	}
	return inClass(ClassSource, fmt.Errorf("read binlog after %s: %w", r.resumePos, err))
}
