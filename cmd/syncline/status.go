package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/urfave/cli/v2"
	"github.com/urfave/cli/v2/altsrc"

	"github.com/syncline/syncline/status"
)

// Flags of syncline status (beside the Kafka flags).
const (
	flagWatch    = "watch"
	flagInterval = "interval"
	flagStalled  = "stalled-after"
)

// clearScreen moves the cursor home and clears a terminal.
const clearScreen = "\x1b[H\x1b[2J"

func statusCommand() *cli.Command {
	flags := []cli.Flag{
		altsrc.NewStringSliceFlag(&cli.StringSliceFlag{Name: flagGroup, Usage: "an apply consumer group to report (repeatable; default: every group that committed offsets on the task's topics)"}),
		altsrc.NewBoolFlag(&cli.BoolFlag{Name: flagWatch, Usage: "refresh the report every --interval until interrupted"}),
		altsrc.NewDurationFlag(&cli.DurationFlag{Name: flagInterval, Value: 2 * time.Second, Usage: "time between two reports (rates are measured over it)"}),
		altsrc.NewDurationFlag(&cli.DurationFlag{Name: flagStalled, Value: status.DefaultStalledAfter, Usage: "show capture as stalled when its last checkpoint is older than this (it commits one every --heartbeat)"}),
	}
	for _, f := range kafkaFlags() {
		if f.Names()[0] != flagMetricsAddr {
			flags = append(flags, f)
		}
	}
	return newCommand(&cli.Command{
		Name:      "status",
		Usage:     "show a task's stages, position, delay and each apply group's lag",
		UsageText: "syncline status --brokers host:9092 --registry http://host:8081 [--topic-prefix P] [--group G]... [--watch]",
		Description: "Reads everything from Kafka: capture's checkpoint gives each table's stage (snapshot with the rows read so far,\n" +
			"streaming, or parked with the reason it cannot be captured), the binlog position and the delay behind the source (now minus the source time of the last\n" +
			"change or heartbeat); the table topics' offsets and each consumer group's committed offsets give the lag.\n" +
			"Offsets include one commit marker per Kafka transaction, so offset counts and rates slightly overstate rows;\n" +
			"a small lag is counted exactly (records not yet applied), a large one in offsets (shown with ~).\n" +
			"One report samples twice, --interval apart, to measure rates; --watch refreshes until interrupted.",
		Flags:  flags,
		Action: runStatus,
	})
}

func runStatus(c *cli.Context) error {
	if _, err := newLogger(c, c.App.ErrWriter); err != nil {
		return err
	}
	k, err := kafkaConfig(c)
	if err != nil {
		return err
	}
	interval := c.Duration(flagInterval)
	if interval <= 0 {
		return usagef(c, "--%s %s: use a positive duration such as 2s", flagInterval, interval)
	}
	mon, err := status.New(status.Config{
		Kafka: k, RegistryURL: c.String(flagRegistry), Prefix: c.String(flagTopicPrefix),
		Groups: splitList(c.StringSlice(flagGroup)), StalledAfter: c.Duration(flagStalled),
	})
	if err != nil {
		return usagef(c, "%v", err)
	}
	defer mon.Close()
	return watchStatus(c.Context, mon, c.App.Writer, interval, c.Bool(flagWatch))
}

// watchStatus prints reports: one (measured over interval) or, with watch,
// one every interval until ctx ends. On a terminal each report replaces the
// previous one. While watching, a report that fails is shown as its error
// and the next one is tried.
func watchStatus(ctx context.Context, mon *status.Monitor, w io.Writer, interval time.Duration, watch bool) error {
	collect := func() (*status.Report, error) {
		cctx, cancel := context.WithTimeout(ctx, max(5*interval, 30*time.Second))
		defer cancel()
		return mon.Collect(cctx)
	}
	// With --watch, a failure that lasts is written once, then every
	// repeatEvery, not every interval.
	failures := repeatLimiter{every: repeatEvery}
	failed := func(err error) {
		if ok, held := failures.allow(time.Now()); ok {
			fmt.Fprintf(w, "status: %v (trying again every %s%s)\n", err, interval, heldBack(held))
		}
	}
	prev, err := collect()
	switch {
	case err != nil && !watch:
		return err
	case err != nil:
		failed(err)
	default:
		if watch {
			if err := writeScreen(w, prev, nil); err != nil {
				return err
			}
		}
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			if watch {
				return nil
			}
			// Interrupted before the second sample: show what we have.
			return prev.WriteText(w, nil)
		case <-tick.C:
		}
		rep, err := collect()
		switch {
		case err != nil && ctx.Err() != nil && watch:
			return nil
		case err != nil && !watch:
			return err
		case err != nil:
			failed(err)
			continue
		case !watch:
			return rep.WriteText(w, prev)
		}
		failures.reset()
		if err := writeScreen(w, rep, prev); err != nil {
			return err
		}
		prev = rep
	}
}

// writeScreen writes a report, clearing the screen first when w is a
// terminal.
func writeScreen(w io.Writer, rep, prev *status.Report) error {
	if isTerminal(w) {
		if _, err := io.WriteString(w, clearScreen); err != nil {
			return err
		}
	} else if prev != nil {
		if _, err := io.WriteString(w, "\n"); err != nil {
			return err
		}
	}
	return rep.WriteText(w, prev)
}

// isTerminal reports whether w is a character device, such as a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
