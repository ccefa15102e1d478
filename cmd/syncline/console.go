package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/urfave/cli/v2"
	"github.com/urfave/cli/v2/altsrc"

	"github.com/syncline/syncline/console"
	"github.com/syncline/syncline/status"
)

// Flags of syncline console (and dev's and demo's --console).
const (
	flagListen       = "listen"
	flagAllowChanges = "allow-changes"
	flagConsole      = "console"
)

// defaultConsoleAddr is where syncline console listens by default.
const defaultConsoleAddr = "127.0.0.1:8080"

// pipelineConsoleInterval is how often the console of dev and demo
// samples: on one machine, often is cheap.
const pipelineConsoleInterval = 2 * time.Second

func consoleCommand() *cli.Command {
	flags := []cli.Flag{
		altsrc.NewStringFlag(&cli.StringFlag{Name: flagListen, Value: defaultConsoleAddr, Usage: "serve the console on `HOST:PORT` (anyone who can reach it sees the task; keep it on 127.0.0.1 or behind an authenticating proxy)"}),
		altsrc.NewBoolFlag(&cli.BoolFlag{Name: flagAllowChanges, Usage: "let the page add and remove tables and stop the task (needs the task spec, --config, and the source for the checks)"}),
		altsrc.NewDurationFlag(&cli.DurationFlag{Name: flagInterval, Value: console.DefaultInterval, Usage: "time between two samples of the task"}),
		altsrc.NewStringSliceFlag(&cli.StringSliceFlag{Name: flagGroup, Usage: "an apply consumer group to show (repeatable; default: every group that committed offsets on the task's topics)"}),
		altsrc.NewStringFlag(&cli.StringFlag{Name: flagSource, Usage: "the source, to check tables added with --allow-changes (from the spec)"}),
		altsrc.NewStringFlag(&cli.StringFlag{Name: flagSourcePasswordFile, Usage: "read the source's password from `FILE`"}),
	}
	for _, f := range kafkaFlags() {
		if f.Names()[0] != flagMetricsAddr {
			flags = append(flags, f)
		}
	}
	return newCommand(&cli.Command{
		Name:      "console",
		Usage:     "serve a web page that shows a task live: stages, snapshot progress, delay, lag and charts",
		UsageText: "syncline console --brokers host:9092 --registry http://host:8081 [--topic-prefix P] [--listen 127.0.0.1:8080] [--config task.yaml --allow-changes]",
		Description: "Reads what syncline status reads, from Kafka alone, every --interval, and serves one page for the task:\n" +
			"each table's stage with snapshot progress, capture's position and delay, each apply group's lag, rate and\n" +
			"dead letters, the running object list, and charts of the last hour's delay and throughput (kept in memory).\n" +
			"Read-only unless --allow-changes: then the page can add and remove tables and stop the task, with the same\n" +
			"checks as syncline task. syncline dev and demo serve the same page (their --console).",
		Flags:  flags,
		Action: runConsole,
	})
}

func runConsole(c *cli.Context) error {
	log, err := newLogger(c, c.App.ErrWriter)
	if err != nil {
		return err
	}
	k, err := kafkaConfig(c)
	if err != nil {
		return err
	}
	spec, err := taskSpec(c)
	if err != nil {
		return err
	}
	cfg := console.Config{
		Status: status.Config{Kafka: k, RegistryURL: c.String(flagRegistry), Prefix: c.String(flagTopicPrefix),
			Groups: splitList(c.StringSlice(flagGroup))},
		Interval: c.Duration(flagInterval), Logger: log,
	}
	if cfg.Interval <= 0 {
		return usagef(c, "--%s %s: use a positive duration such as 5s", flagInterval, cfg.Interval)
	}
	if spec != nil {
		cfg.Task, cfg.Status.Capture = spec.Name, spec.Name
	}
	if c.Bool(flagAllowChanges) {
		if spec == nil {
			return usagef(c, "--%s: give the task spec with --%s (docs/task.md); a task without one has no object list to change", flagAllowChanges, flagConfig)
		}
		ch, err := taskChangerOf(c)
		if err != nil {
			return err
		}
		cfg.Changes = ch
	}
	srv, err := console.New(cfg)
	if err != nil {
		return usagef(c, "%v", err)
	}
	ln, url, err := console.Listen(c.String(flagListen))
	if err != nil {
		return usagef(c, "--%s: %v", flagListen, err)
	}
	warnIfExposed(log, ln)
	mode := "read-only"
	if cfg.Changes != nil {
		mode = "changes allowed"
	}
	fmt.Fprintf(c.App.Writer, "syncline console: task %s at %s (%s); Ctrl-C stops it\n", srv.Task(), url, mode)
	return srv.Serve(c.Context, ln)
}

// warnIfExposed warns when the console listens on more than loopback.
func warnIfExposed(log *slog.Logger, ln net.Listener) {
	if a, ok := ln.Addr().(*net.TCPAddr); ok && !a.IP.IsLoopback() {
		log.Warn("the console listens beyond this machine and has no authentication; anyone who reaches it sees the task", "addr", a.String())
	}
}

// pipelineConsole serves the console of dev's and demo's task on addr
// (nothing when addr is empty) until ctx ends, with the components'
// metrics, and returns its URL and a function that waits for it to stop
// (after ctx ends).
func pipelineConsole(ctx context.Context, addr string, st status.Config, metrics prometheus.Gatherer, log *slog.Logger) (url string, wait func(), err error) {
	if addr == "" {
		return "", func() {}, nil
	}
	srv, err := console.New(console.Config{Status: st, Metrics: metrics, Interval: pipelineConsoleInterval, Logger: log})
	if err != nil {
		return "", nil, err
	}
	ln, url, err := console.Listen(addr)
	if err != nil {
		return "", nil, err
	}
	warnIfExposed(log, ln)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ctx, ln); err != nil {
			log.Error("console stopped", "err", err)
		}
	}()
	return url, func() { <-done }, nil
}
