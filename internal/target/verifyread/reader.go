// Package verifyread is the contract between syncline verify and the
// readers of its targets: verify compares a source table with the table
// apply writes, and each target (internal/target/<kind>) reads its own
// table back into verify's comparison domain through the interfaces here.
//
// It sits below both verify and the target packages, so that a target can
// implement the reader without importing verify (which imports the
// registry, which imports the targets). It also holds the conversions the
// readers share: a value as a target stores it, back into the comparison
// domain (convert.go).
//
// The comparison domain is the Go values apply receives, as
// schema.Table.TextValues gives them for the source: DATETIME as int64
// microseconds of the wall clock, DATE and TIMESTAMP as time.Time, DECIMAL
// and BIGINT UNSIGNED as *big.Rat, BIT and binary strings as []byte, TIME
// as int64 microseconds, zero dates as schema's sentinels.
package verifyread

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/syncline/syncline/schema"
)

// ErrMissingTable is wrapped by Reader.Open's error when the target has no
// such table.
var ErrMissingTable = errors.New("table does not exist in the target")

// Table is what a reader is told of one compared table.
type Table struct {
	// Source is db.table of the source table, for messages.
	Source string
	// Database and Name name the table in the target.
	Database, Name string
	// Columns are the compared columns, in source column order.
	Columns []Column
	// Key holds, in key order, the index in Columns of each key column.
	Key []int
	// Filtered: the mapping compares only some of the source's rows (a
	// row filter), so whole-range checksums cannot be compared.
	Filtered bool
}

// Column is one compared column.
type Column struct {
	// Source is the source column (its name and type).
	Source schema.Column
	// Target is the column's name in the target.
	Target string
}

// TargetName is db.table of the target, for messages.
func (t *Table) TargetName() string { return t.Database + "." + t.Name }

// BadColumn is the error for a target column whose type verify cannot
// compare with the source column's.
func (t *Table) BadColumn(c Column, targetType string) error {
	return fmt.Errorf("column %s of %s is %s in the target, which the mapping of the source type %s (docs/targets.md) does not give; verify cannot compare it",
		c.Target, t.TargetName(), targetType, c.Source.Type)
}

// Reader reads one target database.
type Reader interface {
	// Open prepares reading t: it checks that the table and the compared
	// columns exist and learns their types. A missing table gives an error
	// wrapping ErrMissingTable.
	Open(ctx context.Context, t *Table) (TableReader, error)
	// NormalizesJSON reports whether the target stores JSON in a normal
	// form of its own (PostgreSQL's jsonb), so that JSON values are
	// compared in a canonical form on both sides.
	NormalizesJSON() bool
	// Close releases the reader's connections.
	Close()
}

// TableReader reads the rows of one target table. Each row is given as the
// values of the compared columns, in Table.Columns order, converted into
// the comparison domain by the source column's type and the target
// column's type.
type TableReader interface {
	// Rows streams the rows with lo < key <= hi (nil bounds are open), in
	// key order.
	Rows(ctx context.Context, lo, hi []any, fn func(vals []any) error) error
	// RowsByKeys streams the rows of the given keys.
	RowsByKeys(ctx context.Context, keys [][]any, fn func(vals []any) error) error
	// Keys reads the next at most n keys after the key after in the
	// target's own key order (nil: from the start). It returns the keys of
	// the rows the target holds and next, the key to continue after; next
	// is nil at the end.
	Keys(ctx context.Context, after []any, n int) (keys [][]any, next []any, err error)
	// CanChecksum reports whether Checksum works for this table: the
	// target is MySQL and stores the compared columns as the source does.
	CanChecksum() bool
	// Checksum computes the checksum of the rows lo < key <= hi on the
	// server, comparable with the source's.
	Checksum(ctx context.Context, lo, hi []any) (Sum, error)
}

// Sum is a chunk checksum computed by a MySQL server: the row count and
// the XOR of each row's MD5, in two 64-bit halves.
type Sum struct {
	Rows   int64
	H1, H2 uint64
}

// NextAfter is Keys' next for a reader that returns every row it reads:
// the last key when the batch is full, else nil (the end).
func NextAfter(keys [][]any, n int) []any {
	if len(keys) < n || len(keys) == 0 {
		return nil
	}
	return keys[len(keys)-1]
}

// Tuple writes SQL expressions as a row constructor, or the single
// expression, for key comparisons: (a, b) > (?, ?).
func Tuple(exprs []string) string {
	if len(exprs) == 1 {
		return exprs[0]
	}
	return "(" + strings.Join(exprs, ", ") + ")"
}
