package apply

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/syncline/syncline/rules"
	"github.com/syncline/syncline/schema"
	"github.com/syncline/syncline/task"
)

// mappedSink gives a target its own names and narrowing (task.Mapping): it
// renames databases, tables and columns, leaves out the columns the target
// does not hold and turns upserts of rows outside the target's row filter
// into deletes, then hands everything to the target's sink. Apply works in
// source names throughout; only the sink sees target names.
type mappedSink struct {
	sink Sink
	m    *task.Mapping

	mu      sync.Mutex
	filters map[string]*rules.Filter // by source table and shape
}

// withMapping returns sink behind the mapping; sink itself when m is nil.
func withMapping(sink Sink, m *task.Mapping) Sink {
	if m == nil {
		return sink
	}
	return &mappedSink{sink: sink, m: m, filters: map[string]*rules.Filter{}}
}

// table renames and narrows a table shape (task.TableMapping.Shape).
func (s *mappedSink) table(t schema.Table) (schema.Table, task.TableMapping, error) {
	tm := s.m.Table(t.Database, t.Name)
	mt, err := tm.Shape(t)
	return mt, tm, err
}

// Prepare implements Sink.
func (s *mappedSink) Prepare(ctx context.Context, t schema.Table, opts PrepareOptions) error {
	mt, tm, err := s.table(t)
	if err != nil {
		return err
	}
	if len(opts.Renamed) > 0 {
		opts.Renamed = targetRenames(opts.Renamed, tm)
	}
	if len(opts.KeepTypes) > 0 {
		keep := make(map[string]bool, len(opts.KeepTypes))
		for c, v := range opts.KeepTypes {
			keep[tm.Column(c)] = v
		}
		opts.KeepTypes = keep
	}
	return s.sink.Prepare(ctx, mt, opts)
}

// targetRenames turns column renames (old to new source name) into the
// target's names, leaving out the columns the target does not hold.
func targetRenames(renamed map[string]string, tm task.TableMapping) map[string]string {
	out := make(map[string]string, len(renamed))
	for o, n := range renamed {
		if !tm.Drop[o] && !tm.Drop[n] {
			out[tm.Column(o)] = tm.Column(n)
		}
	}
	return out
}

// Write implements Sink.
func (s *mappedSink) Write(ctx context.Context, t schema.Table, changes []Change) error {
	mt, tm, err := s.table(t)
	if err != nil {
		return err
	}
	if tm.Identity(t.Database, t.Name) {
		return s.sink.Write(ctx, t, changes)
	}
	f, err := s.filter(t, tm)
	if err != nil {
		return err
	}
	out := make([]Change, len(changes))
	for i, c := range changes {
		if f != nil && c.Op == Upsert && !f.MatchMap(c.Row) {
			// Outside this target's filter: an update that left it
			// removes the row; an insert outside it removes nothing.
			c.Op = Delete
		}
		row := make(map[string]any, len(c.Row))
		for k, v := range c.Row {
			if !tm.Drop[k] {
				row[tm.Column(k)] = v
			}
		}
		c.Row = row
		out[i] = c
	}
	return s.sink.Write(ctx, mt, out)
}

// filter returns the target's row filter bound to the table shape.
func (s *mappedSink) filter(t schema.Table, tm task.TableMapping) (*rules.Filter, error) {
	if tm.Filter == nil {
		return nil, nil
	}
	var key strings.Builder
	key.WriteString(t.Database + "\x00" + t.Name)
	for _, c := range t.Columns {
		key.WriteString("\x00" + c.Name + "\x01" + c.Type.String())
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if f, ok := s.filters[key.String()]; ok {
		return f, nil
	}
	f, err := tm.Filter.Bind(t.Columns)
	if err != nil {
		return nil, fmt.Errorf("%s.filter on %s.%s: %w", tm.Path, t.Database, t.Name, err)
	}
	s.filters[key.String()] = f
	return f, nil
}

// SchemaChange implements Sink.
func (s *mappedSink) SchemaChange(ctx context.Context, ev SchemaChange) error {
	srcDB := ev.Database
	tm := s.m.Table(ev.Database, ev.Table)
	ev.Database = s.m.Database(ev.Database)
	if ev.Table != "" {
		ev.Database, ev.Table = tm.Database, tm.Table
	}
	if ev.NewTable != "" {
		newDB := ev.NewDatabase
		if newDB == "" {
			newDB = srcDB
		}
		nt := s.m.Table(newDB, ev.NewTable)
		ev.NewDatabase, ev.NewTable = nt.Database, nt.Table
	}
	if len(ev.RenamedColumns) > 0 {
		ev.RenamedColumns = targetRenames(ev.RenamedColumns, tm)
	}
	if ev.Columns != nil {
		cols := slices.Clone(ev.Columns)
		cols = slices.DeleteFunc(cols, func(c schema.Column) bool { return tm.Drop[c.Name] })
		for i := range cols {
			cols[i].Name = tm.Column(cols[i].Name)
		}
		ev.Columns = cols
	}
	return s.sink.SchemaChange(ctx, ev)
}

// Close implements Sink.
func (s *mappedSink) Close() error { return s.sink.Close() }
