package verify

import (
	"context"
	"slices"
)

// tableRun is the state of one table's verification.
type tableRun struct {
	p   *plan
	tt  targetTable
	rep *TableReport
	// suspects are the rows that differed when last compared, by key
	// string, with how they differed.
	suspects map[string]suspect
	// checksummed counts the chunks found equal by server checksums.
	checksummed int
}

// suspect is a row that differed when last compared.
type suspect struct {
	keys []any
	diff Difference
}

// note records a row that differs: src and tgt are the two sides' rows
// (nil for a side without the row). It forgets a row that no longer
// differs, and returns whether the row differs.
func (tr *tableRun) note(key string, src, tgt *row) bool {
	var d Difference
	var keys []any
	switch {
	case src != nil && tgt != nil:
		if sameRow(*src, *tgt) {
			delete(tr.suspects, key)
			return false
		}
		d = Difference{Kind: KindDifferent, Columns: tr.p.diffColumns(*src, *tgt)}
		keys = src.keys
	case src != nil:
		d = Difference{Kind: KindMissing}
		keys = src.keys
	case tgt != nil && !tr.p.m.KeepExtra:
		d = Difference{Kind: KindExtra}
		keys = tgt.keys
	default:
		delete(tr.suspects, key)
		return false
	}
	d.Key = tr.p.keyText(keys)
	tr.suspects[key] = suspect{keys: keys, diff: d}
	return true
}

// compareChunk compares a chunk's source rows with the target's rows for
// the same keys (and, with extras, the target's other rows of the chunk's
// key range, which are extra). The order-independent digests of both sides
// are compared first; rows are matched only when they differ.
func (tr *tableRun) compareChunk(src, tgt []row, extras bool) {
	var ds, dt digest
	for _, r := range src {
		ds.add(tr.p, r)
	}
	for _, r := range tgt {
		dt.add(tr.p, r)
	}
	if ds == dt {
		return
	}
	byKey := make(map[string]*row, len(tgt))
	for i := range tgt {
		byKey[tgt[i].key] = &tgt[i]
	}
	for i := range src {
		s := &src[i]
		tr.note(s.key, s, byKey[s.key])
		delete(byKey, s.key)
	}
	if extras {
		for k, t := range byKey {
			tr.note(k, nil, t)
		}
	}
}

// scan compares the whole table once, chunk by chunk, and leaves the rows
// that differ in tr.suspects. Tables keyed by order-safe columns are read
// by key range on both sides; others by exact keys (scanByKeys).
func (v *Verifier) scan(ctx context.Context, tr *tableRun) error {
	if !tr.p.orderSafe {
		return v.scanByKeys(ctx, tr)
	}
	var lo []any
	for {
		hi, err := v.scanRange(ctx, tr, lo)
		if err != nil || hi == nil {
			return err
		}
		lo = hi
	}
}

// scanRange compares the chunk after lo and returns its upper bound, nil
// for the last chunk. The source's rows are read in one snapshot: the
// chunk's ChunkRows rows after lo, whose last key is the bound hi, or all
// rows after lo. The target's rows lo < key <= hi (the last chunk: all
// after lo) are read next, in key order, which these keys share in every
// database. When the target can (MySQL, same column types), both sides
// checksum the chunk on the server first, and rows are read only when the
// checksums differ.
func (v *Verifier) scanRange(ctx context.Context, tr *tableRun, lo []any) ([]any, error) {
	p := tr.p
	n := v.cfg.ChunkRows
	if _, err := v.src.begin(ctx); err != nil {
		return nil, err
	}
	open := true
	end := func() {
		if open {
			v.src.end(ctx)
			open = false
		}
	}
	defer end()
	var src []row
	var hi []any
	if tr.tt.canChecksum() {
		var err error
		if hi, err = v.src.bound(ctx, p, lo, n); err != nil {
			return nil, err
		}
		ss, err := v.src.checksum(ctx, p, lo, hi)
		if err != nil {
			return nil, err
		}
		ts, err := tr.tt.checksum(ctx, lo, hi)
		if err != nil {
			return nil, err
		}
		tr.rep.Chunks++
		if ss == ts {
			tr.checksummed++
			tr.rep.Rows += ss.Rows
			return hi, nil
		}
		err = v.src.rows(ctx, p, lo, hi, 0, func(vals []any) error {
			r, ok, err := p.sourceRow(vals)
			if ok {
				src = append(src, r)
			}
			return err
		})
		if err != nil {
			return nil, err
		}
	} else {
		read := 0
		var last []any
		err := v.src.rows(ctx, p, lo, nil, n, func(vals []any) error {
			read++
			last = p.src.KeyValues(vals)
			r, ok, err := p.sourceRow(vals)
			if ok {
				src = append(src, r)
			}
			return err
		})
		if err != nil {
			return nil, err
		}
		if read == n {
			hi = last
		}
		tr.rep.Chunks++
	}
	end()
	var tgt []row
	err := tr.tt.rows(ctx, lo, hi, func(r row) error {
		tgt = append(tgt, r)
		return nil
	})
	if err != nil {
		return nil, err
	}
	tr.rep.Rows += int64(len(src))
	tr.compareChunk(src, tgt, true)
	return hi, nil
}

// scanByKeys compares a table whose key the databases may sort
// differently (character strings under collations, ENUM, SET, ...), so key
// ranges would not cover the same rows: the source is read in chunks in
// its own key order, each chunk in one snapshot, and the target's rows of
// exactly those keys are read; that finds the rows missing or different in
// the target. Then, unless the mapping keeps extra rows, the target's keys
// are walked in its own key order, and those the source lacks (looked up by
// key, in a snapshot per batch) are extra. Keys are matched in Go, byte for
// byte, never by a collation.
func (v *Verifier) scanByKeys(ctx context.Context, tr *tableRun) error {
	p := tr.p
	n := v.cfg.ChunkRows
	var lo []any
	for {
		if _, err := v.src.begin(ctx); err != nil {
			return err
		}
		var src []row
		read := 0
		var last []any
		err := v.src.rows(ctx, p, lo, nil, n, func(vals []any) error {
			read++
			last = p.src.KeyValues(vals)
			r, ok, err := p.sourceRow(vals)
			if ok {
				src = append(src, r)
			}
			return err
		})
		v.src.end(ctx)
		if err != nil {
			return err
		}
		tr.rep.Chunks++
		tr.rep.Rows += int64(len(src))
		keys := make([][]any, len(src))
		for i, r := range src {
			keys[i] = r.keys
		}
		var tgt []row
		err = tr.tt.rowsByKeys(ctx, keys, func(r row) error {
			tgt = append(tgt, r)
			return nil
		})
		if err != nil {
			return err
		}
		tr.compareChunk(src, tgt, false)
		if read < n {
			break
		}
		lo = last
	}
	if p.m.KeepExtra {
		return nil
	}
	var after []any
	for {
		keys, next, err := tr.tt.keys(ctx, after, n)
		if err != nil {
			return err
		}
		if len(keys) > 0 {
			present, err := v.sourceRows(ctx, tr, keys)
			if err != nil {
				return err
			}
			for _, k := range keys {
				key := keyString(k)
				if _, ok := present[key]; !ok {
					tr.note(key, nil, &row{key: key, keys: k})
				}
			}
		}
		if next == nil {
			return nil
		}
		after = next
	}
}

// sourceRows reads the source rows of the given keys (those the mapping's
// filter selects), in a snapshot per ChunkRows keys.
func (v *Verifier) sourceRows(ctx context.Context, tr *tableRun, keys [][]any) (map[string]row, error) {
	out := make(map[string]row, len(keys))
	for batch := range slices.Chunk(keys, v.cfg.ChunkRows) {
		if _, err := v.src.begin(ctx); err != nil {
			return nil, err
		}
		err := v.src.rowsByKeys(ctx, tr.p, batch, func(vals []any) error {
			r, ok, err := tr.p.sourceRow(vals)
			if ok {
				out[r.key] = r
			}
			return err
		})
		v.src.end(ctx)
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// targetRows reads the target rows of the given keys.
func (v *Verifier) targetRows(ctx context.Context, tr *tableRun, keys [][]any) (map[string]row, error) {
	out := make(map[string]row, len(keys))
	for batch := range slices.Chunk(keys, v.cfg.ChunkRows) {
		err := tr.tt.rowsByKeys(ctx, batch, func(r row) error {
			out[r.key] = r
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}
