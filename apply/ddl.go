package apply

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/syncline/syncline/fault"
	"github.com/syncline/syncline/internal/event"
	"github.com/syncline/syncline/schema"
	"github.com/syncline/syncline/topics"
)

// tableName is a source table (database and table, unsanitized).
type tableName struct{ db, table string }

func (n tableName) String() string { return n.db + "." + n.table }

// shape is the newest column list known for a table from the schema-change
// topic.
type shape struct {
	version int64
	columns []schema.Column
}

// history is every schema-change event read so far, with indexes for
// resolving rows through later renames, truncates and drops. Its methods are
// called with ddl.mu held (read or write).
type history struct {
	events  []SchemaChange
	byTable map[tableName][]int // events naming the table (as their Database/Table)
	byDB    map[string][]int    // drop_database events
	shapes  map[tableName]shape
	renamed map[tableName]map[string]string // cumulative column renames
	// keep holds, per table, the columns whose type change came with a
	// skipped statement: the target keeps their type.
	keep map[tableName]map[string]bool
}

func newHistory() *history {
	return &history{
		byTable: map[tableName][]int{}, byDB: map[string][]int{},
		shapes: map[tableName]shape{}, renamed: map[tableName]map[string]string{},
		keep: map[tableName]map[string]bool{},
	}
}

// skipped records that the event idx was skipped: the columns whose type
// it changed keep their type in the target.
func (h *history) skipped(idx int) {
	ev := h.events[idx]
	if ev.Kind != DDLAlterTable || ev.Columns == nil {
		return
	}
	name := tableName{ev.Database, ev.Table}
	// The shape before the event: the last earlier event with columns.
	var prev []schema.Column
	for _, i := range h.byTable[name] {
		if i < idx && h.events[i].Columns != nil {
			prev = h.events[i].Columns
		}
	}
	for _, c := range ev.Columns {
		if prev == nil {
			// The table's earlier shape is not in the history: keep every
			// column's type.
			if h.keep[name] == nil {
				h.keep[name] = map[string]bool{}
			}
			h.keep[name][c.Name] = true
			continue
		}
		from := c.Name
		for old, n := range ev.RenamedColumns {
			if n == c.Name {
				from = old
			}
		}
		for _, p := range prev {
			if p.Name == from && p.Type.String() != c.Type.String() {
				if h.keep[name] == nil {
					h.keep[name] = map[string]bool{}
				}
				h.keep[name][c.Name] = true
			}
		}
	}
}

// add appends an event read from the topic.
func (h *history) add(ev SchemaChange) {
	i := len(h.events)
	h.events = append(h.events, ev)
	name := tableName{ev.Database, ev.Table}
	switch ev.Kind {
	case DDLDropDatabase:
		h.byDB[ev.Database] = append(h.byDB[ev.Database], i)
		for n := range h.shapes {
			if n.db == ev.Database {
				delete(h.shapes, n)
				delete(h.renamed, n)
			}
		}
		return
	case DDLCreateDatabase, DDLOther:
		return
	}
	if ev.Table == "" {
		return
	}
	h.byTable[name] = append(h.byTable[name], i)
	switch ev.Kind {
	case DDLCreateTable, DDLAlterTable:
		if len(ev.RenamedColumns) > 0 {
			h.renamed[name] = composeRenames(h.renamed[name], ev.RenamedColumns)
		}
		if ev.Columns != nil {
			h.shapes[name] = shape{version: ev.Version, columns: ev.Columns}
		}
		if ev.Kind == DDLCreateTable {
			delete(h.renamed, name)
			delete(h.keep, name)
		}
	case DDLDropTable:
		delete(h.shapes, name)
		delete(h.renamed, name)
		delete(h.keep, name)
	case DDLRenameTable:
		to := tableName{ev.NewDatabase, ev.NewTable}
		if r := h.renamed[name]; r != nil {
			h.renamed[to] = r
		} else {
			delete(h.renamed, to)
		}
		delete(h.renamed, name)
		delete(h.shapes, name)
		if ev.Columns != nil {
			h.shapes[to] = shape{version: ev.Version, columns: ev.Columns}
		}
	}
}

// composeRenames adds the renames of one statement to a cumulative map:
// every name that led to an old name now leads to its new name.
func composeRenames(cum, step map[string]string) map[string]string {
	out := make(map[string]string, len(cum)+len(step))
	for from, to := range cum {
		if n, ok := step[to]; ok {
			to = n
		}
		out[from] = to
	}
	for from, to := range step {
		if _, ok := out[from]; !ok {
			out[from] = to
		}
	}
	// A name renamed back to itself needs no entry.
	for from, to := range out {
		if from == to {
			delete(out, from)
		}
	}
	return out
}

// resolution says where the rows of a table written at some version go.
type resolution struct {
	target tableName
	// dead is set when a later truncate or drop removed the rows: they
	// are not written.
	dead bool
	// columns maps the row's column names to their target names, for the
	// columns renamed since; nil when none were.
	columns map[string]string
}

// resolve follows the events after version through the first upTo events
// of the history.
func (h *history) resolve(n tableName, version int64, upTo int) resolution {
	res := resolution{target: n}
	after := version
	from := 0 // only events after the last one followed
	for {
		next := -1
		for _, list := range [][]int{h.byTable[res.target], h.byDB[res.target.db]} {
			// The first event of the list after `after` and `from`.
			i, _ := slices.BinarySearchFunc(list, from, func(e, t int) int { return e - t })
			for ; i < len(list); i++ {
				if idx := list[i]; idx < upTo && h.events[idx].Version > after {
					if next < 0 || idx < next {
						next = idx
					}
					break
				}
			}
		}
		if next < 0 {
			return res
		}
		ev := h.events[next]
		// Only the order counts from here: the events of one statement
		// (ALTER TABLE t RENAME TO u: an alter_table, then a
		// rename_table) share its version, and each is followed.
		from = next + 1
		switch ev.Kind {
		case DDLTruncateTable, DDLDropTable, DDLDropDatabase:
			res.dead = true
			return res
		case DDLRenameTable:
			res.target = tableName{ev.NewDatabase, ev.NewTable}
		case DDLAlterTable:
			if len(ev.RenamedColumns) > 0 {
				res.columns = applyRenames(res.columns, ev.RenamedColumns)
			}
		}
	}
}

// applyRenames updates a row-column to target-column map with one
// statement's renames. Columns without an entry map to themselves.
func applyRenames(m map[string]string, step map[string]string) map[string]string {
	out := make(map[string]string, len(m)+len(step))
	for from, to := range m {
		if n, ok := step[to]; ok {
			to = n
		}
		out[from] = to
	}
	for from, to := range step {
		if _, ok := out[from]; ok {
			continue
		}
		// from is the row's own name unless another row column is already
		// mapped onto it.
		taken := false
		for _, v := range m {
			if v == from {
				taken = true
				break
			}
		}
		if !taken {
			out[from] = to
		}
	}
	return out
}

// lastVersion returns the version of the last applied event naming n, or
// math.MinInt64 when none does.
func (h *history) lastVersion(n tableName, upTo int) int64 {
	last := int64(-1 << 63)
	for _, list := range [][]int{h.byTable[n], h.byDB[n.db]} {
		for i := len(list) - 1; i >= 0; i-- {
			if list[i] < upTo {
				last = max(last, h.events[list[i]].Version)
				break
			}
		}
	}
	return last
}

// ddl reads the schema-change topic, applies its events to the sink in
// order, and lets batches wait until every event older than their rows is
// applied.
type ddl struct {
	cfg     *Config
	log     *slog.Logger
	sink    Sink
	retry   retrier
	reg     *event.Registry
	metrics *Metrics
	topic   string
	opts    []kgo.Opt
	adm     *kadm.Client

	// mu orders schema changes against batch writes: a batch holds it for
	// reading while it resolves, prepares and writes; an event is applied
	// holding it for writing.
	mu   sync.RWMutex
	hist *history

	posMu   sync.Mutex
	pos     int64         // next offset of the topic to read
	posCond chan struct{} // closed and replaced when pos moves

	endMu    sync.Mutex
	endAt    time.Time // start of the last end-offset request
	endValue int64

	codecs map[int]*event.SchemaChangeCodec
	skip   map[int64]bool
}

func newDDL(cfg *Config, sink Sink, reg *event.Registry, opts []kgo.Opt, adm *kadm.Client, r retrier, log *slog.Logger) *ddl {
	d := &ddl{
		cfg: cfg, log: log, sink: sink, retry: r, reg: reg, metrics: cfg.Metrics,
		topic: cfg.names().SchemaChanges(), opts: opts, adm: adm,
		hist: newHistory(), posCond: make(chan struct{}),
		codecs: map[int]*event.SchemaChangeCodec{}, skip: map[int64]bool{},
	}
	for _, v := range cfg.SkipDDL {
		d.skip[v] = true
	}
	return d
}

// committed returns the offset of the schema-change topic up to which
// events were applied by an earlier run.
func (d *ddl) committed(ctx context.Context) (int64, error) {
	resp, err := d.adm.FetchOffsets(ctx, d.cfg.ddlGroup())
	if errors.Is(err, kerr.GroupIDNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("fetch applied schema-change position of group %s: %w", d.cfg.ddlGroup(), err)
	}
	o, ok := resp.Lookup(d.topic, 0)
	if !ok || o.Err != nil || o.At < 0 {
		return 0, nil
	}
	// The metadata lists the versions skipped so far, so that a skipped
	// statement stays skipped without the flag.
	for _, f := range strings.Split(strings.TrimPrefix(o.Metadata, skippedPrefix), ",") {
		if v, err := strconv.ParseInt(f, 10, 64); err == nil {
			d.skip[v] = true
		}
	}
	return o.At, nil
}

// skippedPrefix starts the commit metadata listing skipped versions.
const skippedPrefix = "skipped:"

// skippedMetadata lists the skipped versions for the commit metadata.
func (d *ddl) skippedMetadata() string {
	vs := make([]int64, 0, len(d.skip))
	for v := range d.skip {
		vs = append(vs, v)
	}
	slices.Sort(vs)
	var b strings.Builder
	b.WriteString(skippedPrefix)
	for i, v := range vs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(v, 10))
	}
	return b.String()
}

// commit stores the position up to which events are applied.
func (d *ddl) commit(ctx context.Context, next int64) error {
	var os kadm.Offsets
	os.Add(kadm.Offset{Topic: d.topic, Partition: 0, At: next, LeaderEpoch: -1, Metadata: d.skippedMetadata()})
	return d.retry.do(ctx, classKafka, "commit schema-change position", func(ctx context.Context) error {
		resp, err := d.adm.CommitOffsets(ctx, d.cfg.ddlGroup(), os)
		if err == nil {
			err = resp.Error()
		}
		if err != nil {
			return Retryable(fmt.Errorf("commit schema-change position %d for group %s: %w", next, d.cfg.ddlGroup(), err))
		}
		return nil
	})
}

// endOffset returns the schema-change topic's end (high watermark), from a
// request started at or after since (concurrent callers share requests).
//
// The end, not the last stable offset: capture writes a schema change in
// the same Kafka transaction as the rows after it, and the transaction's
// markers reach the partitions one at a time, so rows may be visible while
// the schema-change partition's stable offset is still below the event.
// Waiting for the end includes the event; the read_committed reader gets
// past it once the transaction's marker is written (or aborted).
func (d *ddl) endOffset(ctx context.Context, since time.Time) (int64, error) {
	d.endMu.Lock()
	defer d.endMu.Unlock()
	if !d.endAt.IsZero() && !d.endAt.Before(since) {
		return d.endValue, nil
	}
	start := time.Now()
	var end int64
	err := d.retry.do(ctx, classKafka, "list offsets of "+d.topic, func(ctx context.Context) error {
		listed, err := d.adm.ListEndOffsets(ctx, d.topic)
		if err != nil {
			return Retryable(fmt.Errorf("list offsets of %s: %w", d.topic, err))
		}
		o, ok := listed.Lookup(d.topic, 0)
		switch {
		case !ok:
			return Retryable(fmt.Errorf("list offsets of %s: partition 0 not listed", d.topic))
		case o.Err != nil:
			return Retryable(fmt.Errorf("list offsets of %s: %w", d.topic, o.Err))
		default:
			end = o.Offset
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	d.endAt, d.endValue = start, end
	return end, nil
}

// position returns the next offset to read and a channel closed when it
// moves.
func (d *ddl) position() (int64, <-chan struct{}) {
	d.posMu.Lock()
	defer d.posMu.Unlock()
	return d.pos, d.posCond
}

func (d *ddl) setPosition(p int64) {
	d.posMu.Lock()
	defer d.posMu.Unlock()
	if p > d.pos {
		d.pos = p
		close(d.posCond)
		d.posCond = make(chan struct{})
	}
}

// sync waits until every schema-change event committed before since is
// applied: batches call it with the time their records were fetched, so
// that every event older than their rows is applied first.
func (d *ddl) sync(ctx context.Context, since time.Time) error {
	end, err := d.endOffset(ctx, since)
	if err != nil {
		return err
	}
	pos, _ := d.position()
	d.log.Debug("sync with schema changes", "end", end, "position", pos)
	return d.waitPosition(ctx, end)
}

func (d *ddl) waitPosition(ctx context.Context, end int64) error {
	for {
		pos, moved := d.position()
		if pos >= end {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-moved:
		}
	}
}

// run reads the schema-change topic until ctx ends: first everything up to
// its end at start, then each event as it arrives. Events an earlier run
// applied (below the committed position) only join the history; the others
// are applied in order, those of the first part once it is read, so that the
// newest shapes are known when the first of them is applied. ready is
// closed when the first part is applied; batches are written only after.
func (d *ddl) run(ctx context.Context, ready chan<- struct{}) error {
	// The topic must exist before rows are read: a batch waits for the
	// events below the topic's end, and a missing topic (or one the
	// client's metadata does not know yet) has none.
	err := d.retry.do(ctx, classKafka, "create topic "+d.topic, func(ctx context.Context) error {
		if err := topics.Ensure(ctx, d.adm, topics.SchemaChangesSpec(d.topic)); err != nil {
			return Retryable(err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("schema-change topic: %w", err)
	}
	var done int64
	err = d.retry.do(ctx, classKafka, "fetch the schema-change position", func(ctx context.Context) error {
		var err error
		done, err = d.committed(ctx)
		if err != nil && !isAuth(err) {
			return Retryable(err)
		}
		return err
	})
	if err != nil {
		return err
	}
	startEnd, err := d.endOffset(ctx, time.Now())
	if err != nil {
		return err
	}
	cl, err := kgo.NewClient(append(d.opts[:len(d.opts):len(d.opts)],
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{d.topic: {0: kgo.NewOffset().AtStart()}}),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()),
		kgo.KeepControlRecords(),
		kgo.MetadataMaxAge(d.cfg.TopicRefresh),
		kgo.MetadataMinAge(min(d.cfg.TopicRefresh, time.Second)),
	)...)
	if err != nil {
		return fmt.Errorf("schema-change consumer: %w", err)
	}
	defer cl.Close()

	type pending struct {
		idx    int // in the history
		offset int64
	}
	var backlog []pending
	caughtUp := false
	finishCatchUp := func(next int64) error {
		for _, p := range backlog {
			if err := d.apply(ctx, p.idx); err != nil {
				return err
			}
			if err := d.commit(ctx, p.offset+1); err != nil {
				return err
			}
		}
		backlog = nil
		caughtUp = true
		d.setPosition(next)
		d.mu.RLock()
		n := len(d.hist.events)
		d.mu.RUnlock()
		d.log.Info("schema-change history read", "events", n, "offset", next)
		close(ready)
		return nil
	}
	if startEnd == 0 {
		if err := finishCatchUp(0); err != nil {
			return err
		}
	}
	for {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var ferr error
		fetches.EachError(func(t string, p int32, err error) {
			// Transient errors (the broker restarts) are retried by the
			// client; the consumer loop follows Kafka's health.
			if ferr == nil && !isKafkaTransient(err) {
				ferr = fmt.Errorf("read %s partition %d: %w", t, p, err)
			}
		})
		if ferr != nil {
			return ferr
		}
		var records []*kgo.Record
		fetches.EachRecord(func(r *kgo.Record) { records = append(records, r) })
		for _, r := range records {
			next := r.Offset + 1
			if !r.Attrs.IsControl() {
				ev, err := d.decode(ctx, r)
				if err != nil {
					return err
				}
				d.mu.Lock()
				d.hist.add(ev)
				idx := len(d.hist.events) - 1
				switch {
				case r.Offset < done:
					// Applied (or skipped) by an earlier run.
					if d.skip[ev.Version] {
						d.hist.skipped(idx)
					}
				case !caughtUp:
					backlog = append(backlog, pending{idx, r.Offset})
				default:
					// Added and applied under one lock: no batch sees the
					// event in the history before it is applied.
					err = d.applyLocked(ctx, idx)
				}
				d.mu.Unlock()
				if err != nil {
					return err
				}
				if caughtUp && r.Offset >= done {
					if err := d.commit(ctx, next); err != nil {
						return err
					}
				}
			}
			if caughtUp {
				d.setPosition(next)
			} else if next >= startEnd {
				if err := finishCatchUp(next); err != nil {
					return err
				}
			}
		}
	}
}

// apply applies the history's event idx to the sink, holding mu for
// writing: the sink's SchemaChange, then, for statements that change
// columns, Prepare with the newest shape known for the table.
func (d *ddl) apply(ctx context.Context, idx int) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.applyLocked(ctx, idx)
}

// applyLocked is apply with mu held for writing.
func (d *ddl) applyLocked(ctx context.Context, idx int) error {
	ev := d.hist.events[idx]
	log := d.log.With("kind", ev.Kind, "db", ev.Database, "table", ev.Table, "version", ev.Version)
	if d.skip[ev.Version] {
		log.Warn("skipping schema change, as asked by --skip-ddl", "statement", ev.DDL)
		d.hist.skipped(idx)
		return nil
	}
	what := fmt.Sprintf("schema change %s of %s", ev.Kind, tableName{ev.Database, ev.Table})
	err := d.retry.do(ctx, classTarget, what, func(ctx context.Context) error {
		if err := d.sink.SchemaChange(ctx, ev); err != nil {
			return err
		}
		target := tableName{ev.Database, ev.Table}
		switch ev.Kind {
		case DDLRenameTable:
			target = tableName{ev.NewDatabase, ev.NewTable}
		case DDLAlterTable, DDLCreateTable:
		default:
			return nil
		}
		sh, ok := d.hist.shapes[target]
		if !ok {
			return nil
		}
		// No key: an existing table is changed, a missing one is left for
		// its first rows to create.
		t := schema.Table{Database: target.db, Name: target.table, Columns: sh.columns}
		return d.sink.Prepare(ctx, t, PrepareOptions{
			Existing: d.cfg.ExistingTables, Renamed: d.hist.renamed[target], DropColumns: true,
			KeepTypes: d.hist.keep[target],
		})
	})
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		err = fmt.Errorf("apply %s (version %d) %q: %w; if the target cannot express it, restart apply with --skip-ddl %d to skip it", what, ev.Version, ev.DDL, err, ev.Version)
		if errors.Is(err, ErrRetryWindow) {
			return err
		}
		// The target refused the statement: it refuses it again after a
		// restart, until --skip-ddl skips it.
		return fault.Permanent(err)
	}
	d.metrics.schemaChange()
	log.Info("schema change applied")
	return nil
}

// decode decodes one schema-change record.
func (d *ddl) decode(ctx context.Context, r *kgo.Record) (SchemaChange, error) {
	at := fmt.Sprintf("%s partition %d offset %d", r.Topic, r.Partition, r.Offset)
	id, body, err := event.ParseFrame(r.Value)
	if err != nil {
		return SchemaChange{}, fmt.Errorf("schema change at %s: %w", at, err)
	}
	c, ok := d.codecs[id]
	if !ok {
		var s avro.Schema
		err := d.retry.do(ctx, classRegistry, "fetch schema "+strconv.Itoa(id), func(ctx context.Context) error {
			var err error
			s, err = d.reg.Schema(ctx, id)
			return registryErr(err)
		})
		if err != nil {
			return SchemaChange{}, fmt.Errorf("schema change at %s: %w", at, err)
		}
		if c, err = event.NewSchemaChangeCodec(s); err != nil {
			return SchemaChange{}, fmt.Errorf("schema change at %s: %w", at, err)
		}
		d.codecs[id] = c
	}
	ev, err := c.Decode(body)
	if err != nil {
		return SchemaChange{}, fmt.Errorf("schema change at %s: %w", at, err)
	}
	return ev, nil
}
