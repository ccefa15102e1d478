package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
	"github.com/urfave/cli/v2/altsrc"

	"github.com/syncline/syncline/capture"
	"github.com/syncline/syncline/endpoint"
	"github.com/syncline/syncline/internal/words"
	"github.com/syncline/syncline/task"
)

// Flags of syncline task reset.
const (
	// flagYes confirms syncline task reset without asking.
	flagYes = "yes"
	// flagForce makes syncline task reset stop a running task first.
	flagForce = "force"
	// flagStopTimeout bounds how long reset --force waits for the task
	// to stop.
	flagStopTimeout = "stop-timeout"
)

// defaultStopTimeout is --stop-timeout's default: apply waits up to a
// minute for capture to report stopping, then drains.
const defaultStopTimeout = 3 * time.Minute

func taskCommand() *cli.Command {
	sub := func(cmd *cli.Command, args bool, extra ...cli.Flag) *cli.Command {
		cmd.Flags = append(append(extra, altsrc.NewStringFlag(&cli.StringFlag{Name: flagSource, Usage: "the source (from the spec)"}),
			altsrc.NewStringFlag(&cli.StringFlag{Name: flagSourcePasswordFile, Usage: "read the source's password from `FILE`"})), oneShotKafkaFlags()...)
		action := cmd.Action
		cmd = newCommand(cmd)
		// newCommand's action refuses arguments; add-tables takes some.
		cmd.Action = func(c *cli.Context) error {
			spec, err := taskSpec(c)
			if err != nil {
				return err
			}
			if spec == nil {
				return usagef(c, "--%s: give the task spec (a YAML file with objects and targets, docs/task.md)", flagConfig)
			}
			if !args && c.Args().Present() {
				return usagef(c, "unexpected argument %q", c.Args().First())
			}
			if args && !c.Args().Present() {
				return usagef(c, "give the tables as db.table arguments")
			}
			return action(c)
		}
		return cmd
	}
	return &cli.Command{
		Name:  "task",
		Usage: "change, stop and reset a running task (its spec is given with --config)",
		Description: "A task's object list is kept in Kafka (<prefix>.__task), so that capture, every apply and every restart\n" +
			"see the same tables. These commands change it while the task runs: capture snapshots added tables online,\n" +
			"between binlog transactions, and stops publishing removed ones (their target tables are left as they are).",
		HideHelpCommand: true,
		Action: func(c *cli.Context) error {
			names := commandNames(c.Command.Subcommands)
			if c.Args().Present() {
				return usagef(c, "unknown command \"task %s\"%s", c.Args().First(), didYouMean(c.Args().First(), names))
			}
			return cli.ShowSubcommandHelp(c)
		},
		Subcommands: []*cli.Command{
			sub(&cli.Command{Name: "show", Usage: "print the task's object list as kept in Kafka", Action: runTaskShow}, false),
			sub(&cli.Command{Name: "add-tables", Usage: "add tables to the running task (backfilled online)", ArgsUsage: "db.table...", Action: runTaskAddTables}, true),
			sub(&cli.Command{Name: "remove-tables", Usage: "stop syncing tables (their target tables stay)", ArgsUsage: "db.table...", Action: runTaskRemoveTables}, true),
			sub(&cli.Command{Name: "resync", Usage: "re-include parked tables once fixed (their targets are emptied and backfilled online)", ArgsUsage: "db.table...", Action: runTaskResync}, true),
			sub(&cli.Command{Name: "update", Usage: "replace the task's object list with the spec file's", Action: runTaskUpdate}, false),
			sub(&cli.Command{Name: "stop", Usage: "stop the task cleanly: capture commits, apply drains and commits; start the components again to resume", Action: runTaskStop}, false),
			sub(&cli.Command{Name: "reset", Usage: "delete the task's topics, checkpoints and consumer groups (asks first; refuses while the task runs)", Action: runTaskReset}, false,
				altsrc.NewBoolFlag(&cli.BoolFlag{Name: flagYes, Usage: "do not ask for confirmation"}),
				altsrc.NewBoolFlag(&cli.BoolFlag{Name: flagForce, Usage: "when the task runs, stop it cleanly first (as syncline task stop does), then delete"}),
				altsrc.NewDurationFlag(&cli.DurationFlag{Name: flagStopTimeout, Value: defaultStopTimeout, Usage: "with --force, how long to wait for capture and every apply to stop"})),
		},
	}
}

// taskStore opens the task's store from the spec and the Kafka flags.
func taskStore(c *cli.Context) (*task.Spec, *task.Store, error) {
	spec, err := taskSpec(c)
	if err != nil {
		return nil, nil, err
	}
	k, err := kafkaConfig(c)
	if err != nil {
		return nil, nil, err
	}
	opts, err := k.Opts()
	if err != nil {
		return nil, nil, usagef(c, "%v", err)
	}
	return spec, task.NewStore(opts, c.String(flagTopicPrefix), spec.Name), nil
}

// current returns the task's object list in Kafka, or the spec's when the
// task has not started yet.
func currentObjects(ctx context.Context, spec *task.Spec, store *task.Store) (*task.Revision, error) {
	rev, _, err := store.Latest(ctx)
	if errors.Is(err, task.ErrNoRevision) {
		return &task.Revision{Objects: spec.Objects}, nil
	}
	return rev, err
}

func runTaskShow(c *cli.Context) error {
	spec, store, err := taskStore(c)
	if err != nil {
		return err
	}
	rev, _, err := store.Latest(c.Context)
	if errors.Is(err, task.ErrNoRevision) {
		fmt.Fprintf(c.App.Writer, "task %s has not started: its object list is the spec's\n", spec.Name)
		printObjects(c.App.Writer, spec.Objects)
		return nil
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "task %s, object list revision %d (%s, %s)\n", spec.Name, rev.Revision, rev.Change,
		time.UnixMilli(rev.TSMillis).UTC().Format(time.RFC3339))
	printObjects(c.App.Writer, rev.Objects)
	if !task.Equal(rev.Objects, spec.Objects) {
		fmt.Fprintln(c.App.Writer, "the spec file's objects differ; syncline task update replaces the list with the file's")
	}
	return nil
}

func printObjects(w io.Writer, list []task.Object) {
	for i, o := range list {
		tables := "*"
		if len(o.Tables) > 0 {
			tables = strings.Join(o.Tables, ", ")
		}
		fmt.Fprintf(w, "  objects[%d]: %s: %s", i, o.Database, tables)
		if len(o.Exclude) > 0 {
			fmt.Fprintf(w, " excluding %s", strings.Join(o.Exclude, ", "))
		}
		if len(o.Columns) > 0 {
			fmt.Fprintf(w, "; columns %s", strings.Join(o.Columns, ", "))
		}
		if len(o.DropColumns) > 0 {
			fmt.Fprintf(w, "; without %s", strings.Join(o.DropColumns, ", "))
		}
		if o.Filter != "" {
			fmt.Fprintf(w, "; where %s", o.Filter)
		}
		if len(o.Operations) > 0 {
			fmt.Fprintf(w, "; only %s", strings.Join(o.Operations, ", "))
		}
		fmt.Fprintln(w)
	}
}

// tableArgs parses db.table arguments (exact names).
func tableArgs(c *cli.Context) ([][2]string, error) {
	tables, err := parseTableNames(c.Args().Slice())
	if err != nil {
		return nil, usagef(c, "%v", err)
	}
	return tables, nil
}

// taskChangerOf returns the changer of the task given by the flags.
func taskChangerOf(c *cli.Context) (*taskChanger, error) {
	spec, store, err := taskStore(c)
	if err != nil {
		return nil, err
	}
	return &taskChanger{spec: spec, store: store, source: func() (endpoint.Endpoint, error) {
		return endpointFlag(c, flagSource, c.String(flagSource), c.String(flagSourcePasswordFile))
	}}, nil
}

// changed prints what a change did, or turns its error into the
// command's: a refused change exits with 1 and a one-line reason, a bad
// table name or a list left empty is a usage error.
func changed(c *cli.Context, msg string, err error) error {
	var (
		refused *refusedError
		bad     *badTableError
	)
	switch {
	case errors.As(err, &refused):
		return &exitError{code: exitFailed, msg: "syncline: " + oneLine(refused.Error())}
	case errors.As(err, &bad), errors.Is(err, errNoTablesLeft), errors.Is(err, errNoTables):
		return usagef(c, "%v", err)
	case err != nil:
		return err
	}
	if msg != "" {
		fmt.Fprintln(c.App.Writer, msg)
	}
	return nil
}

func runTaskAddTables(c *cli.Context) error {
	ch, err := taskChangerOf(c)
	if err != nil {
		return err
	}
	msg, err := ch.AddTables(c.Context, c.Args().Slice())
	return changed(c, msg, err)
}

func runTaskRemoveTables(c *cli.Context) error {
	ch, err := taskChangerOf(c)
	if err != nil {
		return err
	}
	msg, err := ch.RemoveTables(c.Context, c.Args().Slice())
	return changed(c, msg, err)
}

// withoutTable returns the object list without db.table: an object that
// names it is left without the name (and dropped when it named only that
// table); one that matches it by pattern excludes it.
func withoutTable(objects []task.Object, db, table string) ([]task.Object, bool) {
	var out []task.Object
	found := false
	for _, o := range objects {
		if ok, _ := path.Match(o.Database, db); !ok {
			out = append(out, o)
			continue
		}
		o.Tables = slices.Clone(o.Tables)
		if i := slices.Index(o.Tables, table); i >= 0 {
			found = true
			o.Tables = slices.Delete(o.Tables, i, i+1)
			if len(o.Tables) == 0 {
				continue
			}
			out = append(out, o)
			continue
		}
		sel, err := task.CompileObjects([]task.Object{o})
		if err == nil && sel.Match(db, table) {
			found = true
			o.Exclude = append(slices.Clone(o.Exclude), table)
		}
		out = append(out, o)
	}
	return out, found
}

func runTaskUpdate(c *cli.Context) error {
	ch, err := taskChangerOf(c)
	if err != nil {
		return err
	}
	msg, err := ch.Update(c.Context, "update from "+path.Base(c.String(flagConfig)))
	return changed(c, msg, err)
}

func runTaskStop(c *cli.Context) error {
	ch, err := taskChangerOf(c)
	if err != nil {
		return err
	}
	msg, err := ch.Stop(c.Context)
	return changed(c, msg, err)
}

func runTaskReset(c *cli.Context) error {
	spec, store, err := taskStore(c)
	if err != nil {
		return err
	}
	prefix := c.String(flagTopicPrefix)
	var groups, allGroups []string
	for _, t := range spec.Targets {
		groups = append(groups, t.Group)
		allGroups = append(allGroups, t.Group, t.Group+".__ddl")
	}
	fresh, err := captureFreshness(spec)
	if err != nil {
		return usagef(c, "task spec %s: %v", c.String(flagConfig), err)
	}
	running, err := store.Running(c.Context, prefix, spec.Name, allGroups, fresh)
	if err != nil {
		return err
	}
	if running.Any() && !c.Bool(flagForce) {
		return &exitError{code: exitFailed, msg: fmt.Sprintf("syncline: task %s is running: %s; stop it first (syncline task stop, then wait for the components to exit), or reset with --%s, which stops it cleanly and then deletes; nothing was deleted",
			spec.Name, running, flagForce)}
	}
	if !c.Bool(flagYes) {
		fmt.Fprintf(c.App.Writer, "This deletes every topic of prefix %q (the task's events, checkpoints and object list) and the consumer groups of its targets.\n"+
			"Type the task's name (%s) to go on: ", prefix, spec.Name)
		line, _ := bufio.NewReader(c.App.Reader).ReadString('\n')
		if strings.TrimSpace(line) != spec.Name {
			return &exitError{code: exitFailed, msg: "syncline: not confirmed; nothing was deleted"}
		}
	}
	if running.Any() {
		fmt.Fprintf(c.App.Writer, "stopping the task first: %s\n", running)
		ctx, cancel := context.WithTimeout(c.Context, c.Duration(flagStopTimeout))
		err := store.StopAndWait(ctx, prefix, spec.Name, allGroups, fresh)
		cancel()
		if err != nil {
			return &exitError{code: exitFailed, msg: fmt.Sprintf("syncline: task %s did not stop within --%s %s (%s); nothing was deleted", spec.Name, flagStopTimeout, c.Duration(flagStopTimeout), oneLine(err.Error()))}
		}
		fmt.Fprintln(c.App.Writer, "the task stopped: capture committed, every apply drained and left its group")
	}
	deleted, err := store.Reset(c.Context, prefix, groups)
	if err != nil {
		return fmt.Errorf("reset stopped part way (%s deleted), run syncline task reset again to finish: %w", words.Plural(len(deleted), "topic", "topics"), err)
	}
	fmt.Fprintf(c.App.Writer, "deleted %s and the consumer groups %s; the next start snapshots every table again\n",
		words.Plural(len(deleted), "topic", "topics"), strings.Join(groups, ", "))
	return nil
}

// captureFreshness is how recent capture's checkpoint must be for reset to
// count capture as running: a running capture commits one at least every
// --heartbeat (the spec's, or the default), even on an idle source.
func captureFreshness(spec *task.Spec) (time.Duration, error) {
	hb := capture.DefaultHeartbeat
	if v, ok := spec.Capture[flagHeartbeat]; ok {
		d, err := time.ParseDuration(fmt.Sprint(v))
		if err != nil {
			return 0, fmt.Errorf("capture.%s: %v", flagHeartbeat, err)
		}
		hb = d
	}
	return 3*hb + 10*time.Second, nil
}
