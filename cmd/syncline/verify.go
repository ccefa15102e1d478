package main

import (
	"context"
	"fmt"
	"time"

	"github.com/urfave/cli/v2"
	"github.com/urfave/cli/v2/altsrc"

	"github.com/syncline/syncline/filter"
	"github.com/syncline/syncline/internal/words"
	"github.com/syncline/syncline/schema"
	"github.com/syncline/syncline/task"
	"github.com/syncline/syncline/verify"
)

// Flags of syncline verify (beside --source, --target, --tables and the
// other flags it shares with precheck and capture).
const (
	flagVerifyRateLimit       = "rate-limit"
	flagVerifyRecheckWait     = "recheck-wait"
	flagVerifyRecheckAttempts = "recheck-attempts"
	flagVerifyRepair          = "repair"
	flagVerifyFormat          = "format"
	flagVerifyMaxExamples     = "max-examples"
)

func verifyCommand() *cli.Command {
	return newCommand(&cli.Command{
		Name:  "verify",
		Usage: "compare each target table with the source, row by row, and repair the rows that differ",
		UsageText: "syncline verify --source mysql://user@host:3306/ --target URL --tables 'shop.*' [--repair] [--format json]\n" +
			"syncline verify --config task.yaml [--target-name NAME] [--tables ...] [--repair]",
		Description: "Walks each table's key in chunks, each read in its own consistent snapshot of the source (no locks), and compares\n" +
			"it with the target's rows after the target's type mapping: by checksums computed on both servers where they store the\n" +
			"same text (MySQL to MySQL), else row by row in key order. Rows that differ are read again after --recheck-wait, so\n" +
			"changes still on their way through Kafka and apply are not reported; only rows that keep differing are. --repair\n" +
			"rewrites them from the source through apply's writer and verifies them again. See docs/verify.md.\n" +
			"Exit status 0 when every table is equal, 1 when rows differ or a table cannot be compared, 2 on bad usage.",
		Flags: []cli.Flag{
			altsrc.NewStringFlag(&cli.StringFlag{Name: flagSource, Usage: "the MySQL or MariaDB source, mysql://user[:password]@host:port/ (required)"}),
			altsrc.NewStringFlag(&cli.StringFlag{Name: flagSourcePasswordFile, Usage: "read the source's password from `FILE`"}),
			altsrc.NewStringFlag(&cli.StringFlag{Name: flagTarget, Usage: "the target: mysql://, postgres:// or clickhouse:// (required)"}),
			altsrc.NewStringFlag(&cli.StringFlag{Name: flagTargetPasswordFile, Usage: "read the target's password from `FILE`"}),
			altsrc.NewStringFlag(&cli.StringFlag{Name: flagTargetName, Usage: "with a task spec (--config), the `NAME` of the target to verify (default: the only one)"}),
			altsrc.NewStringFlag(&cli.StringFlag{Name: flagTables, Usage: "tables to verify, comma-separated `db.table` patterns with * and ? (required without a task spec; with one, narrows its tables)"}),
			altsrc.NewStringFlag(&cli.StringFlag{Name: flagExcludeTables, Usage: "tables to leave out, `db.table` patterns"}),
			altsrc.NewIntFlag(&cli.IntFlag{Name: flagChunkRows, Value: verify.DefaultChunkRows, Usage: "source rows per chunk, each chunk read in one snapshot"}),
			altsrc.NewIntFlag(&cli.IntFlag{Name: flagVerifyRateLimit, Usage: "read at most this many source `ROWS` per second (0: no limit)"}),
			altsrc.NewDurationFlag(&cli.DurationFlag{Name: flagVerifyRecheckWait, Value: verify.DefaultRecheckWait, Usage: "wait before reading a differing row again; set it above apply's delay"}),
			altsrc.NewIntFlag(&cli.IntFlag{Name: flagVerifyRecheckAttempts, Value: verify.DefaultRecheckAttempts, Usage: "how often a differing row is read again before it is reported (0: never, for stopped replication)"}),
			altsrc.NewBoolFlag(&cli.BoolFlag{Name: flagVerifyRepair, Usage: "rewrite the differing rows in the target from the source, then verify them again"}),
			altsrc.NewStringFlag(&cli.StringFlag{Name: flagVerifyFormat, Value: "text", Usage: "report format: text or json"}),
			altsrc.NewIntFlag(&cli.IntFlag{Name: flagVerifyMaxExamples, Value: verify.DefaultMaxExamples, Usage: "differences listed per table (all are counted)"}),
			altsrc.NewDurationFlag(&cli.DurationFlag{Name: flagTimeout, Value: verify.DefaultConnectTimeout, Usage: "time limit of each connection attempt"}),
		},
		Action: runVerify,
	})
}

// runVerify verifies and writes the report to stdout.
func runVerify(c *cli.Context) error {
	log, err := newLogger(c, c.App.ErrWriter)
	if err != nil {
		return err
	}
	cfg, err := verifyConfig(c)
	if err != nil {
		return err
	}
	cfg.Logger = log
	v, err := verify.New(cfg)
	if err != nil {
		return usagef(c, "%v", err)
	}
	rep, err := v.Run(c.Context)
	if err != nil {
		if c.Context.Err() != nil {
			return &exitError{code: exitFailed, msg: "syncline: verify interrupted"}
		}
		return fmt.Errorf("verify: %w", err)
	}
	if c.String(flagVerifyFormat) == "json" {
		err = rep.WriteJSON(c.App.Writer)
	} else {
		err = rep.WriteText(c.App.Writer)
	}
	if err != nil {
		return err
	}
	if !rep.Equal() {
		s := rep.Summary
		msg := fmt.Sprintf("syncline: verify: %s in %d of %s", words.Plural(int(s.Differences()), "row differs", "rows differ"), s.DifferentTables, words.Plural(s.Tables, "table", "tables"))
		if s.FailedTables > 0 {
			msg += fmt.Sprintf(", %s", words.Plural(s.FailedTables, "table could not be compared", "tables could not be compared"))
		}
		return &exitError{code: exitFailed, msg: msg}
	}
	return nil
}

// verifyConfig turns the flags into a verify.Config and validates it.
// Every error is a usage error.
func verifyConfig(c *cli.Context) (verify.Config, error) {
	var cfg verify.Config
	spec, err := taskSpec(c)
	if err != nil {
		return cfg, err
	}
	required := []string{flagSource, flagTarget, flagTables}
	if spec != nil {
		required = required[:2]
	}
	if err := requireFlags(c, required...); err != nil {
		return cfg, err
	}
	src, err := endpointFlag(c, flagSource, c.String(flagSource), c.String(flagSourcePasswordFile))
	if err != nil {
		return cfg, err
	}
	tgt, err := endpointFlag(c, flagTarget, c.String(flagTarget), c.String(flagTargetPasswordFile))
	if err != nil {
		return cfg, err
	}
	var tables verify.Selection
	if c.String(flagTables) != "" {
		if tables, err = filter.Parse(c.String(flagTables), c.String(flagExcludeTables)); err != nil {
			return cfg, usagef(c, "--%s/--%s: %v", flagTables, flagExcludeTables, err)
		}
	}
	var mapping func(schema.Table) (verify.Mapping, error)
	if spec != nil {
		objects, err := runningObjects(c, spec)
		if err != nil {
			return cfg, err
		}
		tm, err := targetMapping(c, spec)
		if err != nil {
			return cfg, err
		}
		mapping = taskVerifyMapping(objects, tm)
		if tables == nil {
			tables = objects
		} else {
			tables = bothSelections{tables, objects}
		}
	}
	switch f := c.String(flagVerifyFormat); f {
	case "text", "json":
	default:
		return cfg, usagef(c, "--%s %q: use text or json", flagVerifyFormat, f)
	}
	attempts := c.Int(flagVerifyRecheckAttempts)
	switch {
	case attempts == 0:
		attempts = verify.NoRecheck
	case attempts < 0:
		return cfg, usagef(c, "--%s %d: use 0 or more", flagVerifyRecheckAttempts, attempts)
	}
	if n := c.Int(flagChunkRows); n < 1 {
		return cfg, usagef(c, "--%s %d: use 1 or more", flagChunkRows, n)
	}
	if c.Duration(flagTimeout) <= 0 {
		return cfg, usagef(c, "--%s %s: use a positive duration such as 10s", flagTimeout, c.Duration(flagTimeout))
	}
	cfg = verify.Config{
		Source: src, Target: tgt, Tables: tables, Map: mapping,
		ChunkRows: c.Int(flagChunkRows), RateLimit: c.Int(flagVerifyRateLimit),
		RecheckWait: c.Duration(flagVerifyRecheckWait), RecheckAttempts: attempts,
		Repair: c.Bool(flagVerifyRepair), MaxExamples: c.Int(flagVerifyMaxExamples),
		ConnectTimeout: c.Duration(flagTimeout),
	}
	if cfg.MaxExamples == 0 {
		cfg.MaxExamples = -1 // none listed (verify.Config's 0 is the default)
	}
	if err := cfg.Validate(); err != nil {
		return cfg, usagef(c, "%v", err)
	}
	return cfg, nil
}

// bothSelections selects the tables both of its selections select.
type bothSelections [2]verify.Selection

func (b bothSelections) Match(db, table string) bool {
	return b[0].Match(db, table) && b[1].Match(db, table)
}

func (b bothSelections) String() string { return b[0].String() + " of " + b[1].String() }

// runningObjects returns the object list of the running task, as kept in
// Kafka (tables added or removed while it runs included), or the spec's
// when the task has not started or Kafka cannot be read.
func runningObjects(c *cli.Context, spec *task.Spec) (*task.Objects, error) {
	list := spec.Objects
	k, err := newKafka(spec.Brokers, spec.KafkaTLS, spec.KafkaTLSCA, spec.KafkaTLSInsecure,
		spec.KafkaSASLMechanism, spec.KafkaSASLUser, spec.KafkaSASLPasswordFile)
	if err != nil {
		return nil, usagef(c, "task spec %s: kafka-sasl-password-file: %v", c.String(flagConfig), err)
	}
	if opts, err := k.Opts(); err == nil && len(spec.Brokers) > 0 {
		ctx, cancel := context.WithTimeout(c.Context, 10*time.Second)
		rev, _, err := task.NewStore(opts, spec.Prefix(), spec.Name).Latest(ctx)
		cancel()
		if err == nil {
			list = rev.Objects
		}
	}
	objects, err := task.CompileObjects(list)
	if err != nil {
		return nil, usagef(c, "task spec %s: %v", c.String(flagConfig), err)
	}
	return objects, nil
}

// taskVerifyMapping says how a task puts each source table into a target
// (task.Objects.Compose: capture's rules and the target's mapping), in
// verify's terms.
func taskVerifyMapping(objects *task.Objects, m *task.Mapping) func(schema.Table) (verify.Mapping, error) {
	return func(t schema.Table) (verify.Mapping, error) {
		c, err := objects.Compose(m, t)
		vm := verify.Mapping{Database: c.Database, Table: c.Table, Columns: c.Columns, Omit: c.Omit,
			Filter: c.Filter, KeepExtra: c.KeepExtra}
		return vm, err
	}
}
