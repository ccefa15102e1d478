package main

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/syncline/syncline/capture"
	"github.com/syncline/syncline/endpoint"
	"github.com/syncline/syncline/internal/event"
	"github.com/syncline/syncline/schema"
	"github.com/syncline/syncline/topics"
)

// runTaskResync asks the task's capture to re-include parked tables that
// were fixed (docs/task.md, Parked tables).
func runTaskResync(c *cli.Context) error {
	spec, store, err := taskStore(c)
	if err != nil {
		return err
	}
	tables, err := tableArgs(c)
	if err != nil {
		return err
	}
	// Still without a key or with a type capture cannot map: say the fix
	// now rather than have capture log it.
	if err := checkSourceTables(c, tables); err != nil {
		return err
	}
	k, err := kafkaConfig(c)
	if err != nil {
		return err
	}
	opts, err := k.Opts()
	if err != nil {
		return usagef(c, "%v", err)
	}
	names := event.Names{Prefix: c.String(flagTopicPrefix)}
	cp, err := topics.ReadCheckpoint(c.Context, opts, names.Checkpoints(), spec.Name)
	if errors.Is(err, topics.ErrNoCheckpoint) {
		return &exitError{code: exitFailed, msg: fmt.Sprintf("syncline: the capture of task %s has committed no checkpoint yet, so no table is parked; nothing was changed", spec.Name)}
	}
	if err != nil {
		return err
	}
	var parked []string
	for _, t := range tables {
		n := t[0] + "." + t[1]
		st, ok := cp.Tables[n]
		switch {
		case !ok:
			fmt.Fprintf(c.App.Writer, "%s is not captured by the task; nothing to do\n", n)
		case st.Stage != topics.StageParked:
			fmt.Fprintf(c.App.Writer, "%s is not parked (%s); nothing to do\n", n, st.Stage)
		default:
			parked = append(parked, n)
		}
	}
	if len(parked) == 0 {
		return nil
	}
	if err := store.RequestResync(c.Context, parked); err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "resync of %s requested: capture re-includes it at its next transaction boundary (a truncate_table event empties its target tables, then it is snapshotted online); syncline status shows its progress\n",
		strings.Join(parked, " "))
	return nil
}

// checkSourceTables checks that tables to re-include exist on the source and
// can be captured now, before the running task is told about them.
func checkSourceTables(c *cli.Context, tables [][2]string) error {
	src, err := endpointFlag(c, flagSource, c.String(flagSource), c.String(flagSourcePasswordFile))
	if err != nil {
		return err
	}
	conn, err := endpoint.DialMySQL(c.Context, src, 10*time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	var errs []error
	for _, t := range tables {
		// Capture's own check of a capturable table: a key, and column
		// types it can carry (the reasons a table is parked for).
		if _, err := capture.CheckTable(c.Context, conn, t[0], t[1]); err != nil {
			switch {
			case errors.Is(err, schema.ErrNoTable):
				errs = append(errs, fmt.Errorf("%s.%s does not exist on the source", t[0], t[1]))
			case errors.Is(err, schema.ErrNoKey):
				errs = append(errs, fmt.Errorf("%s.%s has no primary key or NOT NULL unique key: add one first", t[0], t[1]))
			case errors.Is(err, schema.ErrUnsupportedType):
				// capture's refusal without its --exclude-tables advice
				var refusal interface{ Cause() error }
				if errors.As(err, &refusal) {
					err = refusal.Cause()
				}
				errs = append(errs, fmt.Errorf("%s.%s: %w: change the column first", t[0], t[1], err))
			default:
				errs = append(errs, fmt.Errorf("%s.%s: %w", t[0], t[1], err))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return &exitError{code: exitFailed, msg: "syncline: " + oneLine(err.Error()) + "; nothing was changed"}
	}
	return nil
}
