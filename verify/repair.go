package verify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"

	"github.com/syncline/syncline/apply"
	"github.com/syncline/syncline/endpoint"
	"github.com/syncline/syncline/internal/target"
	"github.com/syncline/syncline/internal/target/verifyread"
	"github.com/syncline/syncline/schema"
)

// errNoPosition is wrapped by repair's error when the source's binlog
// position, which versions the repaired rows, is unknown.
var errNoPosition = errors.New("the source's binlog position is unknown: repairs need it to version their writes (MariaDB: log_bin on; MySQL: grant REPLICATION CLIENT)")

// newSink returns apply's sink for the target, from the target registry:
// repairs are written exactly as apply writes.
func newSink(ep endpoint.Endpoint, log *slog.Logger) (apply.Sink, error) {
	t, err := target.Open(ep, target.Options{MaxConns: 1, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("target: --repair: %w", err)
	}
	return t.Sink()
}

// sinkTable is the table shape the sink writes: the compared columns under
// their target names, the key, no character sets (as apply's shapes,
// which come from the Avro schemas, have none).
func (p *plan) sinkTable() schema.Table {
	t := schema.Table{Database: p.tdb, Name: p.tname}
	for _, c := range p.cols {
		col := c.src
		col.Name = c.target
		col.Type.Charset = ""
		t.Columns = append(t.Columns, col)
	}
	t.Key = p.targetKeyNames()
	return t
}

// repair rewrites the suspect rows of a table from the source: each batch
// of keys is read in one snapshot, and the source's rows are upserted, the
// keys the source lacks (or its filter leaves out) deleted, through apply's
// sink, with the ordering version of the snapshot's binlog position. That
// version is above every change the snapshot contains, so it wins over the
// target's row (a row changed behind apply's back keeps an older version,
// one inserted behind its back has version 0), and below every later
// change, which replication then applies over it. The rows are then read
// again.
func (v *Verifier) repair(ctx context.Context, tr *tableRun) error {
	p := tr.p
	st := p.sinkTable()
	keys := tr.suspectKeys()
	slices.SortFunc(keys, compareKeys)
	for batch := range slices.Chunk(keys, v.cfg.ChunkRows) {
		snap, err := v.src.begin(ctx)
		if err != nil {
			return err
		}
		rows := map[string][]any{}
		err = v.src.rowsByKeys(ctx, p, batch, func(vals []any) error {
			if p.m.Filter == nil || p.m.Filter(vals) {
				rows[keyString(p.src.KeyValues(vals))] = vals
			}
			return nil
		})
		v.src.end(ctx)
		if err != nil {
			return err
		}
		if !snap.known {
			return fmt.Errorf("repair %s: %w", p.name(), errNoPosition)
		}
		changes := make([]apply.Change, 0, len(batch))
		for _, k := range batch {
			vals, ok := rows[keyString(k)]
			switch {
			case ok:
				row := make(map[string]any, len(p.cols))
				for _, c := range p.cols {
					row[c.target] = verifyread.ToChange(vals[c.idx], c.src.Type)
				}
				changes = append(changes, apply.Change{Op: apply.Upsert, Row: row, Version: snap.version})
			case !p.m.KeepExtra:
				row := make(map[string]any, len(k))
				for i, c := range p.keyCol {
					row[p.cols[c].target] = verifyread.ToChange(k[i], p.cols[c].src.Type)
				}
				changes = append(changes, apply.Change{Op: apply.Delete, Row: row, Version: snap.version})
			}
		}
		if len(changes) == 0 {
			continue
		}
		if err := v.sink.Write(ctx, st, changes); err != nil {
			return fmt.Errorf("repair %s in the target: %w", p.name(), err)
		}
		tr.rep.Repaired += int64(len(changes))
		v.log.Info("repaired rows", "table", p.name(), "target", p.targetName(), "rows", len(changes))
	}
	return v.settle(ctx, tr)
}
