// Package apply consumes the change events capture publishes to Kafka
// (docs/events.md) and keeps one target database equal to the source: a
// Kafka consumer group that batches changes per table, writes each batch in
// one target transaction through a Sink (internal/target/mysql, postgres,
// clickhouse, opened by the registry internal/target), and commits the Kafka offsets of a batch only after its
// target transaction committed.
//
// Replays are harmless: every row carries the ordering version of the change
// that wrote it, and a change older than the row it would overwrite loses.
// Schema changes follow the rows: a batch's rows are written with their own
// writer schema, after the target table was evolved to the newest shape
// known (added, changed and dropped columns), and the schema-change topic
// supplies what a row shape cannot show (renamed columns and tables,
// truncates, drops).
package apply

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/syncline/syncline/filter"
	"github.com/syncline/syncline/internal/event"
	"github.com/syncline/syncline/task"
	"github.com/syncline/syncline/topics"
)

// OnError says what happens to a record that cannot be applied (it cannot
// be decoded, or the target refuses it for a reason retrying cannot fix).
type OnError string

// The error policies.
const (
	// OnErrorStop stops apply with an error naming the record's topic,
	// partition and offset; nothing after it is committed.
	OnErrorStop OnError = "stop"
	// OnErrorDeadLetter writes the record to the dead-letter topic
	// <prefix>.__dlq.<group>, with the reason in its headers, and goes on.
	OnErrorDeadLetter OnError = "dead-letter"
)

// Defaults of Config.
const (
	DefaultBatchRows     = 10000
	DefaultFlushInterval = 500 * time.Millisecond
	DefaultRetryWindow   = 12 * time.Hour
	// DefaultRetryBackoffMin and DefaultRetryBackoffMax bound the wait
	// between two tries of a failing dependency: it doubles from the first
	// to the second, so apply notices a dependency's return within
	// DefaultRetryBackoffMax.
	DefaultRetryBackoffMin = 100 * time.Millisecond
	DefaultRetryBackoffMax = 5 * time.Second
	DefaultParallelism     = 4
	DefaultTopicRefresh    = 5 * time.Second
	// DefaultBufferBytes bounds the bytes of records in one buffer.
	DefaultBufferBytes = 64 << 20
)

// Config configures an Apply. New validates it.
type Config struct {
	// Kafka is the cluster to read from.
	Kafka topics.Kafka
	// RegistryURL is the Confluent-compatible schema registry.
	RegistryURL string
	// Prefix is the topic prefix capture writes to (event.DefaultPrefix).
	Prefix string
	// Group is the Kafka consumer group; required. Instances with the same
	// group share the partitions. The group <Group>.__ddl holds the
	// position in the schema-change topic up to which schema changes are
	// applied.
	Group string
	// InstanceID, when set, makes this instance a static member of the
	// group (Kafka's group.instance.id): restarted with the same
	// InstanceID, it takes its partitions back at once instead of after the
	// old session times out. Each running instance needs its own; a stable
	// host or pod name fits (DefaultInstanceID). Default none: a dynamic
	// member.
	InstanceID string
	// Tables selects the tables to apply; nil applies every table of the
	// prefix. Records of other tables are skipped (and committed).
	Tables *filter.Filter
	// Mapping gives the target its own names for databases, tables and
	// columns, and its own row filters and dropped columns (a task spec's
	// targets[i].databases); nil keeps the source's.
	Mapping *task.Mapping
	// Task, when set, names the task whose control requests apply follows:
	// after syncline task stop, apply drains what capture published, commits
	// and returns.
	Task string
	// BatchRows flushes the buffered changes when one table holds this many
	// (DefaultBatchRows).
	BatchRows int
	// FlushInterval flushes buffered changes at the latest this long after
	// the first of them arrived (DefaultFlushInterval). Lower means less
	// delay, higher means larger batches.
	FlushInterval time.Duration
	// BufferBytes flushes when the buffered records reach this many bytes
	// (DefaultBufferBytes). Apply holds at most two buffers, the one being
	// written and the one being filled, so with the Kafka fetch limits
	// about twice this bounds memory.
	BufferBytes int
	// Parallelism is the number of tables written at once
	// (DefaultParallelism).
	Parallelism int
	// RetryWindow is how long a target that is down or refuses connections
	// is retried, with exponential backoff, before apply stops
	// (DefaultRetryWindow).
	RetryWindow time.Duration
	// RetryBackoffMin and RetryBackoffMax bound the wait between two tries
	// of a failing dependency (Kafka, the registry, the target): it starts
	// at RetryBackoffMin and doubles up to RetryBackoffMax
	// (DefaultRetryBackoffMin, DefaultRetryBackoffMax).
	RetryBackoffMin time.Duration
	RetryBackoffMax time.Duration
	// OnError is the policy for records that cannot be applied
	// (OnErrorStop).
	OnError OnError
	// ExistingTables is the policy for target tables that exist but were
	// not created by apply (ExistingFail).
	ExistingTables ExistingTables
	// SkipDDL holds the versions (source.version) of schema-change events
	// to skip, for statements the target cannot express; the error that
	// stops apply names the version.
	SkipDDL []int64
	// TopicRefresh is how often new topics of the prefix are looked for
	// (DefaultTopicRefresh).
	TopicRefresh time.Duration
	// CheckTarget, when set, is called when Run starts, before anything is
	// read, with the target databases of the table topics that exist then
	// (after Mapping; none when Kafka cannot list them): it checks that the
	// target accepts apply's credentials and that its user holds the
	// privileges apply needs. Its retryable errors (the target is down) are
	// retried for the retry window; any other stops Run at once.
	CheckTarget func(ctx context.Context, databases []string) error
	// Logger receives apply's log; slog.Default() when nil.
	Logger *slog.Logger
	// Metrics receives apply's figures; none when nil.
	Metrics *Metrics
}

func (c *Config) setDefaults() {
	if c.Prefix == "" {
		c.Prefix = event.DefaultPrefix
	}
	if c.BatchRows == 0 {
		c.BatchRows = DefaultBatchRows
	}
	if c.FlushInterval == 0 {
		c.FlushInterval = DefaultFlushInterval
	}
	if c.BufferBytes == 0 {
		c.BufferBytes = DefaultBufferBytes
	}
	if c.Parallelism == 0 {
		c.Parallelism = DefaultParallelism
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
	if c.OnError == "" {
		c.OnError = OnErrorStop
	}
	if c.ExistingTables == "" {
		c.ExistingTables = ExistingFail
	}
	if c.TopicRefresh == 0 {
		c.TopicRefresh = DefaultTopicRefresh
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Validate fills in defaults and checks the configuration without I/O.
// Errors name the flag.
func (c *Config) Validate() error {
	c.setDefaults()
	var errs []error
	if err := c.Kafka.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.RegistryURL == "" {
		errs = append(errs, errors.New("registry: a schema registry URL is required"))
	}
	if !event.ValidPrefix(c.Prefix) {
		errs = append(errs, fmt.Errorf("topic-prefix: %q must be 1-150 characters of [A-Za-z0-9_-]", c.Prefix))
	}
	if c.Group == "" {
		errs = append(errs, errors.New("group: a consumer group name is required"))
	}
	if c.BatchRows < 1 {
		errs = append(errs, fmt.Errorf("batch-rows: %d must be at least 1", c.BatchRows))
	}
	if c.FlushInterval < time.Millisecond {
		errs = append(errs, fmt.Errorf("flush-interval: %s must be at least 1ms", c.FlushInterval))
	}
	if c.BufferBytes < 1<<20 {
		errs = append(errs, fmt.Errorf("buffer-bytes: %d must be at least 1 MiB", c.BufferBytes))
	}
	if c.Parallelism < 1 {
		errs = append(errs, fmt.Errorf("parallelism: %d must be at least 1", c.Parallelism))
	}
	if c.RetryWindow < 0 {
		errs = append(errs, fmt.Errorf("retry-window: %s must not be negative", c.RetryWindow))
	}
	if c.RetryBackoffMin < time.Millisecond {
		errs = append(errs, fmt.Errorf("retry-backoff-min: %s must be at least 1ms", c.RetryBackoffMin))
	}
	if c.RetryBackoffMax < c.RetryBackoffMin {
		errs = append(errs, fmt.Errorf("retry-backoff-max: %s must not be below --retry-backoff-min %s", c.RetryBackoffMax, c.RetryBackoffMin))
	}
	switch c.OnError {
	case OnErrorStop, OnErrorDeadLetter:
	default:
		errs = append(errs, fmt.Errorf("on-error: %q is not one of stop, dead-letter", c.OnError))
	}
	switch c.ExistingTables {
	case ExistingFail, ExistingWrite:
	default:
		errs = append(errs, fmt.Errorf("existing-tables: %q is not one of fail, write", c.ExistingTables))
	}
	return errors.Join(errs...)
}

// names returns the topic names of the prefix.
func (c *Config) names() event.Names { return event.Names{Prefix: c.Prefix} }

// deadLetterTopic returns <prefix>.__dlq.<group>.
func (c *Config) deadLetterTopic() string { return event.Names{Prefix: c.Prefix}.DeadLetters(c.Group) }

// ddlGroup returns the group holding the applied schema-change position.
func (c *Config) ddlGroup() string { return c.Group + ".__ddl" }

// DefaultInstanceID returns the static group membership id syncline apply
// uses when none is given: the group and the host name, so that a process
// restarted on the same host (or pod) takes its partitions back at once.
// Two members of one group on one host need ids of their own.
func DefaultInstanceID(group, host string) string {
	if host == "" {
		return ""
	}
	return group + "@" + host
}
