package verify

import (
	"context"
	"time"
)

// recheck reads the rows that differed again, RecheckAttempts times, so
// that changes still on their way through Kafka and apply are not reported
// as differences. Each round reads every suspect row from the source (a
// snapshot S), waits RecheckWait, reads the target's row T, and for the
// rows where T differs from S reads the source again (S2, right after T). A
// row is settled when T equals S (apply caught up with S during the wait)
// or T equals S2 (the row changed during the wait, and apply caught up with
// that too); a row differs only if neither holds in every round. A row that
// changes all the time may still differ in every round; with RecheckWait
// above apply's delay that needs a change within apply's delay before each
// S2.
func (v *Verifier) recheck(ctx context.Context, runs []*tableRun) error {
	for round := 1; round <= v.cfg.RecheckAttempts; round++ {
		var pending []*tableRun
		before := map[*tableRun]map[string]row{}
		for _, tr := range runs {
			if len(tr.suspects) == 0 || tr.rep.Error != "" {
				continue
			}
			s, err := v.sourceRows(ctx, tr, tr.suspectKeys())
			if err != nil {
				if ctx.Err() != nil {
					return err
				}
				tr.rep.Error = err.Error()
				continue
			}
			pending = append(pending, tr)
			before[tr] = s
		}
		if len(pending) == 0 {
			return nil
		}
		n := 0
		for _, tr := range pending {
			n += len(tr.suspects)
		}
		v.log.Info("rechecking rows that differ, after the recheck wait", "round", round, "rows", n, "wait", v.cfg.RecheckWait)
		if err := sleep(ctx, v.cfg.RecheckWait); err != nil {
			return err
		}
		for _, tr := range pending {
			if err := v.recheckTable(ctx, tr, before[tr]); err != nil {
				if ctx.Err() != nil {
					return err
				}
				tr.rep.Error = err.Error()
			}
		}
	}
	return nil
}

// recheckTable compares the suspect rows of one table with S (the source
// rows read before the wait) and, where they differ, with S2.
func (v *Verifier) recheckTable(ctx context.Context, tr *tableRun, before map[string]row) error {
	keys := tr.suspectKeys()
	tgt, err := v.targetRows(ctx, tr, keys)
	if err != nil {
		return err
	}
	var still [][]any
	for _, k := range keys {
		key := keyString(k)
		if !tr.differs(key, before, tgt) {
			delete(tr.suspects, key)
			continue
		}
		still = append(still, k)
	}
	if len(still) == 0 {
		return nil
	}
	after, err := v.sourceRows(ctx, tr, still)
	if err != nil {
		return err
	}
	for _, k := range still {
		key := keyString(k)
		tr.note(key, lookup(after, key), lookup(tgt, key))
	}
	return nil
}

// settle reads the suspect rows once more, without waiting: after a
// repair, whose writes are done when it returns.
func (v *Verifier) settle(ctx context.Context, tr *tableRun) error {
	keys := tr.suspectKeys()
	tgt, err := v.targetRows(ctx, tr, keys)
	if err != nil {
		return err
	}
	src, err := v.sourceRows(ctx, tr, keys)
	if err != nil {
		return err
	}
	for _, k := range keys {
		key := keyString(k)
		tr.note(key, lookup(src, key), lookup(tgt, key))
	}
	return nil
}

// differs reports whether the target's row of key differs from the
// source's in rows (either may lack it).
func (tr *tableRun) differs(key string, src, tgt map[string]row) bool {
	s, okS := src[key]
	t, okT := tgt[key]
	switch {
	case okS && okT:
		return !sameRow(s, t)
	case okS:
		return true
	case okT:
		return !tr.p.m.KeepExtra
	}
	return false
}

// suspectKeys returns the keys of the suspect rows.
func (tr *tableRun) suspectKeys() [][]any {
	out := make([][]any, 0, len(tr.suspects))
	for _, s := range tr.suspects {
		out = append(out, s.keys)
	}
	return out
}

func lookup(m map[string]row, key string) *row {
	if r, ok := m[key]; ok {
		return &r
	}
	return nil
}

// sleep waits for d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
