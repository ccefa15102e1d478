package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/urfave/cli/v2"
	"github.com/urfave/cli/v2/altsrc"

	"github.com/syncline/syncline/apply"
	"github.com/syncline/syncline/capture"
	"github.com/syncline/syncline/embedded"
	"github.com/syncline/syncline/endpoint"
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
	for _, name := range []string{flagBrokers, flagRegistry} {
		if c.IsSet(name) {
			return usagef(c, "--%s: dev runs its own Kafka and registry; to use yours, run syncline capture and apply", name)
		}
	}
	dir := c.String(flagDataDir)
	if dir == "" {
		if dir, err = stateDir("dev"); err != nil {
			return usagef(c, "--%s: %v", flagDataDir, err)
		}
	}
	svcCfg := embedded.Config{Dir: dir, KafkaPort: c.Int(flagKafkaPort), RegistryPort: c.Int(flagRegistryPort), Logger: log}
	if err := svcCfg.Validate(); err != nil {
		return usagef(c, "%v", err)
	}
	// Check every flag before starting anything: the embedded addresses
	// stand in for --brokers and --registry until the services run.
	if err := c.Set(flagBrokers, "127.0.0.1:"+strconv.Itoa(svcCfg.KafkaPort)); err != nil {
		return err
	}
	if err := c.Set(flagRegistry, "http://127.0.0.1:"+strconv.Itoa(svcCfg.RegistryPort)); err != nil {
		return err
	}
	capCfg, err := captureConfig(c)
	if err != nil {
		return err
	}
	applies, err := devApplies(c, capCfg)
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
	capCfg.Kafka.Brokers, capCfg.RegistryURL = svc.Brokers, svc.RegistryURL
	for i := range applies {
		applies[i].cfg.Kafka, applies[i].cfg.RegistryURL = capCfg.Kafka, capCfg.RegistryURL
	}

	obs := newObserver()
	if err := obs.serve(c.Context, c.String(flagMetricsAddr), log); err != nil {
		return usagef(c, "--%s: %v", flagMetricsAddr, err)
	}
	ctx, cancel := context.WithCancel(c.Context)
	st := status.Config{Kafka: capCfg.Kafka, RegistryURL: capCfg.RegistryURL, Prefix: capCfg.Prefix}
	for _, a := range applies {
		st.Groups = append(st.Groups, a.cfg.Group)
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

// devTopicRefresh is how often dev's applies look for new table topics: on
// one machine, often is cheap.
const devTopicRefresh = time.Second

// devApply is one apply of a pipeline: its target and configuration.
type devApply struct {
	target endpoint.Endpoint
	cfg    apply.Config
}

// devApplies turns --target and apply's flags into one apply per target.
// Every error is a usage error.
func devApplies(c *cli.Context, capCfg capture.Config) ([]devApply, error) {
	targets, err := targetFlags(c)
	if err != nil {
		return nil, err
	}
	var skip []int64
	for _, v := range splitList(c.StringSlice(flagSkipDDL)) {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return nil, usagef(c, "--%s %q: give the version number apply named", flagSkipDDL, v)
		}
		skip = append(skip, n)
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
	var out []devApply
	for i, t := range targets {
		cfg := base
		cfg.Group = groups[i]
		out = append(out, devApply{target: t, cfg: cfg})
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

// runPipeline runs one capture and the applies until ctx ends or one of
// them fails; then it stops the others and returns the first error. A
// target apply cannot write to is a usage error. Each apply's metrics carry
// the label target=<group>.
func runPipeline(ctx context.Context, log *slog.Logger, obs *observer, capCfg capture.Config, applies []devApply) error {
	capCfg.Logger = log
	capCfg.Metrics = capture.NewMetrics(obs.reg)
	capCfg.Health = obs.part("capture")
	cp, err := capture.New(capCfg)
	if err != nil {
		return err
	}
	parts := []pipelinePart{{name: "capture", run: cp.Run}}
	for _, a := range applies {
		sink, err := newSink(a.target, log)
		if err != nil {
			return &usageError{cmd: "dev", problem: oneLine(fmt.Sprintf("--%s: %v", flagTarget, err))}
		}
		defer func() {
			if err := sink.Close(); err != nil {
				log.Warn("close target", "target", a.target.Redacted(), "err", err)
			}
		}()
		cfg := a.cfg
		cfg.Logger = log.With("target", a.target.Redacted())
		cfg.Metrics = apply.NewMetrics(prometheus.WrapRegistererWith(prometheus.Labels{"target": cfg.Group}, obs.reg))
		ap, err := apply.New(cfg, sink)
		if err != nil {
			return err
		}
		parts = append(parts, pipelinePart{name: "apply to " + a.target.Redacted(), run: ap.Run})
	}
	log.Info("syncline dev running", "brokers", capCfg.Kafka.String(), "registry", capCfg.RegistryURL,
		"topic_prefix", capCfg.Prefix, "source", capCfg.Source.Redacted(), "tables", capCfg.Tables.String(),
		"applies", len(applies))
	obs.ready.Store(true)
	return runParts(ctx, parts)
}

// pipelinePart is one component of a pipeline.
type pipelinePart struct {
	name string
	run  func(ctx context.Context) error
}

// runParts runs the parts until ctx ends or one fails, then stops the
// others and returns the first error.
func runParts(ctx context.Context, parts []pipelinePart) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	for _, p := range parts {
		wg.Go(func() {
			err := p.run(ctx)
			if err == nil && ctx.Err() == nil {
				err = errors.New("stopped")
			}
			if err != nil {
				once.Do(func() { first = fmt.Errorf("%s: %w", p.name, err) })
				cancel()
			}
		})
	}
	wg.Wait()
	return first
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
