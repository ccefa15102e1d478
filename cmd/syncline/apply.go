package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/urfave/cli/v2"
	"github.com/urfave/cli/v2/altsrc"

	"github.com/syncline/syncline/apply"
	"github.com/syncline/syncline/endpoint"
	"github.com/syncline/syncline/fault"
	"github.com/syncline/syncline/filter"
	"github.com/syncline/syncline/internal/target"
	"github.com/syncline/syncline/precheck"
)

// Flags of syncline apply (beside the Kafka flags).
const (
	flagGroup          = "group"
	flagInstanceID     = "instance-id"
	flagParallelism    = "parallelism"
	flagOnError        = "on-error"
	flagExistingTables = "existing-tables"
	flagSkipDDL        = "skip-ddl"
	// The bounds of apply's retry backoff (capture has flags of its own).
	flagApplyBackoffMin = "retry-backoff-min"
	flagApplyBackoffMax = "retry-backoff-max"
)

// noInstanceID, given as --instance-id, makes apply a dynamic group member.
const noInstanceID = "-"

// targetCheckTimeout bounds each connection and query of apply's start
// check of its target.
const targetCheckTimeout = 10 * time.Second

// readyEvery is how often /readyz follows apply's health.
const readyEvery = 500 * time.Millisecond

func applyCommand() *cli.Command {
	flags := []cli.Flag{
		altsrc.NewStringFlag(&cli.StringFlag{Name: flagTarget, Usage: "the target: mysql://, postgres:// or clickhouse:// (required)"}),
		altsrc.NewStringFlag(&cli.StringFlag{Name: flagTargetPasswordFile, Usage: "read the target's password from `FILE`"}),
		altsrc.NewStringFlag(&cli.StringFlag{Name: flagTargetName, Usage: "with a task spec (--config), the `NAME` of the target to apply to (default: the only one)"}),
		altsrc.NewStringFlag(&cli.StringFlag{Name: flagGroup, Usage: "Kafka consumer group of this target; apply processes of one target share it (required)"}),
		altsrc.NewStringFlag(&cli.StringFlag{Name: flagInstanceID, Usage: "static group membership `ID`, so a restarted process gets its partitions back at once (default: <group>@<host name>; two processes of one group on one host need their own; - for none)"}),
		altsrc.NewStringFlag(&cli.StringFlag{Name: flagTables, Usage: "apply only these tables, `db.table` patterns (default: every table of the prefix)"}),
		altsrc.NewStringFlag(&cli.StringFlag{Name: flagExcludeTables, Usage: "tables to leave out, `db.table` patterns"}),
		altsrc.NewIntFlag(&cli.IntFlag{Name: flagBatchRows, Value: apply.DefaultBatchRows, Usage: "rows per target transaction at most"}),
		altsrc.NewDurationFlag(&cli.DurationFlag{Name: flagFlushInterval, Value: apply.DefaultFlushInterval, Usage: "longest wait before buffered rows are written"}),
		altsrc.NewIntFlag(&cli.IntFlag{Name: flagParallelism, Value: apply.DefaultParallelism, Usage: "tables written at the same time"}),
		altsrc.NewDurationFlag(&cli.DurationFlag{Name: flagRetryWindow, Value: apply.DefaultRetryWindow, Usage: "how long to retry Kafka, the registry or the target while down before stopping"}),
		altsrc.NewDurationFlag(&cli.DurationFlag{Name: flagApplyBackoffMin, Value: apply.DefaultRetryBackoffMin, Usage: "first wait before trying a failing dependency again; it doubles per failure"}),
		altsrc.NewDurationFlag(&cli.DurationFlag{Name: flagApplyBackoffMax, Value: apply.DefaultRetryBackoffMax, Usage: "longest wait between two tries: apply notices a dependency's return within it"}),
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
			"processes with the same --group share the partitions. SIGTERM stops it after the batch in flight.\n" +
			"Kafka, registry and target outages are retried for --retry-window; a fault that needs a person (refused\n" +
			"credentials or privileges, a missing database, a record that cannot be applied under --on-error stop)\n" +
			"exits with status 3.",
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
	cfg.CheckTarget = func(ctx context.Context, dbs []string) error { return checkTarget(ctx, target, dbs) }
	a, err := apply.New(cfg, sink)
	if err != nil {
		return usagef(c, "%v", err)
	}
	log.Info("starting apply", "group", cfg.Group, "instance_id", cfg.InstanceID)
	ctx, cancel := context.WithCancel(c.Context)
	defer cancel()
	obs.ready.Store(true)
	go followReady(ctx, a, obs.part("apply"), log)
	return a.Run(ctx)
}

// followReady makes /readyz follow apply's health until ctx ends: not
// ready, with the reason, while apply starts, or cannot reach Kafka, the
// registry or its target.
func followReady(ctx context.Context, a *apply.Apply, part *readiness, log *slog.Logger) {
	t := time.NewTicker(readyEvery)
	defer t.Stop()
	last := ""
	for {
		ok, why := a.Ready()
		if ok {
			part.Ready()
		} else {
			part.NotReady(why)
		}
		if why != last && why != "starting" {
			if ok {
				log.Info("ready")
			} else {
				log.Info("not ready", "reason", why)
			}
		}
		last = why
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// checkTarget checks, when apply starts, that the target takes apply's
// credentials and that its user may create, alter and write the tables of
// dbs (precheck's target checks). A target that is down is retried; refused
// credentials, a missing database or privilege are permanent, with the fix.
func checkTarget(ctx context.Context, target endpoint.Endpoint, dbs []string) error {
	rep, err := precheck.Target(ctx, target, dbs, targetCheckTimeout)
	if err != nil {
		if errors.Is(err, endpoint.ErrAuth) || errors.Is(err, endpoint.ErrUnknownDatabase) {
			return fault.Permanent(fmt.Errorf("target: %w", err))
		}
		return apply.Retryable(fmt.Errorf("target: %w", err))
	}
	for _, r := range rep.Results {
		if r.Status == precheck.Fail {
			return apply.Privilege(fmt.Errorf("target: %s; fix: %s", r.Message, r.Fix))
		}
	}
	return nil
}

// applyConfig turns the flags into an apply.Config and the target. Every
// error is a usage error.
func applyConfig(c *cli.Context) (apply.Config, endpoint.Endpoint, error) {
	var cfg apply.Config
	if err := requireFlags(c, flagTarget, flagGroup, flagBrokers, flagRegistry); err != nil {
		return cfg, endpoint.Endpoint{}, err
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
	skip, err := skipDDLFlag(c)
	if err != nil {
		return cfg, target, err
	}
	cfg = apply.Config{
		Kafka: k, RegistryURL: c.String(flagRegistry), Prefix: c.String(flagTopicPrefix),
		Group: c.String(flagGroup), InstanceID: instanceID(c.String(flagGroup), c.String(flagInstanceID)), Tables: tables,
		BatchRows: c.Int(flagBatchRows), FlushInterval: c.Duration(flagFlushInterval),
		Parallelism: c.Int(flagParallelism), RetryWindow: c.Duration(flagRetryWindow),
		RetryBackoffMin: c.Duration(flagApplyBackoffMin), RetryBackoffMax: c.Duration(flagApplyBackoffMax),
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

// skipDDLFlag parses --skip-ddl. Its error is a usage error.
func skipDDLFlag(c *cli.Context) ([]int64, error) {
	var skip []int64
	for _, v := range splitList(c.StringSlice(flagSkipDDL)) {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, usagef(c, "--%s %q: give the version number apply named", flagSkipDDL, v)
		}
		skip = append(skip, n)
	}
	return skip, nil
}

// newSink returns the sink for a target endpoint, from the target
// registry.
func newSink(ep endpoint.Endpoint, log *slog.Logger) (apply.Sink, error) {
	t, err := target.Open(ep, target.Options{Logger: log})
	if err != nil {
		return nil, fmt.Errorf("apply: %w", err)
	}
	return t.Sink()
}

// instanceID returns the group instance id of --instance-id: the flag's,
// none for "-", or by default the group and the host name.
func instanceID(group, flag string) string {
	switch flag {
	case noInstanceID:
		return ""
	case "":
		host, _ := os.Hostname()
		return apply.DefaultInstanceID(group, host)
	}
	return flag
}
