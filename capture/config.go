// Package capture reads one MySQL or MariaDB server, takes a consistent
// snapshot of the selected tables and streams their binlog changes into
// Kafka as Avro change events (docs/events.md), exactly once: every Kafka
// transaction carries the checkpoint that covers its events.
package capture

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/syncline/syncline/endpoint"
	"github.com/syncline/syncline/internal/event"
	"github.com/syncline/syncline/task"
	"github.com/syncline/syncline/topics"
)

// SnapshotMode says when capture reads tables in full.
type SnapshotMode string

// Snapshot modes.
const (
	// SnapshotInitial snapshots every table that has no position yet.
	SnapshotInitial SnapshotMode = "initial"
	// SnapshotNever only streams, from the current binlog position.
	SnapshotNever SnapshotMode = "never"
	// SnapshotWhenNeeded is SnapshotInitial that also snapshots again when
	// the stored position was purged from the source.
	SnapshotWhenNeeded SnapshotMode = "when_needed"
)

// Defaults of Config.
const (
	DefaultChunkRows     = 50000
	DefaultBatchRows     = 100000
	DefaultFlushInterval = 100 * time.Millisecond
	DefaultHeartbeat     = time.Second
	DefaultPartitions    = 1
	DefaultServerID      = 1001
	DefaultChunkTime     = time.Second
	DefaultRetryWindow   = 12 * time.Hour
	DefaultKafkaTimeout  = 30 * time.Second
	// DefaultRetryBackoffMin and DefaultRetryBackoffMax bound the wait
	// before capture restarts after a failure that may pass.
	DefaultRetryBackoffMin = time.Second
	DefaultRetryBackoffMax = time.Minute
)

// maxRecordBytes bounds Config.MaxRecordBytes: Kafka's record batch sizes
// are 32-bit, and brokers refuse requests over 100 MB by default.
const maxRecordBytes = 1 << 30

// Config configures a capture. Build it, call Validate (New does), then Run.
type Config struct {
	// Name identifies the capture's checkpoint; it defaults to the prefix.
	Name string
	// Source is the MySQL or MariaDB server to read.
	Source endpoint.Endpoint
	// Kafka is the cluster to write to.
	Kafka topics.Kafka
	// RegistryURL is the Confluent-compatible schema registry.
	RegistryURL string
	// Prefix is the topic prefix (event.DefaultPrefix by default).
	Prefix string
	// Tables selects the tables to capture: a *filter.Filter, or the
	// *task.Objects of a task spec, whose rules (columns, row filter,
	// operations) capture then applies.
	Tables Selection
	// Task, when set, names the task whose object list in Kafka
	// (task.Store, in <prefix>.__task) selects the tables instead of
	// Tables. Tables (a *task.Objects) is stored as its first list when it
	// has none. Capture follows changes of the list while it runs (tables
	// added are snapshotted online, tables removed stop), and stops
	// cleanly when the task is stopped.
	Task string
	// Snapshot is the snapshot mode (SnapshotInitial by default).
	Snapshot SnapshotMode
	// ServerID is the replica server id capture uses; it must differ from
	// every other replica's (DefaultServerID).
	ServerID uint32
	// Partitions is the partition count of new table topics.
	Partitions int32
	// Tombstones writes a null-valued record after each delete (on when
	// NoTombstones is false).
	NoTombstones bool
	// ChunkRows is the number of rows per snapshot query.
	ChunkRows int
	// ChunkTime is how long snapshot reading may hold the binlog stream
	// before it lets it catch up.
	ChunkTime time.Duration
	// BatchRows is the number of events after which a Kafka transaction is
	// committed, even inside a large source transaction.
	BatchRows int
	// FlushInterval is the longest time events wait before their Kafka
	// transaction is committed.
	FlushInterval time.Duration
	// Heartbeat is how often the position advances on an idle source.
	Heartbeat time.Duration
	// OnlineDDL says whether capture follows pt-online-schema-change and
	// gh-ost migrations (OnlineDDLAuto by default): their helper tables
	// are not captured, and their swap is published as an alter_table.
	OnlineDDL OnlineDDLMode
	// SkipDDLAt lists binlog positions (file:pos, as capture names them
	// when it stops) of statements to pass by without following them:
	// statements on captured tables that capture cannot follow. Each
	// skipped statement is logged and its end committed at once.
	SkipDDLAt []string
	// RetryWindow is how long capture keeps restarting after failures that
	// may pass, such as a lost connection (DefaultRetryWindow).
	RetryWindow time.Duration
	// RetryBackoffMin and RetryBackoffMax bound the wait before capture
	// restarts after such a failure: it starts at RetryBackoffMin, doubles
	// per failure up to RetryBackoffMax, and starts over after a commit
	// (DefaultRetryBackoffMin, DefaultRetryBackoffMax).
	RetryBackoffMin time.Duration
	RetryBackoffMax time.Duration
	// Oversized says what to do with a row change larger than a Kafka
	// record may be (OversizedStop by default).
	Oversized OversizedMode
	// MaxRecordBytes is the largest record capture produces, key, value
	// and headers: its producer's batch limit, and the max.message.bytes
	// its table topics are created with, or raised to (topics.MaxBatchBytes
	// by default, and at least that).
	MaxRecordBytes int
	// KafkaTimeout bounds how long a Kafka request, a record's delivery
	// and a transaction's commit may keep failing or waiting before
	// capture counts Kafka as down and restarts (DefaultKafkaTimeout).
	KafkaTimeout time.Duration
	// Health receives whether capture does its job (/readyz); none when
	// nil.
	Health Health
	// Logger receives capture's log; slog.Default() when nil.
	Logger *slog.Logger
	// Metrics receives capture's figures; none when nil.
	Metrics *Metrics
}

func (c *Config) setDefaults() {
	if c.Prefix == "" {
		c.Prefix = event.DefaultPrefix
	}
	if c.Name == "" {
		c.Name = c.Prefix
	}
	if c.Snapshot == "" {
		c.Snapshot = SnapshotInitial
	}
	if c.OnlineDDL == "" {
		c.OnlineDDL = OnlineDDLAuto
	}
	if c.ServerID == 0 {
		c.ServerID = DefaultServerID
	}
	if c.Partitions == 0 {
		c.Partitions = DefaultPartitions
	}
	if c.ChunkRows == 0 {
		c.ChunkRows = DefaultChunkRows
	}
	if c.ChunkTime == 0 {
		c.ChunkTime = DefaultChunkTime
	}
	if c.BatchRows == 0 {
		c.BatchRows = DefaultBatchRows
	}
	if c.FlushInterval == 0 {
		c.FlushInterval = DefaultFlushInterval
	}
	if c.Heartbeat == 0 {
		c.Heartbeat = DefaultHeartbeat
	}
	if c.RetryWindow == 0 {
		c.RetryWindow = DefaultRetryWindow
	}
	if c.RetryBackoffMin == 0 {
		c.RetryBackoffMin = DefaultRetryBackoffMin
	}
	if c.RetryBackoffMax == 0 {
		c.RetryBackoffMax = max(DefaultRetryBackoffMax, c.RetryBackoffMin)
	}
	if c.Oversized == "" {
		c.Oversized = OversizedStop
	}
	if c.MaxRecordBytes == 0 {
		c.MaxRecordBytes = topics.MaxBatchBytes
	}
	if c.KafkaTimeout == 0 {
		c.KafkaTimeout = DefaultKafkaTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Validate fills in defaults and checks the configuration without I/O.
func (c *Config) Validate() error {
	c.setDefaults()
	var errs []error
	if c.Source.Kind != endpoint.MySQL {
		errs = append(errs, fmt.Errorf("source: %s is not a mysql:// URL", c.Source.Redacted()))
	}
	if err := c.Kafka.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.RegistryURL == "" {
		errs = append(errs, errors.New("registry: a schema registry URL is required"))
	}
	if !event.ValidPrefix(c.Prefix) {
		errs = append(errs, fmt.Errorf("topic-prefix: %q must be 1-150 characters of [A-Za-z0-9_-]", c.Prefix))
	}
	if c.Tables == nil {
		errs = append(errs, errors.New("tables: a table selection is required"))
	}
	if _, ok := c.Tables.(*task.Objects); c.Task != "" && !ok {
		errs = append(errs, errors.New("task: a task's capture selects tables with the spec's objects"))
	}
	if c.RetryBackoffMin < time.Millisecond {
		errs = append(errs, fmt.Errorf("retry-backoff-min: %s must be at least 1ms", c.RetryBackoffMin))
	}
	if c.RetryBackoffMax < c.RetryBackoffMin {
		errs = append(errs, fmt.Errorf("retry-backoff-max: %s must not be below --retry-backoff-min %s", c.RetryBackoffMax, c.RetryBackoffMin))
	}
	switch c.Snapshot {
	case SnapshotInitial, SnapshotNever, SnapshotWhenNeeded:
	default:
		errs = append(errs, fmt.Errorf("snapshot: %q is not one of initial, never, when_needed", c.Snapshot))
	}
	switch c.Oversized {
	case OversizedStop, OversizedSkipColumns:
	default:
		errs = append(errs, fmt.Errorf("oversized: %q is not one of stop, skip-columns", c.Oversized))
	}
	if c.MaxRecordBytes < topics.MaxBatchBytes || c.MaxRecordBytes > maxRecordBytes {
		errs = append(errs, fmt.Errorf("max-record-bytes: %d is not between %d (what the topics accept already) and %d", c.MaxRecordBytes, topics.MaxBatchBytes, maxRecordBytes))
	}
	if err := checkOnlineDDL(c.OnlineDDL); err != nil {
		errs = append(errs, err)
	}
	if c.Partitions < 1 {
		errs = append(errs, fmt.Errorf("partitions: %d must be at least 1", c.Partitions))
	}
	for _, at := range c.SkipDDLAt {
		if _, err := parsePosition(at); err != nil {
			errs = append(errs, fmt.Errorf("skip-ddl-at: %w", err))
		}
	}
	if c.KafkaTimeout < time.Second {
		errs = append(errs, fmt.Errorf("kafka-timeout: %s must be at least 1s", c.KafkaTimeout))
	}
	if c.ChunkRows < 1 || c.BatchRows < 1 {
		errs = append(errs, errors.New("chunk-rows and batch-rows must be at least 1"))
	}
	return errors.Join(errs...)
}
