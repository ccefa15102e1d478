package verify

import (
	"errors"
	"fmt"
	"hash/maphash"
	"slices"

	"github.com/syncline/syncline/schema"
)

// plan is how one table is compared: the source's shape, the target's
// names, and the columns compared.
type plan struct {
	src schema.Table
	m   Mapping
	// tdb and tname name the table in the target.
	tdb, tname string
	// cols are the compared columns, in source column order.
	cols []planColumn
	// keyIdx holds, in key order, the index in src.Columns of each key
	// column; keyCol the index in cols.
	keyIdx, keyCol []int
	// orderSafe: the key sorts alike in the source, the target and Go, so
	// chunks are compared by key range (else by exact keys, see scan.go).
	orderSafe bool
	seed      maphash.Seed
}

// planColumn is one compared column.
type planColumn struct {
	src    schema.Column
	idx    int    // index in src.Columns
	target string // the column's name in the target
	// json: the target stores the column as PostgreSQL jsonb, whose text
	// form differs from the source's (canonicalJSON on both sides).
	json bool
}

// row is one row in comparable form.
type row struct {
	key  string // keyString of keyVals
	keys []any  // key values in key order, comparison domain
	cols []uint64
}

// newPlan builds the plan of source table t under mapping m, for a target
// that stores JSON in a normal form of its own when normalizesJSON.
func newPlan(t schema.Table, m Mapping, normalizesJSON bool, seed maphash.Seed) (*plan, error) {
	if len(t.Key) == 0 {
		return nil, fmt.Errorf("%s.%s: %w", t.Database, t.Name, schema.ErrNoKey)
	}
	p := &plan{src: t, m: m, tdb: m.Database, tname: m.Table, seed: seed}
	if p.tdb == "" {
		p.tdb = t.Database
	}
	if p.tname == "" {
		p.tname = t.Name
	}
	var errs []error
	for name := range m.Columns {
		if _, _, ok := t.Column(name); !ok {
			errs = append(errs, fmt.Errorf("mapping renames column %s, which %s.%s does not have", name, t.Database, t.Name))
		}
	}
	omit := map[string]bool{}
	for _, name := range m.Omit {
		c, _, ok := t.Column(name)
		if !ok {
			errs = append(errs, fmt.Errorf("mapping omits column %s, which %s.%s does not have", name, t.Database, t.Name))
			continue
		}
		if slices.Contains(t.Key, c.Name) {
			errs = append(errs, fmt.Errorf("mapping omits key column %s of %s.%s; the target needs the key", name, t.Database, t.Name))
		}
		omit[c.Name] = true
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	for i, c := range t.Columns {
		if omit[c.Name] {
			continue
		}
		target := c.Name
		if to, ok := m.Columns[c.Name]; ok && to != "" {
			target = to
		}
		p.cols = append(p.cols, planColumn{
			src: c, idx: i, target: target,
			json: normalizesJSON && c.Type.Kind == schema.JSON,
		})
	}
	p.orderSafe = true
	for _, k := range t.Key {
		_, idx, _ := t.Column(k)
		p.keyIdx = append(p.keyIdx, idx)
		p.keyCol = append(p.keyCol, slices.IndexFunc(p.cols, func(c planColumn) bool { return c.idx == idx }))
		if !orderSafe(t.Columns[idx].Type) {
			p.orderSafe = false
		}
	}
	return p, nil
}

// name is db.table of the source, for messages.
func (p *plan) name() string { return p.src.Database + "." + p.src.Name }

// targetName is db.table of the target, for messages.
func (p *plan) targetName() string { return p.tdb + "." + p.tname }

// keyColumns returns the source key columns in key order.
func (p *plan) keyColumns() []schema.Column {
	out := make([]schema.Column, len(p.keyIdx))
	for i, idx := range p.keyIdx {
		out[i] = p.src.Columns[idx]
	}
	return out
}

// targetKeyNames returns the target's names of the key columns, in key
// order.
func (p *plan) targetKeyNames() []string {
	out := make([]string, len(p.keyCol))
	for i, c := range p.keyCol {
		out[i] = p.cols[c].target
	}
	return out
}

// sourceRow turns a whole source row (TextValues) into its comparable
// form; ok is false when the mapping's filter leaves the row out.
func (p *plan) sourceRow(vals []any) (r row, ok bool, err error) {
	if p.m.Filter != nil && !p.m.Filter(vals) {
		return row{}, false, nil
	}
	compared := make([]any, len(p.cols))
	for i, c := range p.cols {
		compared[i] = vals[c.idx]
	}
	r, err = p.targetRow(compared)
	return r, err == nil, err
}

// targetRow turns the compared columns' values (in p.cols order, already
// in the comparison domain) into the comparable form. A value outside the
// domain is an error: it would compare by accident.
func (p *plan) targetRow(vals []any) (row, error) {
	r := row{keys: make([]any, len(p.keyCol)), cols: make([]uint64, len(p.cols))}
	for i, c := range p.keyCol {
		r.keys[i] = vals[c]
	}
	r.key = keyString(r.keys)
	for i, c := range p.cols {
		s, ok := canon(vals[i])
		if !ok {
			return row{}, fmt.Errorf("%s column %s: verify cannot compare a value of Go type %T", p.name(), c.src.Name, vals[i])
		}
		if c.json {
			if str, isString := vals[i].(string); isString {
				s, _ = canon(canonicalJSON(str))
			}
		}
		r.cols[i] = maphash.String(p.seed, s)
	}
	return r, nil
}

// keyText renders a row's key for reports: name=value pairs in key order.
func (p *plan) keyText(keys []any) []KeyColumn {
	out := make([]KeyColumn, len(keys))
	for i, c := range p.keyCol {
		out[i] = KeyColumn{Column: p.cols[c].src.Name, Value: display(keys[i], p.cols[c].src.Type)}
	}
	return out
}

// diffColumns returns the source names of the columns where a and b differ.
func (p *plan) diffColumns(a, b row) []string {
	var out []string
	for i := range p.cols {
		if a.cols[i] != b.cols[i] {
			out = append(out, p.cols[i].src.Name)
		}
	}
	return out
}

// sameRow reports whether two rows of one key hold the same values.
func sameRow(a, b row) bool { return slices.Equal(a.cols, b.cols) }

// digest is an order-independent checksum of a set of rows: their count
// and the sum of their hashes.
type digest struct {
	rows int
	sum  uint64
}

func (d *digest) add(p *plan, r row) {
	h := maphash.String(p.seed, r.key)
	for _, c := range r.cols {
		h = h*0x100000001b3 ^ c
	}
	d.rows++
	d.sum += h
}
