package main

import (
	"github.com/urfave/cli/v2"
	"github.com/urfave/cli/v2/altsrc"

	"github.com/syncline/syncline/capture"
	"github.com/syncline/syncline/filter"
	"github.com/syncline/syncline/task"
	"github.com/syncline/syncline/topics"
)

// Flags of syncline capture (beside the Kafka flags).
const (
	flagSnapshot      = "snapshot"
	flagPartitions    = "partitions"
	flagTombstones    = "tombstones"
	flagChunkRows     = "chunk-rows"
	flagBatchRows     = "batch-rows"
	flagFlushInterval = "flush-interval"
	flagHeartbeat     = "heartbeat"
	flagSkipDDLAt     = "skip-ddl-at"
	flagRetryWindow   = "retry-window"
	flagOversized     = "oversized"
	flagMaxRecord     = "max-record-bytes"
	flagOnlineDDL     = "online-ddl"
	flagKafkaTimeout  = "kafka-timeout"
)

func captureCommand() *cli.Command {
	flags := []cli.Flag{
		altsrc.NewStringFlag(&cli.StringFlag{Name: flagSource, Usage: "the MySQL or MariaDB source, mysql://user[:password]@host:port/ (required)"}),
		altsrc.NewStringFlag(&cli.StringFlag{Name: flagSourcePasswordFile, Usage: "read the source's password from `FILE`"}),
		altsrc.NewStringFlag(&cli.StringFlag{Name: flagTables, Usage: "tables to capture, comma-separated `db.table` patterns with * and ? (required)"}),
		altsrc.NewStringFlag(&cli.StringFlag{Name: flagExcludeTables, Usage: "tables to leave out, `db.table` patterns"}),
		altsrc.NewStringFlag(&cli.StringFlag{Name: flagSnapshot, Value: string(capture.SnapshotInitial), Usage: "initial (snapshot tables without a position), never, or when_needed (also when the position was purged)"}),
		altsrc.NewIntFlag(&cli.IntFlag{Name: flagServerID, Value: capture.DefaultServerID, Usage: "replica server id of the capture, unique among the source's replicas"}),
		altsrc.NewIntFlag(&cli.IntFlag{Name: flagPartitions, Value: capture.DefaultPartitions, Usage: "partitions of each new table topic"}),
		altsrc.NewBoolFlag(&cli.BoolFlag{Name: flagTombstones, Value: true, Usage: "write a tombstone after each delete, so compacted topics forget deleted rows"}),
		altsrc.NewIntFlag(&cli.IntFlag{Name: flagChunkRows, Value: capture.DefaultChunkRows, Usage: "rows per snapshot query"}),
		altsrc.NewIntFlag(&cli.IntFlag{Name: flagBatchRows, Value: capture.DefaultBatchRows, Usage: "events per Kafka transaction at most (large source transactions are split)"}),
		altsrc.NewDurationFlag(&cli.DurationFlag{Name: flagFlushInterval, Value: capture.DefaultFlushInterval, Usage: "longest wait before events are committed to Kafka"}),
		altsrc.NewDurationFlag(&cli.DurationFlag{Name: flagHeartbeat, Value: capture.DefaultHeartbeat, Usage: "how often the position advances on an idle source"}),
		altsrc.NewDurationFlag(&cli.DurationFlag{Name: flagRetryWindow, Value: capture.DefaultRetryWindow, Usage: "how long to keep restarting from the last checkpoint after failures that may pass (lost connections)"}),
		altsrc.NewDurationFlag(&cli.DurationFlag{Name: flagApplyBackoffMin, Value: capture.DefaultRetryBackoffMin, Usage: "first wait before restarting after a failure that may pass; it doubles per failure and starts over after a commit"}),
		altsrc.NewDurationFlag(&cli.DurationFlag{Name: flagApplyBackoffMax, Value: capture.DefaultRetryBackoffMax, Usage: "longest wait before restarting after a failure"}),
		altsrc.NewStringFlag(&cli.StringFlag{Name: flagOversized, Value: string(capture.OversizedStop), Usage: "a row larger than a Kafka record may be: stop (with an error naming the table, key and size) or skip-columns (publish it without its largest columns, logged and counted; docs/events.md)"}),
		altsrc.NewIntFlag(&cli.IntFlag{Name: flagMaxRecord, Value: topics.MaxBatchBytes, Usage: "the largest Kafka record capture produces, in bytes; capture raises its topics' max.message.bytes to it"}),
		altsrc.NewStringSliceFlag(&cli.StringSliceFlag{Name: flagSkipDDLAt, Usage: "pass by the statements at binlog positions `FILE:POS[,FILE:POS...]` that capture stopped at and cannot follow (it names the position when it stops); each is logged and committed past, so the flag can stay set (repeatable)"}),
		altsrc.NewStringFlag(&cli.StringFlag{Name: flagOnlineDDL, Value: string(capture.OnlineDDLAuto), Usage: "auto: follow pt-online-schema-change and gh-ost migrations (their _t_new/_t_gho helper tables are not captured, the swap is one alter_table of t), or off"}),
		altsrc.NewDurationFlag(&cli.DurationFlag{Name: flagKafkaTimeout, Value: capture.DefaultKafkaTimeout, Usage: "how long Kafka may fail or keep a transaction waiting before capture counts it as down and restarts"}),
	}
	return newCommand(&cli.Command{
		Name:  "capture",
		Usage: "capture the selected tables' snapshot and binlog changes into Kafka",
		UsageText: "syncline capture --source mysql://user@host:3306/ --tables 'shop.*' --brokers host:9092 --registry http://host:8081\n" +
			"syncline capture --config task.yaml",
		Description: "Reads a consistent snapshot of the selected tables, then streams their binlog changes, publishing Avro\n" +
			"change events to one topic per table (docs/events.md). Every Kafka transaction holds the checkpoint of its\n" +
			"events, so a restart continues exactly where the last one stopped. SIGTERM stops it cleanly.",
		Flags:  append(flags, kafkaFlags()...),
		Action: runCapture,
	})
}

func runCapture(c *cli.Context) error {
	log, err := newLogger(c, c.App.ErrWriter)
	if err != nil {
		return err
	}
	cfg, err := captureConfig(c)
	if err != nil {
		return err
	}
	obs := newObserver()
	cfg.Logger = log
	cfg.Metrics = capture.NewMetrics(obs.reg)
	cfg.Health = obs.part("capture")
	if err := obs.serve(c.Context, c.String(flagMetricsAddr), log); err != nil {
		return usagef(c, "--%s: %v", flagMetricsAddr, err)
	}
	cp, err := capture.New(cfg)
	if err != nil {
		return usagef(c, "%v", err)
	}
	obs.ready.Store(true)
	return cp.Run(c.Context)
}

// captureConfig turns the flags into a capture.Config. Every error is a
// usage error.
func captureConfig(c *cli.Context) (capture.Config, error) {
	var cfg capture.Config
	spec, err := taskSpec(c)
	if err != nil {
		return cfg, err
	}
	required := []string{flagSource, flagTables, flagBrokers, flagRegistry}
	if spec != nil {
		required = []string{flagSource, flagBrokers, flagRegistry}
	}
	if err := requireFlags(c, required...); err != nil {
		return cfg, err
	}
	src, err := endpointFlag(c, flagSource, c.String(flagSource), c.String(flagSourcePasswordFile))
	if err != nil {
		return cfg, err
	}
	var tables capture.Selection
	switch {
	case c.String(flagTables) != "" || spec == nil:
		if tables, err = filter.Parse(c.String(flagTables), c.String(flagExcludeTables)); err != nil {
			return cfg, usagef(c, "--%s/--%s: %v", flagTables, flagExcludeTables, err)
		}
		if spec != nil {
			return cfg, usagef(c, "--%s: a task's tables are its spec's objects; change them with syncline task add-tables or remove-tables", flagTables)
		}
	default:
		if tables, err = task.CompileObjects(spec.Objects); err != nil {
			return cfg, usagef(c, "task spec %s: %v", c.String(flagConfig), err)
		}
	}
	k, err := kafkaConfig(c)
	if err != nil {
		return cfg, err
	}
	id := c.Int(flagServerID)
	if id < 1 || id > 1<<32-1 {
		return cfg, usagef(c, "--%s %d: use a number from 1 to 4294967295", flagServerID, id)
	}
	cfg = capture.Config{
		Source: src, Kafka: k, RegistryURL: c.String(flagRegistry), Prefix: c.String(flagTopicPrefix),
		Tables: tables, Snapshot: capture.SnapshotMode(c.String(flagSnapshot)), ServerID: uint32(id),
		Partitions: int32(c.Int(flagPartitions)), NoTombstones: !c.Bool(flagTombstones),
		ChunkRows: c.Int(flagChunkRows), BatchRows: c.Int(flagBatchRows),
		FlushInterval: c.Duration(flagFlushInterval), Heartbeat: c.Duration(flagHeartbeat),
		SkipDDLAt: splitList(c.StringSlice(flagSkipDDLAt)), RetryWindow: c.Duration(flagRetryWindow),
		RetryBackoffMin: c.Duration(flagApplyBackoffMin), RetryBackoffMax: c.Duration(flagApplyBackoffMax),
		Oversized: capture.OversizedMode(c.String(flagOversized)), MaxRecordBytes: c.Int(flagMaxRecord),
		OnlineDDL:    capture.OnlineDDLMode(c.String(flagOnlineDDL)),
		KafkaTimeout: c.Duration(flagKafkaTimeout),
	}
	if spec != nil {
		cfg.Name, cfg.Task = spec.Name, spec.Name
	}
	if err := cfg.Validate(); err != nil {
		return cfg, usagef(c, "%v", err)
	}
	return cfg, nil
}
