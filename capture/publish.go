package capture

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/syncline/syncline/internal/event"
	"github.com/syncline/syncline/internal/source/mysqlvalue"
	"github.com/syncline/syncline/schema"
	"github.com/syncline/syncline/task"
	"github.com/syncline/syncline/topics"
)

// publisher writes change events to Kafka inside Kafka transactions, each
// closed by the checkpoint that covers it. Row changes are encoded and
// produced by a goroutine of their own, in order (see encodeQueue); what
// must follow them (a schema change, the checkpoint) waits until they are
// all produced. Its methods are called by the capture loop only.
type publisher struct {
	cl       *kgo.Client
	adm      *kadm.Client
	reg      *event.Registry
	names    event.Names
	name     string
	parts    int32
	tombs    bool
	codecs   map[string]*tableCodec // by table shape fingerprint
	topicsOK map[string]bool        // topics known to exist

	ddlSchema avro.Schema
	ddlKeyID  int
	ddlValID  int
	strSchema avro.Schema

	metrics *Metrics
	// oversize is what to do with a row change too large for a record.
	oversize oversizePolicy

	inTxn   bool
	pending int // records in the open transaction, queued ones included
	// txnCtx is the context of the open transaction's Produce calls: not
	// canceled with capture's context, so that the final commit can
	// flush what was read; txnCancel cancels it when the transaction ends.
	txnCtx    context.Context
	txnCancel context.CancelFunc
	q         encodeQueue
	promise   func(*kgo.Record, error) // records a produce error, releases the record's block
	blocks    blockPool                // the memory of produced row change records

	mu       sync.Mutex
	firstErr error
	failed   atomic.Bool // set once firstErr is, so that err takes no lock per row
}

// tableCodec encodes the events of one shape of one table.
type tableCodec struct {
	// table is the published shape: full without rules, else the kept
	// columns.
	table schema.Table
	// full is the table's shape at the source.
	full schema.Table
	// narrow applies the table's rules; nil when it has none.
	narrow *narrowing
	name   string // "db.table", the metrics label
	topic  string
	enc    *event.Encoder
	text   *mysqlvalue.TextEncoder // enc's text-protocol fast path (snapshot rows)
	keyID  int
	envID  int
}

func newPublisher(cl *kgo.Client, reg *event.Registry, names event.Names, name string, partitions int32, tombstones bool, m *Metrics) (*publisher, error) {
	ddl, err := event.SchemaChangeSchema()
	if err != nil {
		return nil, err
	}
	p := &publisher{
		cl: cl, adm: kadm.NewClient(cl), reg: reg, names: names, name: name,
		parts: partitions, tombs: tombstones, metrics: m,
		codecs: map[string]*tableCodec{}, topicsOK: map[string]bool{},
		ddlSchema: ddl, strSchema: avro.MustParse(`"string"`),
		oversize: oversizePolicy{mode: OversizedStop, max: topics.MaxBatchBytes, log: slog.Default()},
	}
	p.promise = func(r *kgo.Record, err error) {
		if err != nil {
			p.fail(inClass(ClassKafka, fmt.Errorf("produce to kafka: %w", err)))
		}
		p.blocks.done(r)
	}
	return p, nil
}

// codec returns the codec of a table shape, registering its schemas and
// creating its topic the first time the shape is seen. rulesOf gives the
// table's rules (nil for none); it is asked only then, not per event.
func (p *publisher) codec(ctx context.Context, full schema.Table, rulesOf func(db, table string) *task.TableRules) (*tableCodec, error) {
	fp := fingerprint(full)
	if c, ok := p.codecs[fp]; ok {
		return c, nil
	}
	t, narrow, err := bindRules(full, rulesOf(full.Database, full.Name), false)
	if err != nil {
		return nil, err
	}
	topic := p.names.Table(t.Database, t.Name)
	ns := event.Namespace(topic)
	keySch, err := event.KeySchema(t, ns)
	if err != nil {
		return nil, err
	}
	envSch, err := event.EnvelopeSchema(t, ns)
	if err != nil {
		return nil, err
	}
	table := t.Database + "." + t.Name
	spec := topics.TableSpec(topic, p.parts)
	if p.oversize.max > topics.MaxBatchBytes {
		spec.Configs["max.message.bytes"] = strconv.Itoa(p.oversize.max)
	}
	if err := p.ensureTopic(ctx, spec); err != nil {
		return nil, tableError(ClassKafka, table, err)
	}
	keyID, err := p.reg.Register(ctx, event.KeySubject(topic), keySch)
	if err != nil {
		return nil, tableError(ClassRegistry, table, fmt.Errorf("register key schema of %s: %w", table, err))
	}
	envID, err := p.reg.Register(ctx, event.ValueSubject(topic), envSch)
	if err != nil {
		return nil, tableError(ClassRegistry, table, fmt.Errorf("register value schema of %s: %w", table, err))
	}
	enc, err := event.NewEncoder(t)
	if err != nil {
		return nil, err
	}
	text, err := mysqlvalue.NewTextEncoder(t, enc)
	if err != nil {
		return nil, err
	}
	c := &tableCodec{table: t, full: full, narrow: narrow, name: t.Database + "." + t.Name, topic: topic, enc: enc, text: text, keyID: keyID, envID: envID}
	p.codecs[fp] = c
	return c, nil
}

// resetCodecs forgets the codecs, after the tables' rules changed.
func (p *publisher) resetCodecs() { p.codecs = map[string]*tableCodec{} }

func (p *publisher) ensureTopic(ctx context.Context, s topics.Spec) error {
	if p.topicsOK[s.Name] {
		return nil
	}
	if err := topics.Ensure(ctx, p.adm, s); err != nil {
		return err
	}
	p.topicsOK[s.Name] = true
	return nil
}

// fingerprint identifies a table shape: its name, columns and key.
func fingerprint(t schema.Table) string {
	var b strings.Builder
	b.WriteString(t.Database)
	b.WriteByte(0)
	b.WriteString(t.Name)
	for _, c := range t.Columns {
		b.WriteByte(0)
		b.WriteString(c.Name)
		b.WriteByte(1)
		b.WriteString(c.Type.String())
		if c.Nullable {
			b.WriteString(" null")
		}
	}
	b.WriteByte(0)
	b.WriteString(strings.Join(t.Key, "\x01"))
	return b.String()
}

// sourceInfo is the envelope's source block of one event.
type sourceInfo struct {
	version  int64
	db       string
	table    string
	serverID uint32
	gtid     string
	file     string
	pos      uint32
	row      int
	tsMillis int64
	snapshot bool
}

// source is the envelope's source record of an event.
func (p *publisher) source(s sourceInfo) event.Source {
	snap := "false"
	if s.snapshot {
		snap = "true"
	}
	return event.Source{
		Version: s.version, Name: p.names.Prefix, DB: s.db, Table: s.table, ServerID: int64(s.serverID),
		GTID: s.gtid, File: s.file, Pos: int64(s.pos), Row: int32(s.row), TSMillis: s.tsMillis, Snapshot: snap,
	}
}

// sourceMap is the source record as a map, for the schema-change events
// that hamba encodes.
func (p *publisher) sourceMap(s sourceInfo) map[string]any {
	var gtid any
	if s.gtid != "" {
		gtid = s.gtid
	}
	snap := "false"
	if s.snapshot {
		snap = "true"
	}
	return map[string]any{
		"version": s.version, "name": p.names.Prefix, "db": s.db, "table": s.table,
		"server_id": int64(s.serverID), "gtid": gtid, "file": s.file, "pos": int64(s.pos),
		"row": int32(s.row), "ts_ms": s.tsMillis, "snapshot": snap,
	}
}

// begin opens a Kafka transaction when none is open.
func (p *publisher) begin(ctx context.Context) error {
	if p.inTxn {
		return nil
	}
	if err := p.cl.BeginTransaction(); err != nil {
		return inClass(ClassKafka, fmt.Errorf("begin kafka transaction: %w", err))
	}
	p.inTxn = true
	p.pending = 0
	p.txnCtx, p.txnCancel = context.WithCancel(context.WithoutCancel(ctx))
	return nil
}

// endTxn releases what the closed transaction held.
func (p *publisher) endTxn() {
	p.inTxn = false
	p.txnCancel()
}

// change publishes one row change. before or after is nil for inserts,
// snapshot reads and deletes; rows are in column order. The change is
// queued for the encoder goroutine, so the rows must not be changed after
// the call. An error of an earlier change is returned by a later call.
func (p *publisher) change(ctx context.Context, c *tableCodec, op string, before, after []any, src sourceInfo) error {
	if err := p.begin(ctx); err != nil {
		return err
	}
	p.pending++
	if op == "d" && p.tombs {
		p.pending++
	}
	if err := p.enqueue(ctx, rowChange{codec: c, op: op, before: before, after: after, src: src}); err != nil {
		return err
	}
	return p.err()
}

// snapshotRow publishes one snapshot row of a table whose rules filter no
// rows, read over the text protocol by `SELECT <c.table.SelectList()>` (the
// published columns), encoding it straight from the row (enqueueText).
func (p *publisher) snapshotRow(ctx context.Context, c *tableCodec, row []mysql.FieldValue, src sourceInfo) error {
	if err := p.begin(ctx); err != nil {
		return err
	}
	p.pending++
	if err := p.enqueueText(ctx, c, row, src); err != nil {
		return err
	}
	return p.err()
}

// schemaChange publishes one DDL event.
func (p *publisher) schemaChange(ctx context.Context, ev map[string]any, db string) error {
	if err := p.begin(ctx); err != nil {
		return err
	}
	// The event follows the row changes read before it.
	if err := p.drain(ctx); err != nil {
		return err
	}
	topic := p.names.SchemaChanges()
	if p.ddlValID == 0 {
		if err := p.ensureTopic(ctx, topics.SchemaChangesSpec(topic)); err != nil {
			return err
		}
		var err error
		if p.ddlKeyID, err = p.reg.Register(ctx, event.KeySubject(topic), p.strSchema); err != nil {
			return inClass(ClassRegistry, fmt.Errorf("register schema-change key schema: %w", err))
		}
		if p.ddlValID, err = p.reg.Register(ctx, event.ValueSubject(topic), p.ddlSchema); err != nil {
			return inClass(ClassRegistry, fmt.Errorf("register schema-change value schema: %w", err))
		}
	}
	key, err := avro.Marshal(p.strSchema, db)
	if err != nil {
		return err
	}
	val, err := avro.Marshal(p.ddlSchema, ev)
	if err != nil {
		return fmt.Errorf("encode schema change: %w", err)
	}
	p.produce(ctx, &kgo.Record{
		Topic: topic,
		Key:   append(event.AppendFrame(nil, p.ddlKeyID), key...),
		Value: append(event.AppendFrame(nil, p.ddlValID), val...),
	})
	return p.err()
}

// produce produces a record of the capture loop; the row changes before it
// must be drained first.
func (p *publisher) produce(ctx context.Context, r *kgo.Record) {
	p.pending++
	p.cl.Produce(ctx, r, p.promise)
}

// fail records the first error of producing or encoding.
func (p *publisher) fail(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.firstErr == nil {
		p.firstErr = err
		p.failed.Store(true)
	}
}

// err returns the first error of producing or encoding, if any.
func (p *publisher) err() error {
	if !p.failed.Load() {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.firstErr
}

// commit writes the checkpoint and commits the open transaction (opening
// one when none is open, so a heartbeat checkpoint is committed too).
func (p *publisher) commit(ctx context.Context, cp topics.Checkpoint) error {
	if err := p.begin(ctx); err != nil {
		return err
	}
	// The checkpoint covers every change queued before it.
	if err := p.drain(ctx); err != nil {
		return p.abort(err)
	}
	cp.TSMillis = time.Now().UnixMilli()
	rec, err := cp.Record(p.names.Checkpoints(), p.name)
	if err != nil {
		return err
	}
	p.produce(ctx, rec)
	if err := p.cl.Flush(ctx); err != nil {
		return p.abort(fmt.Errorf("flush kafka transaction: %w", err))
	}
	if err := p.err(); err != nil {
		return p.abort(err)
	}
	err = p.cl.EndTransaction(ctx, kgo.TryCommit)
	p.endTxn()
	if err != nil {
		return fmt.Errorf("commit kafka transaction: %w", err)
	}
	return nil
}

// abort aborts the open transaction and returns cause.
func (p *publisher) abort(cause error) error {
	if !p.inTxn {
		return cause
	}
	p.endTxn() // also unblocks a Produce waiting for buffer space
	p.discardQueued()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.cl.AbortBufferedRecords(ctx); err != nil {
		return errors.Join(cause, err)
	}
	if err := p.cl.EndTransaction(ctx, kgo.TryAbort); err != nil {
		return errors.Join(cause, fmt.Errorf("abort kafka transaction: %w", err))
	}
	return cause
}
