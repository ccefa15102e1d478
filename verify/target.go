package verify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/syncline/syncline/endpoint"
)

// errMissingTable is wrapped by targetDB.open's error when the target has
// no such table.
var errMissingTable = errors.New("table does not exist in the target")

// targetDB reads one target database.
type targetDB interface {
	// open prepares reading p's table: it checks that the table and the
	// compared columns exist and learns their types. A missing table gives
	// an error wrapping errMissingTable.
	open(ctx context.Context, p *plan) (targetTable, error)
	close()
}

// targetTable reads the rows of one target table, converted into the
// comparison domain (values.go) by the source column's type and the
// target column's type.
type targetTable interface {
	// rows streams the rows with lo < key <= hi (nil bounds are open).
	rows(ctx context.Context, lo, hi []any, fn func(row) error) error
	// rowsByKeys streams the rows of the given keys.
	rowsByKeys(ctx context.Context, keys [][]any, fn func(row) error) error
	// keys reads the next at most n keys after the key after in the
	// target's own key order (nil: from the start). It returns the keys of
	// the rows the target holds and next, the key to continue after; next
	// is nil at the end.
	keys(ctx context.Context, after []any, n int) (keys [][]any, next []any, err error)
	// canChecksum reports whether checksum works for this table: the
	// target is MySQL and stores the compared columns as the source does.
	canChecksum() bool
	// checksum computes the checksum of the rows lo < key <= hi on the
	// server, comparable with source.checksum.
	checksum(ctx context.Context, lo, hi []any) (mysqlSum, error)
}

// newTargetDB returns the reader of a target endpoint. It does no I/O.
func newTargetDB(ep endpoint.Endpoint, timeout time.Duration, log *slog.Logger) (targetDB, error) {
	switch ep.Kind {
	case endpoint.MySQL:
		return &mysqlTarget{ep: ep, timeout: timeout}, nil
	case endpoint.Postgres:
		return &pgTarget{ep: ep, timeout: timeout}, nil
	case endpoint.ClickHouse:
		return &chTarget{ep: ep, timeout: timeout, log: log}, nil
	}
	return nil, fmt.Errorf("target: verify cannot read %s targets (%s)", ep.Kind, ep.Redacted())
}

// badColumn is the error for a target column whose type verify cannot
// compare with the source column's.
func badColumn(p *plan, c planColumn, targetType string) error {
	return fmt.Errorf("column %s of %s is %s in the target, which the mapping of the source type %s (docs/targets.md) does not give; verify cannot compare it",
		c.target, p.targetName(), targetType, c.src.Type)
}

// nextAfter is keys' next for a reader that returns every row it reads:
// the last key when the batch is full, else nil (the end).
func nextAfter(keys [][]any, n int) []any {
	if len(keys) < n || len(keys) == 0 {
		return nil
	}
	return keys[len(keys)-1]
}
