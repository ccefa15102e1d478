package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/urfave/cli/v2"
	"github.com/urfave/cli/v2/altsrc"

	"github.com/syncline/syncline/apply"
	"github.com/syncline/syncline/capture"
	"github.com/syncline/syncline/embedded"
	"github.com/syncline/syncline/endpoint"
	"github.com/syncline/syncline/internal/pipeline"
	"github.com/syncline/syncline/status"
)

// Flags of syncline dev (beside capture's).
const (
	flagDataDir      = "data-dir"
	flagKafkaPort    = "kafka-port"
	flagRegistryPort = "registry-port"
)

// devFlags are syncline dev's own flags.
func devFlags() []cli.Flag {
	return []cli.Flag{
		altsrc.NewStringFlag(&cli.StringFlag{Name: flagDataDir, Usage: "keep the embedded Kafka's and registry's data in `DIR` (default $XDG_STATE_HOME/syncline/dev, or ~/.local/state/syncline/dev)"}),
		altsrc.NewIntFlag(&cli.IntFlag{Name: flagKafkaPort, Value: embedded.DefaultKafkaPort, Usage: "port of the embedded Kafka broker on 127.0.0.1 (0: any free port)"}),
		altsrc.NewIntFlag(&cli.IntFlag{Name: flagRegistryPort, Value: embedded.DefaultRegistryPort, Usage: "port of the embedded schema registry on 127.0.0.1 (0: any free port)"}),
		altsrc.NewStringSliceFlag(&cli.StringSliceFlag{Name: flagTarget, Usage: "a target to apply to, mysql://, postgres:// or clickhouse:// (repeatable; one apply per target)"}),
		altsrc.NewStringSliceFlag(&cli.StringSliceFlag{Name: flagTargetPasswordFile, Usage: "read the password of the target given at the same position from `FILE` (repeatable)"}),
		altsrc.NewStringFlag(&cli.StringFlag{Name: flagConsole, Value: "127.0.0.1:0", Usage: "serve the task's web console on `HOST:PORT` (port 0: any free port; the URL is printed; off when empty)"}),
	}
}

func devCommand() *cli.Command {
	flags := devFlags()
	// Capture's flags, then apply's that capture lacks (dev's applies take
	// apply's defaults for --batch-rows, --flush-interval and --retry-window,
	// which are capture's here, and apply every table capture captures).
	// Left out: the shared flags (newCommand adds them), the TLS and SASL
	// ones (the embedded broker has neither), apply's single --target, and
	// its group (dev names the groups, see devGroups). --brokers and
	// --registry are hidden: dev sets them itself.
	have := map[string]bool{
		flagConfig: true, flagLogFormat: true, flagLogLevel: true,
		flagKafkaTLS: true, flagKafkaTLSCA: true, flagKafkaTLSInsecure: true,
		flagKafkaSASL: true, flagKafkaSASLUser: true, flagKafkaSASLPassFile: true,
		flagGroup: true, flagInstanceID: true,
	}
	for _, f := range flags {
		have[f.Names()[0]] = true
	}
	for _, f := range append(captureCommand().Flags, applyCommand().Flags...) {
		name := f.Names()[0]
		if have[name] {
			continue
		}
		if name == flagBrokers || name == flagRegistry {
			hide(f)
		}
		have[name] = true
		flags = append(flags, f)
	}
	return newCommand(&cli.Command{
		Name:      "dev",
		Usage:     "run a whole task on this machine: embedded Kafka and schema registry, capture, and an apply per --target",
		UsageText: "syncline dev --source mysql://user@host:3306/ --tables 'shop.*' [--target URL]... [--data-dir DIR]",
		Description: "For one machine only: development, trials, small setups. It runs in one process an embedded Kafka-protocol\n" +
			"broker and an embedded Confluent-compatible schema registry (127.0.0.1 only, one broker, no replication, no\n" +
			"authentication) with their data in --data-dir, a capture of --source configured by the same flags as\n" +
			"syncline capture, and one apply per --target (consumer group <topic-prefix>-apply-<scheme>, then -2, -3... for\n" +
			"further targets of the same scheme, in the order given). Stop it at any moment (SIGINT, SIGTERM) and start it\n" +
			"again with the same --data-dir and targets: it continues where it stopped, without duplicates. Other Kafka\n" +
			"clients (kcat, your consumers) can read the topics at 127.0.0.1:--kafka-port. For production, run capture and\n" +
			"apply against a real Kafka cluster and registry (deploy/).",
		Flags:  flags,
		Action: runDev,
	})
}

// hide hides a flag from the help.
func hide(f cli.Flag) {
	switch f := f.(type) {
	case *altsrc.StringFlag:
		f.Hidden = true
	case *altsrc.StringSliceFlag:
		f.Hidden = true
	}
}

func runDev(c *cli.Context) error {
	log, err := newLogger(c, c.App.ErrWriter)
	if err != nil {
		return err
	}
	svcCfg, pcfg, err := devConfig(c, log)
	if err != nil {
		return err
	}
	svc, err := embedded.Start(svcCfg)
	if err != nil {
		return err
	}
	defer func() {
		if err := svc.Close(); err != nil {
			log.Error("stop embedded kafka and registry", "err", err)
		}
	}()
	k := pcfg.Capture.Kafka
	k.Brokers = svc.Brokers
	pcfg.UseKafka(k, svc.RegistryURL)
	capCfg, applies := pcfg.Capture, pcfg.Applies

	obs := newObserver()
	if err := obs.serve(c.Context, c.String(flagMetricsAddr), log); err != nil {
		return usagef(c, "--%s: %v", flagMetricsAddr, err)
	}
	ctx, cancel := context.WithCancel(c.Context)
	st := status.Config{Kafka: capCfg.Kafka, RegistryURL: capCfg.RegistryURL, Prefix: capCfg.Prefix}
	for _, a := range applies {
		st.Groups = append(st.Groups, a.Config.Group)
	}
	url, wait, err := pipelineConsole(ctx, c.String(flagConsole), st, obs.reg, log)
	if err != nil {
		cancel()
		return usagef(c, "--%s: %v", flagConsole, err)
	}
	defer func() { cancel(); wait() }()
	if url != "" {
		fmt.Fprintf(c.App.Writer, "syncline dev: console at %s\n", url)
		log.Info("console", "url", url)
	}
	return runPipeline(ctx, log, obs, capCfg, applies)
}

// devConfig turns the flags into the embedded services' Config and the
// pipeline's: capture's flags, and one apply per --target. Every flag is
// checked before anything starts: the embedded addresses stand in for
// --brokers and --registry until the services run. Every error is a usage
// error.
func devConfig(c *cli.Context, log *slog.Logger) (embedded.Config, pipeline.Config, error) {
	var pcfg pipeline.Config
	for _, name := range []string{flagBrokers, flagRegistry} {
		if c.IsSet(name) {
			return embedded.Config{}, pcfg, usagef(c, "--%s: dev runs its own Kafka and registry; to use yours, run syncline capture and apply", name)
		}
	}
	dir := c.String(flagDataDir)
	if dir == "" {
		var err error
		if dir, err = stateDir("dev"); err != nil {
			return embedded.Config{}, pcfg, usagef(c, "--%s: %v", flagDataDir, err)
		}
	}
	svcCfg := embedded.Config{Dir: dir, KafkaPort: c.Int(flagKafkaPort), RegistryPort: c.Int(flagRegistryPort), Logger: log}
	if err := svcCfg.Validate(); err != nil {
		return svcCfg, pcfg, usagef(c, "%v", err)
	}
	if err := c.Set(flagBrokers, "127.0.0.1:"+strconv.Itoa(svcCfg.KafkaPort)); err != nil {
		return svcCfg, pcfg, err
	}
	if err := c.Set(flagRegistry, "http://127.0.0.1:"+strconv.Itoa(svcCfg.RegistryPort)); err != nil {
		return svcCfg, pcfg, err
	}
	capCfg, err := captureConfig(c)
	if err != nil {
		return svcCfg, pcfg, err
	}
	applies, err := devApplies(c, capCfg)
	if err != nil {
		return svcCfg, pcfg, err
	}
	return svcCfg, pipeline.Config{Capture: capCfg, Applies: applies}, nil
}

// devTopicRefresh is how often dev's applies look for new table topics: on
// one machine, often is cheap.
const devTopicRefresh = time.Second

// devApplies turns --target and apply's flags into one apply per target.
// Every error is a usage error.
func devApplies(c *cli.Context, capCfg capture.Config) ([]pipeline.Apply, error) {
	targets, err := targetFlags(c)
	if err != nil {
		return nil, err
	}
	skip, err := skipDDLFlag(c)
	if err != nil {
		return nil, err
	}
	// The settings are checked even without a target.
	base := apply.Config{
		Kafka: capCfg.Kafka, RegistryURL: capCfg.RegistryURL, Prefix: capCfg.Prefix, Group: capCfg.Prefix + "-apply",
		Parallelism: c.Int(flagParallelism), OnError: apply.OnError(c.String(flagOnError)),
		ExistingTables: apply.ExistingTables(c.String(flagExistingTables)), SkipDDL: skip,
		TopicRefresh: devTopicRefresh,
	}
	if err := base.Validate(); err != nil {
		return nil, usagef(c, "%v", err)
	}
	groups := devGroups(capCfg.Prefix, targets)
	var out []pipeline.Apply
	for i, t := range targets {
		cfg := base
		cfg.Group = groups[i]
		out = append(out, pipeline.Apply{Target: t, Config: cfg})
	}
	return out, nil
}

// devGroups names the consumer group of each target:
// <prefix>-apply-<scheme>, with -2, -3... for the second and further
// targets of one scheme.
func devGroups(prefix string, targets []endpoint.Endpoint) []string {
	seen := map[endpoint.Kind]int{}
	var out []string
	for _, t := range targets {
		seen[t.Kind]++
		g := prefix + "-apply-" + string(t.Kind)
		if n := seen[t.Kind]; n > 1 {
			g += "-" + strconv.Itoa(n)
		}
		out = append(out, g)
	}
	return out
}

// targetFlags parses --target and --target-password-file.
func targetFlags(c *cli.Context) ([]endpoint.Endpoint, error) {
	targets := c.StringSlice(flagTarget)
	files := c.StringSlice(flagTargetPasswordFile)
	if len(files) > len(targets) {
		return nil, usagef(c, "%d --%s for %d --%s: give one per target, in the same order", len(files), flagTargetPasswordFile, len(targets), flagTarget)
	}
	var out []endpoint.Endpoint
	for i, raw := range targets {
		file := ""
		if i < len(files) {
			file = files[i]
		}
		t, err := endpointFlag(c, flagTarget, raw, file)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// runPipeline runs the pipeline (package pipeline) with the observer's
// metrics and readiness. A target apply cannot write to is a usage error.
func runPipeline(ctx context.Context, log *slog.Logger, obs *observer, capCfg capture.Config, applies []pipeline.Apply) error {
	capCfg.Health = obs.part("capture")
	err := pipeline.Run(ctx, pipeline.Config{
		Capture: capCfg, Applies: applies, NewSink: newSink, Logger: log, Registerer: obs.reg,
		Running: func() { obs.ready.Store(true) },
	})
	if te, ok := errors.AsType[*pipeline.TargetError](err); ok {
		return &usageError{cmd: "dev", problem: oneLine(fmt.Sprintf("--%s: %v", flagTarget, te.Err))}
	}
	return err
}

// stateDir returns the directory for persistent state named sub:
// $XDG_STATE_HOME/syncline/sub, or ~/.local/state/syncline/sub.
func stateDir(sub string) (string, error) {
	base := os.Getenv("XDG_STATE_HOME")
	if base == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("no $XDG_STATE_HOME and no home directory: %w", err)
		}
		base = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(base, "syncline", sub), nil
}
