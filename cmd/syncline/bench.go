package main

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
	"github.com/urfave/cli/v2/altsrc"

	"github.com/syncline/syncline/bench"
)

// Flags of syncline bench.
const (
	flagBenchQuick      = "quick"
	flagBenchPhase      = "phase"
	flagBenchRepeat     = "repeat"
	flagBenchProfileDir = "profile-dir"
	flagBenchDoc        = "doc"
	flagBenchDir        = "dir"
	flagBenchOnly       = "only"
)

func benchCommand() *cli.Command {
	return newCommand(&cli.Command{
		Name:      "bench",
		Usage:     "measure throughput, delay and memory against baselines, on private servers",
		UsageText: "syncline bench [--quick] [--only capture,snapshot] [--phase 1m] [--repeat 3]",
		Description: "Starts a private MariaDB source and target, PostgreSQL, ClickHouse and an in-process Kafka, and measures\n" +
			"capture, snapshot and apply throughput, each against a baseline run on the same servers just before it\n" +
			"(go-mysql decoding the same binlog, a plain SELECT *, plain batch inserts and COPY), the delay from source\n" +
			"commit to target at two steady write rates, and the peak memory of capture and apply processes during one\n" +
			"large transaction. Prints the table and writes it, with the machine's description, to --doc. Takes a few\n" +
			"minutes; --quick shrinks everything tenfold. Needs mariadb-server, postgresql and clickhouse-server.",
		Flags: []cli.Flag{
			altsrc.NewBoolFlag(&cli.BoolFlag{Name: flagBenchQuick, Usage: "a smoke run: a tenth of the rows and durations, one repeat"}),
			altsrc.NewDurationFlag(&cli.DurationFlag{Name: flagBenchPhase, DefaultText: "1m, 6s with --quick", Usage: "how long each delay phase writes"}),
			altsrc.NewIntFlag(&cli.IntFlag{Name: flagBenchRepeat, DefaultText: "3, 1 with --quick", Usage: "runs of each throughput pair (fewer once a benchmark's pairs took 90s); medians are reported"}),
			altsrc.NewStringFlag(&cli.StringFlag{Name: flagBenchProfileDir, Value: filepath.Join("bench", "out"), Usage: "write CPU profiles of the measured runs to `DIR` (empty: none)"}),
			altsrc.NewStringFlag(&cli.StringFlag{Name: flagBenchDoc, Value: filepath.Join("docs", "benchmarks.md"), DefaultText: "docs/benchmarks.md; none with --quick", Usage: "write the report to `FILE`, keeping its Findings section (empty: print only)"}),
			altsrc.NewStringSliceFlag(&cli.StringSliceFlag{Name: flagBenchOnly, DefaultText: "all", Usage: "run only these benchmarks (" + strings.Join(bench.Benchmarks, ", ") + "); the apply ones run capture too. The report is then not written to --doc unless --doc is given"}),
			altsrc.NewStringFlag(&cli.StringFlag{Name: flagBenchDir, DefaultText: "a temporary directory, removed afterwards", Usage: "run the servers in `DIR`, new or empty"}),
		},
		Action: runBench,
	})
}

func runBench(c *cli.Context) error {
	log, err := newLogger(c, c.App.ErrWriter)
	if err != nil {
		return err
	}
	cfg := bench.Config{}
	if c.Bool(flagBenchQuick) {
		cfg = cfg.Quick()
	}
	if c.IsSet(flagBenchPhase) {
		cfg.Phase = c.Duration(flagBenchPhase)
	}
	if c.IsSet(flagBenchRepeat) {
		cfg.Repeat = c.Int(flagBenchRepeat)
	}
	if c.IsSet(flagBenchPhase) && cfg.Phase < time.Second {
		return usagef(c, "--%s %s: use at least 1s", flagBenchPhase, cfg.Phase)
	}
	if c.IsSet(flagBenchRepeat) && cfg.Repeat < 1 {
		return usagef(c, "--%s %d: use at least 1", flagBenchRepeat, cfg.Repeat)
	}
	for _, o := range c.StringSlice(flagBenchOnly) {
		for _, name := range strings.Split(o, ",") {
			if name = strings.TrimSpace(name); name != "" {
				cfg.Only = append(cfg.Only, name)
			}
		}
	}
	cfg.ProfileDir = c.String(flagBenchProfileDir)
	if cfg.Self, err = os.Executable(); err != nil {
		return fmt.Errorf("find the syncline binary for the memory benchmark: %w", err)
	}
	// Capture's and apply's own logs only matter when something goes
	// wrong, unless --log-level asks for more.
	cfg.Logger = log
	if !c.IsSet(flagLogLevel) {
		cfg.Logger = quietLogger(c)
	}
	cfg.Progress = c.App.ErrWriter
	if err := cfg.Validate(); err != nil {
		return usagef(c, "%v", err)
	}

	dir := c.String(flagBenchDir)
	if dir == "" {
		if dir, err = os.MkdirTemp("", "syncline-bench-"); err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		// PostgreSQL runs as its own user when syncline runs as root.
		if err := os.Chmod(dir, 0o755); err != nil {
			return err
		}
	}
	fmt.Fprintf(c.App.ErrWriter, "syncline bench: starting servers in %s\n", dir)
	srv, err := bench.Launch(c.Context, dir)
	if err != nil {
		return err
	}
	defer srv.Close()
	rep, runErr := bench.Run(c.Context, cfg, srv)
	if rep == nil {
		return runErr
	}
	fmt.Fprint(c.App.Writer, rep.Text())
	if runErr != nil {
		return runErr
	}
	doc := c.String(flagBenchDoc)
	if (c.Bool(flagBenchQuick) || len(cfg.Only) > 0) && !c.IsSet(flagBenchDoc) {
		doc = "" // a smoke run or a partial one does not replace the real figures
	}
	if doc != "" {
		if err := bench.WriteDoc(doc, rep); err != nil {
			return fmt.Errorf("write %s: %w", doc, err)
		}
		fmt.Fprintf(c.App.Writer, "written to %s\n", doc)
	}
	return nil
}

// quietLogger is the logger of --log-format at warning level: capture and
// apply log every table they create and every snapshot they finish.
func quietLogger(c *cli.Context) *slog.Logger {
	opts := &slog.HandlerOptions{Level: slog.LevelWarn}
	if strings.EqualFold(c.String(flagLogFormat), "json") {
		return slog.New(slog.NewJSONHandler(c.App.ErrWriter, opts))
	}
	return slog.New(slog.NewTextHandler(c.App.ErrWriter, opts))
}
