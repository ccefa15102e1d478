package verify

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/syncline/syncline/internal/target"
	"github.com/syncline/syncline/internal/target/verifyread"
)

// errMissingTable is wrapped by openTarget's error when the target has no
// such table.
var errMissingTable = verifyread.ErrMissingTable

// newTargetDB returns the reader of the target, from the target registry:
// each target reads its own tables (internal/target/<kind>/verify.go). It
// does no I/O.
func newTargetDB(cfg Config, log *slog.Logger) (verifyread.Reader, error) {
	t, err := target.Open(cfg.Target, target.Options{MaxConns: 1, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("target: verify cannot read it: %w", err)
	}
	return t.Reader(cfg.ConnectTimeout), nil
}

// targetTable reads the rows of one target table in comparable form: the
// target's reader gives the compared columns in the comparison domain
// (values.go), and p makes rows of them.
type targetTable struct {
	r verifyread.TableReader
	p *plan
}

// openTarget opens p's table in the target. A missing table gives an error
// wrapping errMissingTable.
func openTarget(ctx context.Context, db verifyread.Reader, p *plan) (targetTable, error) {
	r, err := db.Open(ctx, p.readTable())
	if err != nil {
		return targetTable{}, err
	}
	return targetTable{r: r, p: p}, nil
}

// readTable is what the target's reader is told of p.
func (p *plan) readTable() *verifyread.Table {
	t := &verifyread.Table{
		Source:   p.name(),
		Database: p.tdb,
		Name:     p.tname,
		Key:      p.keyCol,
		Filtered: p.m.Filter != nil,
	}
	for _, c := range p.cols {
		t.Columns = append(t.Columns, verifyread.Column{Source: c.src, Target: c.target})
	}
	return t
}

// rowsOf turns fn over rows into a function over the compared columns'
// values.
func (tt targetTable) rowsOf(fn func(row) error) func([]any) error {
	return func(vals []any) error {
		r, err := tt.p.targetRow(vals)
		if err != nil {
			return err
		}
		return fn(r)
	}
}

// rows streams the rows with lo < key <= hi (nil bounds are open).
func (tt targetTable) rows(ctx context.Context, lo, hi []any, fn func(row) error) error {
	return tt.r.Rows(ctx, lo, hi, tt.rowsOf(fn))
}

// rowsByKeys streams the rows of the given keys.
func (tt targetTable) rowsByKeys(ctx context.Context, keys [][]any, fn func(row) error) error {
	return tt.r.RowsByKeys(ctx, keys, tt.rowsOf(fn))
}

// keys reads the next at most n keys after the key after in the target's
// own key order (verifyread.TableReader.Keys).
func (tt targetTable) keys(ctx context.Context, after []any, n int) ([][]any, []any, error) {
	return tt.r.Keys(ctx, after, n)
}

// canChecksum reports whether checksum works for this table: the target
// is MySQL and stores the compared columns as the source does.
func (tt targetTable) canChecksum() bool { return tt.r.CanChecksum() }

// checksum computes the checksum of the rows lo < key <= hi on the
// server, comparable with source.checksum.
func (tt targetTable) checksum(ctx context.Context, lo, hi []any) (verifyread.Sum, error) {
	return tt.r.Checksum(ctx, lo, hi)
}
