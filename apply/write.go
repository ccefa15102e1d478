package apply

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/big"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/syncline/syncline/fault"
	"github.com/syncline/syncline/internal/event"
	"github.com/syncline/syncline/schema"
)

// group is the changes of one flush bound for one target table.
type group struct {
	target tableName
	items  []*item
	// renames holds, per item, the column renames since the item's
	// version (nil for none).
	renames []map[string]string
}

// writeAll writes the buffer's changes: it resolves each change through
// the schema changes applied since it was made, groups them by target
// table and writes the tables in parallel. It holds the schema-change lock
// for reading, so no schema change is applied meanwhile.
func (r *run) writeAll(ctx context.Context, b *buffer) error {
	r.ddl.mu.RLock()
	defer r.ddl.mu.RUnlock()
	h := r.ddl.hist
	n := len(h.events)
	r.preparedMu.Lock()
	if r.ddlSeen != n {
		// Schema changes were applied: the target may have changed.
		r.prepared = map[tableName]string{}
		r.ddlSeen = n
	}
	r.preparedMu.Unlock()

	groups := map[tableName]*group{}
	dead := 0
	for src, items := range b.tables {
		last := h.lastVersion(src, n)
		for _, it := range items {
			res := resolution{target: src}
			if it.version < last {
				res = h.resolve(src, it.version, n)
			}
			if res.dead {
				dead++
				continue
			}
			g := groups[res.target]
			if g == nil {
				g = &group{target: res.target}
				groups[res.target] = g
			}
			g.items = append(g.items, it)
			g.renames = append(g.renames, res.columns)
		}
	}
	if dead > 0 {
		r.log.Debug("skipped changes removed by a later truncate or drop", "changes", dead)
	}
	list := make([]*group, 0, len(groups))
	for _, g := range groups {
		list = append(list, g)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].target.String() < list[j].target.String() })

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sem := make(chan struct{}, r.cfg.Parallelism)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	for _, g := range list {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := r.writeGroup(ctx, g); err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
				cancel()
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return ctx.Err()
}

// pending is a change ready for the sink, with the record it came from.
type pending struct {
	change Change
	it     *item
}

// writeGroup prepares the target table and writes one group in one sink
// transaction.
func (r *run) writeGroup(ctx context.Context, g *group) error {
	// The newest change of each key wins; a tie (the same event read twice)
	// keeps the later one.
	winner := make(map[string]int, len(g.items))
	newest := 0
	for i, it := range g.items {
		if j, ok := winner[it.key]; !ok || g.items[j].version <= it.version {
			winner[it.key] = i
		}
		if it.version >= g.items[newest].version {
			newest = i
		}
	}
	idx := make([]int, 0, len(winner))
	for _, i := range winner {
		idx = append(idx, i)
	}
	sort.Ints(idx) // source order

	t, err := r.shapeOf(g, newest)
	if err != nil {
		return fmt.Errorf("apply batch to %s: %w", g.target, err)
	}
	if err := r.prepare(ctx, t, false); err != nil {
		return fmt.Errorf("prepare %s in the target: %w", g.target, err)
	}

	have := make(map[string]bool, len(t.Columns))
	for _, c := range t.Columns {
		have[c.Name] = true
	}
	// A row holds its writer schema's columns: whether the rows of a
	// schema fit the target as they are is decided once per schema.
	fit := map[*event.EnvelopeCodec]bool{}
	batch := make([]pending, 0, len(idx))
	upserts, deletes := 0, 0
	var newestTS time.Time
	for _, i := range idx {
		it := g.items[i]
		fits, ok := fit[it.codec]
		if !ok {
			fits = columnsIn(it.codec.Table(), have)
			fit[it.codec] = fits
		}
		row := it.row
		if !fits || len(g.renames[i]) > 0 {
			row = mapRow(row, g.renames[i], have)
		}
		if it.op == Upsert && len(row) < len(t.Columns) {
			row = fillNotNull(row, t)
		}
		batch = append(batch, pending{Change{Op: it.op, Row: row, Version: it.version, SourceTS: it.ts}, it})
		if it.op == Delete {
			deletes++
		} else {
			upserts++
		}
		if it.ts.After(newestTS) {
			newestTS = it.ts
		}
	}
	changes := make([]Change, len(batch))
	for i, p := range batch {
		changes[i] = p.change
	}
	began := time.Now()
	err = r.write(ctx, t, changes)
	if err != nil && ctx.Err() == nil && !errors.Is(err, ErrRetryWindow) && !fault.IsPermanent(err) {
		// The table may have changed behind apply's back: check its shape
		// once more before looking for the record at fault.
		if perr := r.prepare(ctx, t, true); perr == nil {
			err = r.write(ctx, t, changes)
		}
	}
	if err != nil {
		// A fault of the target as a whole (credentials, privileges, a
		// missing database, a changed key) is no record's fault.
		if ctx.Err() != nil || errors.Is(err, ErrRetryWindow) || fault.IsPermanent(err) || len(batch) == 0 {
			return fmt.Errorf("apply batch to %s: %w", g.target, err)
		}
		return r.writeOneByOne(ctx, t, batch, err)
	}
	r.cfg.Metrics.wrote(g.target.String(), upserts, deletes, time.Since(began), newestTS)
	return nil
}

// write writes changes with retries.
func (r *run) write(ctx context.Context, t schema.Table, changes []Change) error {
	return r.retry.do(ctx, classTarget, "write to "+t.Database+"."+t.Name, func(ctx context.Context) error {
		return r.sink.Write(ctx, t, changes)
	})
}

// writeOneByOne writes the changes of a batch that failed for good one at
// a time, to name the record at fault (OnErrorStop) or set it aside
// (OnErrorDeadLetter).
func (r *run) writeOneByOne(ctx context.Context, t schema.Table, batch []pending, batchErr error) error {
	table := t.Database + "." + t.Name
	r.log.Warn("batch failed; writing its changes one at a time", "table", table, "changes", len(batch), "error", batchErr)
	for _, p := range batch {
		err := r.write(ctx, t, []Change{p.change})
		if err == nil {
			r.cfg.Metrics.wrote(table, b2i(p.change.Op == Upsert), b2i(p.change.Op == Delete), 0, p.change.SourceTS)
			continue
		}
		if ctx.Err() != nil || errors.Is(err, ErrRetryWindow) || fault.IsPermanent(err) {
			return fmt.Errorf("apply batch to %s: %w", table, err)
		}
		cause := fmt.Errorf("apply %s (%s, version %d) to %s: %w", at(p.it.rec), p.change.Op, p.change.Version, table, err)
		if err := r.unusable(ctx, p.it.rec, table, cause); err != nil {
			return err
		}
	}
	return nil
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// shapeOf returns the shape the target table must have for a group: the
// newest of the writer schema of its newest change and the column list of
// the last schema change of the table, with the writer's key.
func (r *run) shapeOf(g *group, newest int) (schema.Table, error) {
	it := g.items[newest]
	w := it.codec.Table()
	ren := g.renames[newest]
	t := schema.Table{Database: g.target.db, Name: g.target.table}
	for _, k := range w.Key {
		t.Key = append(t.Key, renamed(k, ren))
	}
	if sh, ok := r.ddl.hist.shapes[g.target]; ok && sh.version > it.version {
		t.Columns = sh.columns
	} else {
		t.Columns = make([]schema.Column, len(w.Columns))
		for i, c := range w.Columns {
			c.Name = renamed(c.Name, ren)
			t.Columns[i] = c
		}
	}
	for _, k := range t.Key {
		if _, _, ok := t.Column(k); !ok {
			return schema.Table{}, fmt.Errorf("%w: key column %s is not a column of the table's newest shape (changing the primary key is not supported)", ErrKeyChanged, k)
		}
	}
	return t, nil
}

func renamed(name string, ren map[string]string) string {
	if n, ok := ren[name]; ok {
		return n
	}
	return name
}

// columnsIn reports whether every column of t is in have.
func columnsIn(t schema.Table, have map[string]bool) bool {
	for _, c := range t.Columns {
		if !have[c.Name] {
			return false
		}
	}
	return true
}

// mapRow renames a row's columns and drops those the target lacks. The
// result is a new map when anything changes.
func mapRow(row map[string]any, ren map[string]string, have map[string]bool) map[string]any {
	same := len(ren) == 0
	if same {
		for c := range row {
			if !have[c] {
				same = false
				break
			}
		}
	}
	if same {
		return row
	}
	out := make(map[string]any, len(row))
	for c, v := range row {
		c = renamed(c, ren)
		if have[c] {
			out[c] = v
		}
	}
	return out
}

// prepare calls the sink's Prepare unless the same shape was prepared
// since the last schema change (force skips that check).
func (r *run) prepare(ctx context.Context, t schema.Table, force bool) error {
	name := tableName{t.Database, t.Name}
	fp := fingerprint(t)
	r.preparedMu.Lock()
	done := r.prepared[name] == fp
	r.preparedMu.Unlock()
	if done && !force {
		return nil
	}
	opts := PrepareOptions{Existing: r.cfg.ExistingTables, Renamed: r.ddl.hist.renamed[name], DropColumns: true,
		KeepTypes: r.ddl.hist.keep[name]}
	err := r.retry.do(ctx, classTarget, "prepare "+name.String(), func(ctx context.Context) error {
		return r.sink.Prepare(ctx, t, opts)
	})
	if err != nil {
		return err
	}
	r.preparedMu.Lock()
	r.prepared[name] = fp
	r.preparedMu.Unlock()
	return nil
}

// fingerprint identifies a table shape.
func fingerprint(t schema.Table) string {
	var b strings.Builder
	for _, c := range t.Columns {
		b.WriteString(c.Name)
		b.WriteByte(0)
		b.WriteString(c.Type.String())
		if c.Nullable {
			b.WriteString(" null")
		}
		b.WriteByte(0)
	}
	b.WriteString(strings.Join(t.Key, "\x00"))
	return b.String()
}

// fillNotNull gives a row written before some NOT NULL columns existed the
// values MySQL gave existing rows when they were added without a default:
// the type's implicit default (0, the empty string, the zero date, the first ENUM label).
// Without it, the insert would fail on the target's NOT NULL.
func fillNotNull(row map[string]any, t schema.Table) map[string]any {
	var out map[string]any
	for _, c := range t.Columns {
		if c.Nullable {
			continue
		}
		if _, ok := row[c.Name]; ok {
			continue
		}
		v, ok := implicitDefault(c.Type)
		if !ok {
			continue
		}
		if out == nil {
			out = make(map[string]any, len(t.Columns))
			for k, v := range row {
				out[k] = v
			}
		}
		out[c.Name] = v
	}
	if out == nil {
		return row
	}
	return out
}

// implicitDefault returns MySQL's implicit default of a NOT NULL column of
// type t, in Change's Go types.
func implicitDefault(t schema.Type) (any, bool) {
	switch k := t.Kind; {
	case k == schema.BigInt && t.Unsigned, k == schema.Decimal:
		return new(big.Rat), true
	case k == schema.Int && t.Unsigned, k == schema.BigInt, k == schema.Time:
		return int64(0), true
	case k.IsInteger(), k == schema.Year:
		return int32(0), true
	case k == schema.Float:
		return float32(0), true
	case k == schema.Double:
		return float64(0), true
	case k == schema.Enum:
		if len(t.Elems) > 0 {
			return t.Elems[0], true
		}
		return "", true
	case k == schema.JSON:
		return "null", true
	case k == schema.UUID:
		return "00000000-0000-0000-0000-000000000000", true
	case k == schema.Inet4:
		return "0.0.0.0", true
	case k == schema.Inet6:
		return "::", true
	case k.IsString():
		return "", true
	case k == schema.Bit:
		return make([]byte, (t.Length+7)/8), true
	case k == schema.Binary:
		return make([]byte, t.Length), true
	case k.IsBinary():
		return []byte{}, true
	case k == schema.Date:
		return schema.ZeroDate(), true
	case k == schema.DateTime, k == schema.Timestamp:
		return time.UnixMicro(math.MinInt64).UTC(), true
	}
	return nil, false
}
