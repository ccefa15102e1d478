package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/syncline/syncline/fault"
)

// Exit statuses.
const (
	exitOK     = 0 // success
	exitFailed = 1 // a check or run failed
	exitUsage  = 2 // bad usage: flags, connection strings, patterns, config file
	// exitPermanent (fault.ExitPermanent): a fault that needs a person;
	// supervisors must not restart the process into it again.
	exitPermanent = fault.ExitPermanent
)

// usageError is a mistake in how syncline was called. It is printed as one
// line that points at the command's help, and exits with status 2.
type usageError struct {
	cmd     string // the command path after "syncline" ("task show"), "" for syncline itself
	problem string
}

func (e *usageError) Error() string { return e.problem }

// line is what syncline prints for the error.
func (e *usageError) line() string {
	help := "syncline --help"
	if e.cmd != "" {
		help = "syncline " + e.cmd + " --help"
	}
	return fmt.Sprintf("syncline: %s; see '%s'", e.problem, help)
}

// usagef returns a usageError for the command of c.
func usagef(c *cli.Context, format string, args ...any) error {
	return &usageError{cmd: commandPath(c), problem: oneLine(fmt.Sprintf(format, args...))}
}

// commandPath returns the words after "syncline" that name the command c
// runs ("task show"), "" at the top level: the help pointer of a usage error
// names the real command.
func commandPath(c *cli.Context) string {
	if c == nil || c.Command == nil {
		return ""
	}
	if path, ok := strings.CutPrefix(c.Command.HelpName, "syncline "); ok {
		return path
	}
	return commandName(c)
}

// commandName returns the subcommand c runs, "" at the top level.
func commandName(c *cli.Context) string {
	if c == nil || c.Command == nil || c.Command.Name == "syncline" {
		return ""
	}
	return c.Command.Name
}

// exitError ends syncline with a status and a line already worded for the
// user (which may be empty when the output said it all).
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

// run runs syncline with args (args[0] is the program name) and returns
// the exit status. It is main without the process: tests call it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	err := newApp(stdout, stderr).RunContext(ctx, args)
	var (
		ue *usageError
		ee *exitError
	)
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintln(stderr, ue.line())
		return exitUsage
	case errors.As(err, &ee):
		if ee.msg != "" {
			fmt.Fprintln(stderr, ee.msg)
		}
		return ee.code
	case ctx.Err() != nil:
		fmt.Fprintln(stderr, "syncline: interrupted")
		return exitFailed
	case fault.IsPermanent(err):
		fmt.Fprintln(stderr, "syncline: "+oneLine(err.Error()))
		return exitPermanent
	default:
		fmt.Fprintln(stderr, "syncline: "+oneLine(err.Error()))
		return exitFailed
	}
}

// newApp builds the command tree. It is built anew for every run: the
// flags hold the parsed values.
func newApp(stdout, stderr io.Writer) *cli.App {
	return &cli.App{
		Name:      "syncline",
		Usage:     "change data capture from MySQL and MariaDB through Kafka into MySQL, PostgreSQL and ClickHouse",
		UsageText: "syncline <command> [flags]",
		Writer:    stdout,
		ErrWriter: stderr,
		Commands: []*cli.Command{
			precheckCommand(),
			captureCommand(),
			applyCommand(),
			statusCommand(),
			consoleCommand(),
			verifyCommand(),
			taskCommand(),
			devCommand(),
			demoCommand(),
			benchCommand(),
			versionCommand(),
		},
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: flagVersion, Usage: "print the version (as syncline version does)"},
		},
		HideHelpCommand: true,
		HideVersion:     true,
		// --target takes URLs, which may contain commas; lists that are
		// comma-separated (--brokers) are split by the command.
		DisableSliceFlagSeparator: true,
		// Errors are turned into exit statuses by run, not by cli.
		ExitErrHandler: func(*cli.Context, error) {},
		OnUsageError:   onUsageError,
		Action: func(c *cli.Context) error {
			if c.Bool(flagVersion) && !c.Args().Present() {
				return writeVersion(c.App.Writer)
			}
			if c.Args().Present() {
				return usagef(c, "unknown command %q%s", c.Args().First(), didYouMean(c.Args().First(), commandNames(c.App.Commands)))
			}
			return usagef(c, "no command given")
		},
	}
}

// newCommand completes a subcommand: the shared flags (config file and
// logging), an environment variable for every flag, loading the config
// file, and one-line usage errors.
func newCommand(cmd *cli.Command) *cli.Command {
	cmd.Flags = withEnv(append(cmd.Flags, sharedFlags()...))
	cmd.Before = loadConfigFile(cmd.Flags)
	cmd.OnUsageError = onUsageError
	cmd.HideHelpCommand = true
	action := cmd.Action
	cmd.Action = func(c *cli.Context) error {
		if c.Args().Present() {
			return usagef(c, "unexpected argument %q", c.Args().First())
		}
		return action(c)
	}
	return cmd
}

// onUsageError turns cli's flag parsing errors into one-line usage errors.
func onUsageError(c *cli.Context, err error, _ bool) error {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "flag provided but not defined: "); ok {
		name = strings.TrimLeft(name, "-")
		msg = "unknown flag --" + name + didYouMeanAs("--", name, flagsOf(c))
	}
	msg = explainValueError(c, msg)
	return usagef(c, "%s", msg)
}

// oneLine folds a message onto one line.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
