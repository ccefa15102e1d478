// Package verify proves that a target equals the source, table by table,
// while replication runs, and mends the rows that differ (syncline
// verify; docs/verify.md).
//
// Each selected source table is walked along its key in chunks, each chunk
// read in its own consistent snapshot of the source (no table lock). The
// target's rows of the same keys are read and both sides are brought into
// one domain, the values apply receives, undoing the target's documented
// type mapping (docs/targets.md); a documented loss (PostgreSQL's jsonb) is
// applied to both sides. Chunks are compared by checksum first, computed by
// the servers where both store the same text (MySQL to MySQL with the same
// types), else over the rows streamed in key order; rows are matched only in
// a chunk whose checksums differ. Rows that differ are read again after a
// wait, so changes still in flight are not reported; those that keep
// differing are reported, and with Config.Repair rewritten from the source
// through apply's sink for the target, then read again.
//
// A task's mapping (renamed tables and columns, dropped columns, row
// filters, deletes not synced) is given by Config.Map.
package verify

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"slices"
	"time"

	"github.com/syncline/syncline/apply"
	"github.com/syncline/syncline/internal/target/verifyread"
)

// Verifier compares a source with a target. Use it for one Run.
type Verifier struct {
	cfg Config
	log *slog.Logger

	src  *source
	tgt  verifyread.Reader
	sink apply.Sink // with Repair
}

// New validates cfg and returns a Verifier. It does no I/O.
func New(cfg Config) (*Verifier, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := cfg.Logger.With("component", "verify")
	tgt, err := newTargetDB(cfg, log)
	if err != nil {
		return nil, err
	}
	v := &Verifier{
		cfg: cfg, log: log, tgt: tgt,
		src: &source{ep: cfg.Source, timeout: cfg.ConnectTimeout, log: log, limit: newLimiter(cfg.RateLimit)},
	}
	if cfg.Repair {
		if v.sink, err = newSink(cfg.Target, log); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// Run verifies every selected table and returns the report. A table that
// cannot be compared (missing in the target, no key, a column the target
// stores in a type verify cannot map back) is reported with its error and
// the others are still verified; Run itself fails only when the source
// cannot be listed or ctx ends, and then returns what it has.
func (v *Verifier) Run(ctx context.Context) (*Report, error) {
	defer v.close()
	rep := &Report{Source: v.cfg.Source.Redacted(), Target: v.cfg.Target.Redacted(), Started: time.Now()}
	finish := func(err error) (*Report, error) {
		rep.Seconds = time.Since(rep.Started).Seconds()
		rep.summarize()
		return rep, err
	}
	tables, err := v.src.tables(ctx, v.cfg.Tables)
	if err != nil {
		return finish(err)
	}
	if len(tables) == 0 {
		return finish(fmt.Errorf("source %s has no table that --tables %s selects", v.cfg.Source.Redacted(), v.cfg.Tables))
	}
	seed := maphash.MakeSeed()
	rep.Tables = make([]TableReport, len(tables))
	runs := make([]*tableRun, 0, len(tables))
	for i, t := range tables {
		tr := &tableRun{rep: &rep.Tables[i], suspects: map[string]suspect{}}
		tr.rep.Database, tr.rep.Table = t[0], t[1]
		tr.rep.TargetDatabase, tr.rep.TargetTable = t[0], t[1]
		if err := v.prepare(ctx, tr, seed); err != nil {
			if ctx.Err() != nil {
				return finish(err)
			}
			tr.rep.Error = err.Error()
			continue
		}
		started := time.Now()
		if err := v.scan(ctx, tr); err != nil {
			if ctx.Err() != nil {
				return finish(err)
			}
			tr.rep.Error = err.Error()
			continue
		}
		v.log.Info("table compared", "table", tr.p.name(), "target", tr.p.targetName(),
			"rows", tr.rep.Rows, "chunks", tr.rep.Chunks, "equal_by_checksum", tr.checksummed, "differing", len(tr.suspects), "took", time.Since(started).Round(time.Millisecond))
		runs = append(runs, tr)
	}
	if err := v.recheck(ctx, runs); err != nil {
		return finish(err)
	}
	if v.cfg.Repair {
		for _, tr := range runs {
			if len(tr.suspects) == 0 || tr.rep.Error != "" {
				continue
			}
			if err := v.repair(ctx, tr); err != nil {
				if ctx.Err() != nil {
					return finish(err)
				}
				tr.rep.Error = err.Error()
			}
		}
	}
	for _, tr := range runs {
		v.report(tr)
	}
	return finish(nil)
}

// prepare loads the source table, builds its plan and opens the target
// table.
func (v *Verifier) prepare(ctx context.Context, tr *tableRun, seed maphash.Seed) error {
	t, err := v.src.load(ctx, tr.rep.Database, tr.rep.Table)
	if err != nil {
		return err
	}
	m, err := v.cfg.mapping(t)
	if err != nil {
		return err
	}
	p, err := newPlan(t, m, v.tgt.NormalizesJSON(), seed)
	if err != nil {
		return err
	}
	tr.p = p
	tr.rep.TargetDatabase, tr.rep.TargetTable = p.tdb, p.tname
	tt, err := openTarget(ctx, v.tgt, p)
	if errors.Is(err, errMissingTable) {
		return fmt.Errorf("%w: %s (is apply running for this table, and is the mapping right?)", errMissingTable, p.targetName())
	}
	if err != nil {
		return err
	}
	tr.tt = tt
	return nil
}

// report counts the rows that still differ and lists the first, in key
// order.
func (v *Verifier) report(tr *tableRun) {
	keys := tr.suspectKeys()
	slices.SortFunc(keys, compareKeys)
	for _, k := range keys {
		s := tr.suspects[keyString(k)]
		switch s.diff.Kind {
		case KindMissing:
			tr.rep.Missing++
		case KindExtra:
			tr.rep.Extra++
		default:
			tr.rep.Different++
		}
		if len(tr.rep.Differences) < v.cfg.MaxExamples {
			tr.rep.Differences = append(tr.rep.Differences, s.diff)
		}
	}
	if len(keys) > 0 {
		v.log.Warn("rows differ", "table", tr.p.name(), "target", tr.p.targetName(),
			"missing", tr.rep.Missing, "extra", tr.rep.Extra, "different", tr.rep.Different)
	}
}

func (v *Verifier) close() {
	v.src.close()
	v.tgt.Close()
	if v.sink != nil {
		_ = v.sink.Close()
	}
}
