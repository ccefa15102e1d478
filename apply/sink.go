package apply

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/syncline/syncline/internal/event"
	"github.com/syncline/syncline/internal/retry"
	"github.com/syncline/syncline/schema"
)

// Sink writes changes into one target. Implementations: internal/target/mysql,
// internal/target/postgres and internal/target/clickhouse, opened by the
// registry internal/target. Apply calls a Sink from several
// goroutines at once, but never for the same table at the same time, and
// never while a SchemaChange runs.
//
// Tables are named as in the source: Database is the source database (a
// database in MySQL, a schema in PostgreSQL), Name the source table. Every
// table a sink creates gets the column VersionColumn, a BIGINT holding the
// ordering version (docs/events.md) of the change that wrote the row; its
// presence marks the table as apply's own.
//
// Errors: return an error that wraps ErrRetryable (see Retryable) when trying
// again later may succeed (connection lost, server restarting, deadlock,
// lock timeout); apply then retries with backoff for its retry window. Any
// other error is final for the batch.
type Sink interface {
	// Prepare makes the target table able to hold rows of shape t: it
	// creates the database and table when they are missing (with t.Key as
	// primary key plus the version column), adds the columns t has and the
	// target lacks, changes the types that differ, and, with
	// opts.DropColumns, drops the columns t lacks. It honours opts.Renamed:
	// a target column still under an old name is renamed, not dropped and
	// added again. A table without t.Key (len 0) is only changed, never
	// created. An existing table that is not apply's own (no version column)
	// is handled by opts.Existing. Idempotent: it reads the target's
	// catalog and changes only what differs.
	Prepare(ctx context.Context, t schema.Table, opts PrepareOptions) error

	// Write applies a batch of changes of one table durably: committed,
	// in one target transaction, when it returns nil. t is the table's
	// shape as last prepared. changes holds at most one change per key, in
	// source order; each change must win over the target's row of the same
	// key only if its Version is at least the row's version (an older change
	// arriving late, or again after a restart, loses). A Row may lack
	// columns of t (written before they were added): they keep their value
	// on update and get their default on insert.
	Write(ctx context.Context, t schema.Table, changes []Change) error

	// SchemaChange applies a DDL event that a row-shape diff cannot express:
	// column renames of an alter_table, truncate_table and drop_table (rows
	// with a version below ev.Version are removed; a table holding newer
	// rows is kept), rename_table, drop_database. Other kinds are a no-op
	// (Prepare handles added, changed and dropped columns). Idempotent: an
	// event applied again after a restart changes nothing. A change the
	// target cannot express returns an error wrapping ErrUnsupportedDDL.
	SchemaChange(ctx context.Context, ev SchemaChange) error

	// Close releases the sink's connections.
	Close() error
}

// VersionColumn is the column holding the ordering version of the change
// that last wrote a row, in every table apply creates.
const VersionColumn = "_syncline_version"

// Op is the kind of a change.
type Op uint8

// The kinds of change.
const (
	// Upsert inserts the row, or replaces the row of the same key.
	Upsert Op = iota + 1
	// Delete removes the row of the key.
	Delete
)

// String returns "upsert" or "delete".
func (o Op) String() string {
	switch o {
	case Upsert:
		return "upsert"
	case Delete:
		return "delete"
	}
	return "op(?)"
}

// Change is one row change of one table.
//
// Row holds the values by true column name (the event's mysql.column
// property, not the Avro field name): the row after the change for Upsert,
// the row before it for Delete (sinks use its key columns). The Go types, by
// column type, are:
//
//	TINYINT, SMALLINT, MEDIUMINT (signed or not), INT, YEAR  int32
//	INT UNSIGNED, BIGINT                                     int64
//	BIGINT UNSIGNED, DECIMAL                                 *big.Rat (exact)
//	FLOAT, DOUBLE                                            float32, float64
//	CHAR, VARCHAR, TEXT kinds, ENUM, SET, JSON               string (UTF-8)
//	BIT, BINARY, VARBINARY, BLOB kinds, GEOMETRY             []byte (BIT big-endian)
//	DATE                                                     time.Time, UTC midnight
//	DATETIME                                                 time.Time in UTC whose wall clock is the value
//	TIMESTAMP                                                time.Time in UTC
//	TIME                                                     int64, signed microseconds
//	NULL                                                     nil
//
// MySQL's zero dates (docs/events.md) arrive as the sentinel times
// schema.ZeroDate() for DATE and time.UnixMicro(math.MinInt64).UTC() for
// DATETIME and TIMESTAMP; schema.IsZeroDate recognizes all three.
type Change struct {
	Op  Op
	Row map[string]any
	// Version is the event's ordering version (source.version).
	Version int64
	// SourceTS is the source commit time of the change (source.ts_ms).
	SourceTS time.Time
}

// ExistingTables is the policy for a target table that exists but was not
// created by apply (it has no version column).
type ExistingTables string

// The policies for existing tables.
const (
	// ExistingFail stops apply with an error naming the table and the
	// --existing-tables flag.
	ExistingFail ExistingTables = "fail"
	// ExistingWrite writes into the table: the sink adds the version
	// column, then upserts and deletes as in its own tables.
	ExistingWrite ExistingTables = "write"
)

// PrepareOptions tune Prepare.
type PrepareOptions struct {
	// Existing is the policy for a table that exists but is not apply's.
	Existing ExistingTables
	// Renamed maps a column's old names to its name in t, for every rename
	// the table went through; chains are resolved (a renamed to b, then b
	// to c, gives a: c and b: c).
	Renamed map[string]string
	// DropColumns drops the target columns that t lacks (never the version
	// column).
	DropColumns bool
	// KeepTypes names columns whose type is left as the target has it: the
	// type change came with a schema change skipped by --skip-ddl.
	KeepTypes map[string]bool
}

// DDL kinds of schema-change events (docs/events.md); aliases of package
// event's, where the format is defined.
const (
	DDLCreateTable    = event.DDLCreateTable
	DDLDropTable      = event.DDLDropTable
	DDLTruncateTable  = event.DDLTruncateTable
	DDLRenameTable    = event.DDLRenameTable
	DDLAlterTable     = event.DDLAlterTable
	DDLCreateDatabase = event.DDLCreateDatabase
	DDLDropDatabase   = event.DDLDropDatabase
	DDLOther          = event.DDLOther
)

// SchemaChange is one decoded schema-change event (event.SchemaChange).
type SchemaChange = event.SchemaChange

// ErrUnsupportedDDL is wrapped by a Sink's SchemaChange error for a change
// the target cannot express. Apply stops with an error naming the statement
// and the flag that skips it.
var ErrUnsupportedDDL = errors.New("schema change not supported by the target")

// ErrExistingTable is wrapped by Prepare's error when a table exists in the
// target, is not apply's own, and the policy is ExistingFail.
var ErrExistingTable = errors.New("table already exists in the target")

// ErrRetryable marks errors after which trying again may succeed: it is
// retry.ErrTransient.
var ErrRetryable = retry.ErrTransient

// Retryable marks err as retryable (it then wraps ErrRetryable); nil stays
// nil. It is retry.Transient.
func Retryable(err error) error { return retry.Transient(err) }

// ErrKeyChanged is wrapped by Prepare's error when the target table's
// primary key is not the key of the rows to write.
var ErrKeyChanged = errors.New("primary key differs")

// CheckKey compares a target table's primary key columns (got, in key
// order) with t.Key, for sinks' Prepare. Key columns the target still has
// under an old name match when t names them as renamed.
func CheckKey(t schema.Table, got []string) error {
	if len(got) == 0 {
		return fmt.Errorf("%w: %s.%s has no primary key in the target; apply needs one matching the source key (%s)",
			ErrKeyChanged, t.Database, t.Name, strings.Join(t.Key, ", "))
	}
	if strings.Join(got, "\x00") == strings.Join(t.Key, "\x00") {
		return nil
	}
	if len(got) == len(t.Key) {
		have := make(map[string]bool, len(t.Columns))
		for _, c := range t.Columns {
			have[c.Name] = true
		}
		same := true
		for i, g := range got {
			// A key column renamed in the source: the target renames it
			// before writing.
			if g != t.Key[i] && have[g] {
				same = false
			}
		}
		if same {
			return nil
		}
	}
	return fmt.Errorf("%w: %s.%s has primary key (%s) in the target, the source key is (%s); changing a table's key is not supported",
		ErrKeyChanged, t.Database, t.Name, strings.Join(got, ", "), strings.Join(t.Key, ", "))
}
