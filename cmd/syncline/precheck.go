package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"
	"github.com/urfave/cli/v2/altsrc"

	"github.com/syncline/syncline/filter"
	"github.com/syncline/syncline/precheck"
	"github.com/syncline/syncline/task"
)

// Flags of syncline precheck.
const (
	flagSource             = "source"
	flagSourcePasswordFile = "source-password-file"
	flagTarget             = "target"
	flagTargetPasswordFile = "target-password-file"
	flagBrokers            = "brokers"
	flagRegistry           = "registry"
	flagTopicPrefix        = "topic-prefix"
	flagTables             = "tables"
	flagExcludeTables      = "exclude-tables"
	flagServerID           = "server-id"
	flagTimeout            = "timeout"
)

// precheckFieldFlag maps a precheck.Config field to the flag that sets it,
// for error messages.
func precheckFieldFlag(field string) string {
	name, _, _ := strings.Cut(field, "[")
	switch name {
	case "Source":
		return flagSource
	case "Targets":
		return flagTarget
	case "Brokers":
		return flagBrokers
	case "RegistryURL":
		return flagRegistry
	case "TopicPrefix":
		return flagTopicPrefix
	case "Tables":
		return flagTables
	case "ServerID":
		return flagServerID
	case "Timeout":
		return flagTimeout
	}
	return field
}

func precheckCommand() *cli.Command {
	return newCommand(&cli.Command{
		Name:      "precheck",
		Usage:     "check that the source, targets and Kafka are ready for a task",
		UsageText: "syncline precheck --source mysql://user@host:3306/ --tables 'shop.*' [--target URL]... [--brokers host:port,...] [--registry URL]",
		Description: "Connects to every endpoint and reports, check by check, what is ready and what must be fixed first:\n" +
			"the source's version, binlog settings, privileges and tables; each target's privileges and existing tables;\n" +
			"Kafka and the schema registry. Exit status 0 when no check fails (warnings allowed), 1 when one fails, 2 on bad usage.\n" +
			"Passwords: in the URL, in --source-password-file / --target-password-file, or in SYNCLINE_SOURCE / SYNCLINE_TARGET.",
		Flags: []cli.Flag{
			altsrc.NewStringFlag(&cli.StringFlag{Name: flagSource, Usage: "the MySQL or MariaDB source, mysql://user[:password]@host:port/ (required)"}),
			altsrc.NewStringFlag(&cli.StringFlag{Name: flagSourcePasswordFile, Usage: "read the source's password from `FILE`"}),
			altsrc.NewStringSliceFlag(&cli.StringSliceFlag{Name: flagTarget, Usage: "a target, mysql://, postgres:// or clickhouse:// (repeatable)"}),
			altsrc.NewStringSliceFlag(&cli.StringSliceFlag{Name: flagTargetPasswordFile, Usage: "read the password of the target given at the same position from `FILE` (repeatable)"}),
			altsrc.NewStringSliceFlag(&cli.StringSliceFlag{Name: flagBrokers, Usage: "Kafka seed brokers, comma-separated `host:port` (repeatable)"}),
			altsrc.NewStringFlag(&cli.StringFlag{Name: flagRegistry, Usage: "schema registry `URL`, http://host:port"}),
			altsrc.NewStringFlag(&cli.StringFlag{Name: flagTopicPrefix, Value: precheck.DefaultTopicPrefix, Usage: "prefix of every topic"}),
			altsrc.NewStringFlag(&cli.StringFlag{Name: flagTables, Usage: "tables to capture, comma-separated `db.table` patterns with * and ? (required)"}),
			altsrc.NewStringFlag(&cli.StringFlag{Name: flagExcludeTables, Usage: "tables to leave out, `db.table` patterns"}),
			altsrc.NewIntFlag(&cli.IntFlag{Name: flagServerID, Value: int(precheck.DefaultServerID), Usage: "the replica server id capture will use, unique among the source's replicas"}),
			altsrc.NewDurationFlag(&cli.DurationFlag{Name: flagTimeout, Value: precheck.DefaultTimeout, Usage: "time limit of each connection and query, per endpoint"}),
		},
		Action: runPrecheck,
	})
}

// runPrecheck runs the checks and prints the report to stdout.
func runPrecheck(c *cli.Context) error {
	log, err := newLogger(c, c.App.ErrWriter)
	if err != nil {
		return err
	}
	cfg, err := precheckConfig(c)
	if err != nil {
		return err
	}
	cfg.Logger = log
	log.Debug("precheck", "source", cfg.Source.Redacted(), "targets", len(cfg.Targets), "tables", cfg.Tables.String())
	report := precheck.Run(c.Context, cfg)
	if err := report.WriteText(c.App.Writer); err != nil {
		return err
	}
	if c.Context.Err() != nil {
		return &exitError{code: exitFailed, msg: "syncline: precheck interrupted"}
	}
	if n := report.Count(precheck.Fail); n > 0 {
		checks := "checks"
		if n == 1 {
			checks = "check"
		}
		return &exitError{code: exitFailed, msg: fmt.Sprintf("syncline: precheck: %d %s failed", n, checks)}
	}
	return nil
}

// precheckConfig turns the flags into a precheck.Config and validates it.
// Every error is a usage error.
func precheckConfig(c *cli.Context) (precheck.Config, error) {
	var cfg precheck.Config
	spec, err := taskSpec(c)
	if err != nil {
		return cfg, err
	}
	required := []string{flagSource, flagTables}
	if spec != nil {
		required = required[:1]
	}
	if err := requireFlags(c, required...); err != nil {
		return cfg, err
	}
	src, err := endpointFlag(c, flagSource, c.String(flagSource), c.String(flagSourcePasswordFile))
	if err != nil {
		return cfg, err
	}
	targets := c.StringSlice(flagTarget)
	passwordFiles := c.StringSlice(flagTargetPasswordFile)
	if spec != nil && len(targets) == 0 {
		// Every target of the task.
		for _, t := range spec.Targets {
			targets = append(targets, t.URL)
			passwordFiles = append(passwordFiles, t.PasswordFile)
		}
	}
	if len(passwordFiles) > len(targets) {
		return cfg, usagef(c, "%d --%s for %d --%s: give one per target, in the same order", len(passwordFiles), flagTargetPasswordFile, len(targets), flagTarget)
	}
	for i, raw := range targets {
		file := ""
		if i < len(passwordFiles) {
			file = passwordFiles[i]
		}
		t, err := endpointFlag(c, flagTarget, raw, file)
		if err != nil {
			return cfg, err
		}
		cfg.Targets = append(cfg.Targets, t)
	}
	var tables precheck.Selection
	switch {
	case spec != nil && c.String(flagTables) == "":
		if tables, err = task.CompileObjects(spec.Objects); err != nil {
			return cfg, usagef(c, "task spec %s: %v", c.String(flagConfig), err)
		}
	default:
		if tables, err = filter.Parse(c.String(flagTables), c.String(flagExcludeTables)); err != nil {
			return cfg, usagef(c, "--%s/--%s: %v", flagTables, flagExcludeTables, err)
		}
	}
	id := c.Int(flagServerID)
	if id < 1 || id > 1<<32-1 {
		return cfg, usagef(c, "--%s %d: use a number from 1 to 4294967295", flagServerID, id)
	}
	if c.Duration(flagTimeout) <= 0 {
		return cfg, usagef(c, "--%s %s: use a positive duration such as 5s", flagTimeout, c.Duration(flagTimeout))
	}
	cfg.Source = src
	cfg.Brokers = splitList(c.StringSlice(flagBrokers))
	cfg.RegistryURL = c.String(flagRegistry)
	cfg.TopicPrefix = c.String(flagTopicPrefix)
	cfg.Tables = tables
	cfg.ServerID = uint32(id)
	cfg.Timeout = c.Duration(flagTimeout)
	if err := cfg.Validate(); err != nil {
		var fe *precheck.FieldError
		if errors.As(err, &fe) {
			return cfg, usagef(c, "--%s: %s", precheckFieldFlag(fe.Field), fe.Problem)
		}
		return cfg, usagef(c, "%v", err)
	}
	return cfg, nil
}
