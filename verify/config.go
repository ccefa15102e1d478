package verify

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/syncline/syncline/endpoint"
	"github.com/syncline/syncline/internal/target"
	"github.com/syncline/syncline/schema"
)

// Defaults of Config.
const (
	DefaultChunkRows       = 1000
	DefaultRecheckWait     = 5 * time.Second
	DefaultRecheckAttempts = 3
	DefaultMaxExamples     = 10
	DefaultConnectTimeout  = 10 * time.Second
)

// MaxChunkRows bounds Config.ChunkRows: a chunk's keys travel as the
// parameters of one statement, and a chunk is held in memory on both sides.
const MaxChunkRows = 50000

// Mapping says how one source table appears in the target: under which
// names, with which columns, and which of its rows. The zero Mapping is the
// identity (apply's default: same names, every column, every row, deletes
// synced).
type Mapping struct {
	// Database and Table are the target's names for the table (a database
	// in MySQL and ClickHouse, a schema in PostgreSQL); empty means the
	// source's name.
	Database, Table string
	// Columns maps source column names to target column names, for the
	// columns the target holds under another name; a column not in the map
	// keeps its name.
	Columns map[string]string
	// Omit lists the source columns the target does not hold (dropped by
	// the task); they are not compared. Key columns cannot be omitted.
	Omit []string
	// Filter selects the source rows the target holds (the task's row
	// filter). It gets a whole source row in table column order, with the
	// values apply receives (the Go types of mysqlvalue.TextValues:
	// DATETIME as int64 microseconds, DATE and TIMESTAMP as time.Time,
	// DECIMAL and BIGINT UNSIGNED as *big.Rat, ...). Nil selects every row.
	// A target row whose source row is filtered out is extra.
	Filter func(row []any) bool
	// KeepExtra says the task does not sync deletes: rows the target holds
	// and the source lacks are expected, not differences (and --repair
	// leaves them).
	KeepExtra bool
}

// Config configures a Verifier. New validates it.
type Config struct {
	// Source is the MySQL or MariaDB source (mysql://). Verify reads it in
	// one consistent snapshot per chunk and never locks a table; its user
	// needs SELECT, and on MySQL (not MariaDB) REPLICATION CLIENT for the
	// binlog position that repairs are versioned with.
	Source endpoint.Endpoint
	// Target is the target apply writes: mysql://, postgres:// or
	// clickhouse://.
	Target endpoint.Endpoint
	// Tables selects the source tables to verify (a *filter.Filter, or a
	// task's *task.Objects); required.
	Tables Selection
	// Map gives the mapping of a source table, given its current shape (the
	// task's renames, dropped columns, row filter and delete policy); nil
	// maps every table to itself. An error is reported as the table's.
	Map func(t schema.Table) (Mapping, error)
	// ChunkRows is the number of source rows read per chunk, each chunk in
	// its own snapshot (DefaultChunkRows; at most MaxChunkRows).
	ChunkRows int
	// RateLimit bounds the rows read from the source per second, to keep
	// verify's load on a production server bounded; 0 is no limit.
	RateLimit int
	// RecheckWait is how long verify waits before reading a differing row
	// again, so that changes still in flight through Kafka and apply reach
	// the target first (DefaultRecheckWait). Set it above apply's delay.
	RecheckWait time.Duration
	// RecheckAttempts is how often a differing row is read again; only rows
	// that differ every time are reported (DefaultRecheckAttempts). Use
	// NoRecheck for none, e.g. when replication is stopped.
	RecheckAttempts int
	// Repair rewrites the differing rows in the target from the source,
	// through apply's sink for the target, then verifies them again.
	Repair bool
	// MaxExamples bounds the differences listed per table
	// (DefaultMaxExamples when 0; none when negative); all are counted.
	MaxExamples int
	// ConnectTimeout bounds each connection attempt (DefaultConnectTimeout).
	ConnectTimeout time.Duration
	// Logger receives progress; slog.Default() when nil.
	Logger *slog.Logger
}

// NoRecheck, as Config.RecheckAttempts, reports the differences of the
// first comparison without reading them again.
const NoRecheck = -1

func (c *Config) setDefaults() {
	if c.ChunkRows == 0 {
		c.ChunkRows = DefaultChunkRows
	}
	if c.RecheckWait == 0 {
		c.RecheckWait = DefaultRecheckWait
	}
	if c.RecheckAttempts == 0 {
		c.RecheckAttempts = DefaultRecheckAttempts
	}
	if c.MaxExamples == 0 {
		c.MaxExamples = DefaultMaxExamples
	}
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = DefaultConnectTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Validate fills in defaults and checks the configuration without I/O.
// Errors name the setting by its flag.
func (c *Config) Validate() error {
	c.setDefaults()
	var errs []error
	if c.Source.Kind != endpoint.MySQL {
		errs = append(errs, fmt.Errorf("source: %q is not a mysql:// URL", c.Source.Redacted()))
	}
	if !target.Serves(c.Target.Kind) {
		errs = append(errs, fmt.Errorf("target: %q is not a %s URL", c.Target.Redacted(), target.Schemes()))
	}
	if c.Tables == nil {
		errs = append(errs, errors.New("tables: select the tables to verify, e.g. shop.*"))
	}
	if c.ChunkRows < 1 || c.ChunkRows > MaxChunkRows {
		errs = append(errs, fmt.Errorf("chunk-rows: %d must be from 1 to %d", c.ChunkRows, MaxChunkRows))
	}
	if c.RateLimit < 0 {
		errs = append(errs, fmt.Errorf("rate-limit: %d must not be negative (0 is no limit)", c.RateLimit))
	}
	if c.RecheckWait < 0 {
		errs = append(errs, fmt.Errorf("recheck-wait: %s must not be negative", c.RecheckWait))
	}
	if c.RecheckAttempts < NoRecheck {
		errs = append(errs, fmt.Errorf("recheck-attempts: %d must not be negative", c.RecheckAttempts))
	}
	if c.ConnectTimeout < 0 {
		errs = append(errs, fmt.Errorf("connect timeout %s must not be negative", c.ConnectTimeout))
	}
	return errors.Join(errs...)
}

// mapping returns the mapping of a source table.
func (c *Config) mapping(t schema.Table) (Mapping, error) {
	if c.Map == nil {
		return Mapping{}, nil
	}
	return c.Map(t)
}

// Selection chooses the source tables to verify.
type Selection interface {
	Match(db, table string) bool
	String() string
}
