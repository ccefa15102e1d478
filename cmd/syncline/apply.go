package main

import (
	"fmt"
	"log/slog"
	"strconv"

	"github.com/urfave/cli/v2"
	"github.com/urfave/cli/v2/altsrc"

	"github.com/syncline/syncline/apply"
	"github.com/syncline/syncline/apply/clickhouse"
	"github.com/syncline/syncline/apply/mysql"
	"github.com/syncline/syncline/apply/postgres"
	"github.com/syncline/syncline/endpoint"
	"github.com/syncline/syncline/filter"
)

// Flags of syncline apply (beside the Kafka flags).
const (
	flagGroup          = "group"
	flagInstanceID     = "instance-id"
	flagParallelism    = "parallelism"
	flagOnError        = "on-error"
	flagExistingTables = "existing-tables"
	flagSkipDDL        = "skip-ddl"
)

func applyCommand() *cli.Command {
	flags := []cli.Flag{
		altsrc.NewStringFlag(&cli.StringFlag{Name: flagTarget, Usage: "the target: mysql://, postgres:// or clickhouse:// (required)"}),
		altsrc.NewStringFlag(&cli.StringFlag{Name: flagTargetPasswordFile, Usage: "read the target's password from `FILE`"}),
		altsrc.NewStringFlag(&cli.StringFlag{Name: flagTargetName, Usage: "with a task spec (--config), the `NAME` of the target to apply to (default: the only one)"}),
		altsrc.NewStringFlag(&cli.StringFlag{Name: flagGroup, Usage: "Kafka consumer group of this target; apply processes of one target share it (required)"}),
		altsrc.NewStringFlag(&cli.StringFlag{Name: flagInstanceID, Usage: "static group membership id, so a restarted process gets its partitions back at once"}),
		altsrc.NewStringFlag(&cli.StringFlag{Name: flagTables, Usage: "apply only these tables, `db.table` patterns (default: every table of the prefix)"}),
		altsrc.NewStringFlag(&cli.StringFlag{Name: flagExcludeTables, Usage: "tables to leave out, `db.table` patterns"}),
		altsrc.NewIntFlag(&cli.IntFlag{Name: flagBatchRows, Value: apply.DefaultBatchRows, Usage: "rows per target transaction at most"}),
		altsrc.NewDurationFlag(&cli.DurationFlag{Name: flagFlushInterval, Value: apply.DefaultFlushInterval, Usage: "longest wait before buffered rows are written"}),
		altsrc.NewIntFlag(&cli.IntFlag{Name: flagParallelism, Value: apply.DefaultParallelism, Usage: "tables written at the same time"}),
		altsrc.NewDurationFlag(&cli.DurationFlag{Name: flagRetryWindow, Value: apply.DefaultRetryWindow, Usage: "how long to retry a target that is down before stopping"}),
		altsrc.NewStringFlag(&cli.StringFlag{Name: flagOnError, Value: string(apply.OnErrorStop), Usage: "a record that cannot be applied: stop, or dead-letter (to <prefix>.__dlq.<group>)"}),
		altsrc.NewStringFlag(&cli.StringFlag{Name: flagExistingTables, Value: string(apply.ExistingFail), Usage: "a target table that exists but was not created by apply: fail, or write into it"}),
		altsrc.NewStringSliceFlag(&cli.StringSliceFlag{Name: flagSkipDDL, Usage: "skip the schema change of `VERSION` that the target cannot express (apply names it when it stops; repeatable)"}),
	}
	return newCommand(&cli.Command{
		Name:      "apply",
		Usage:     "apply the change events of a topic prefix to one target",
		UsageText: "syncline apply --target postgres://user@host:5432/db --group pg --brokers host:9092 --registry http://host:8081",
		Description: "A Kafka consumer group that keeps one target equal to the source: it creates and evolves the target tables,\n" +
			"writes changes in batches, one target transaction each, and commits offsets only after the write. Several\n" +
			"processes with the same --group share the partitions. SIGTERM stops it after the batch in flight.",
		Flags:  append(flags, kafkaFlags()...),
		Action: runApply,
	})
}

func runApply(c *cli.Context) error {
	log, err := newLogger(c, c.App.ErrWriter)
	if err != nil {
		return err
	}
	cfg, target, err := applyConfig(c)
	if err != nil {
		return err
	}
	sink, err := newSink(target, log)
	if err != nil {
		return usagef(c, "--%s: %v", flagTarget, err)
	}
	defer sink.Close()
	obs := newObserver()
	cfg.Logger = log
	cfg.Metrics = apply.NewMetrics(obs.reg)
	if err := obs.serve(c.Context, c.String(flagMetricsAddr), log); err != nil {
		return usagef(c, "--%s: %v", flagMetricsAddr, err)
	}
	a, err := apply.New(cfg, sink)
	if err != nil {
		return usagef(c, "%v", err)
	}
	obs.ready.Store(true)
	return a.Run(c.Context)
}

// applyConfig turns the flags into an apply.Config and the target. Every
// error is a usage error.
func applyConfig(c *cli.Context) (apply.Config, endpoint.Endpoint, error) {
	var cfg apply.Config
	for _, name := range []string{flagTarget, flagGroup} {
		if c.String(name) == "" {
			return cfg, endpoint.Endpoint{}, usagef(c, "missing required flag --%s", name)
		}
	}
	target, err := endpointFlag(c, flagTarget, c.String(flagTarget), c.String(flagTargetPasswordFile))
	if err != nil {
		return cfg, target, err
	}
	var tables *filter.Filter
	if c.String(flagTables) != "" {
		if tables, err = filter.Parse(c.String(flagTables), c.String(flagExcludeTables)); err != nil {
			return cfg, target, usagef(c, "--%s/--%s: %v", flagTables, flagExcludeTables, err)
		}
	}
	k, err := kafkaConfig(c)
	if err != nil {
		return cfg, target, err
	}
	var skip []int64
	for _, v := range splitList(c.StringSlice(flagSkipDDL)) {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return cfg, target, usagef(c, "--%s %q: give the version number apply named", flagSkipDDL, v)
		}
		skip = append(skip, n)
	}
	cfg = apply.Config{
		Kafka: k, RegistryURL: c.String(flagRegistry), Prefix: c.String(flagTopicPrefix),
		Group: c.String(flagGroup), InstanceID: c.String(flagInstanceID), Tables: tables,
		BatchRows: c.Int(flagBatchRows), FlushInterval: c.Duration(flagFlushInterval),
		Parallelism: c.Int(flagParallelism), RetryWindow: c.Duration(flagRetryWindow),
		OnError: apply.OnError(c.String(flagOnError)), ExistingTables: apply.ExistingTables(c.String(flagExistingTables)),
		SkipDDL: skip,
	}
	spec, err := taskSpec(c)
	if err != nil {
		return cfg, target, err
	}
	if spec != nil {
		if cfg.Mapping, err = targetMapping(c, spec); err != nil {
			return cfg, target, err
		}
		cfg.Task = spec.Name
	}
	if err := cfg.Validate(); err != nil {
		return cfg, target, usagef(c, "%v", err)
	}
	return cfg, target, nil
}

// newSink returns the sink for a target endpoint, chosen by its kind.
func newSink(target endpoint.Endpoint, log *slog.Logger) (apply.Sink, error) {
	switch target.Kind {
	case endpoint.MySQL:
		return mysql.New(target, mysql.Options{Logger: log})
	case endpoint.Postgres:
		return postgres.New(target, postgres.Options{Logger: log})
	case endpoint.ClickHouse:
		return clickhouse.New(target, clickhouse.Options{Logger: log})
	}
	return nil, fmt.Errorf("apply cannot write to %s targets (%s)", target.Kind, target.Redacted())
}
