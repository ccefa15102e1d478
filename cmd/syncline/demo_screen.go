package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"golang.org/x/sys/unix"

	"github.com/syncline/syncline/internal/words"
	"github.com/syncline/syncline/status"
	"github.com/syncline/syncline/topics"
)

// ANSI sequences the demo's screen uses on a terminal: it redraws below
// the introduction, which stays.
const (
	saveCursor    = "\x1b[s"
	restoreAndCut = "\x1b[u\x1b[J"
)

// wideScreen is the terminal width from which the demo shows every column.
const wideScreen = 110

// demoState is what one refresh of the demo shows.
type demoState struct {
	at      time.Time
	running time.Duration
	done    int64 // workload transactions this run
	// stage is capture's stage in one word (starting, snapshotting,
	// streaming), capture its state in words, delay its delay.
	stage, capture, delay string
	tables                []demoTable
	applying              bool
}

// demoTable is one shop table's row.
type demoTable struct {
	name                             string // without the database
	stage                            string
	source, captured, kafka, ch, lag string
}

// show shows the task's state every interval until ctx ends: on a
// terminal as a screen redrawn under the introduction, fitted to its width;
// elsewhere (a pipe, a file) as one line per refresh.
func (d *demo) show(ctx context.Context, mon *status.Monitor) {
	term := isTerminal(d.out)
	if term {
		fmt.Fprint(d.out, saveCursor)
	}
	tick := time.NewTicker(d.interval)
	defer tick.Stop()
	failures := repeatLimiter{every: repeatEvery}
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		rep, err := mon.Collect(ctx)
		if err != nil {
			if ok, held := failures.allow(time.Now()); ok && ctx.Err() == nil {
				d.log.Warn("demo status", "err", err, "failures_since_last_line", held)
			}
			continue
		}
		failures.reset()
		st := d.state(ctx, rep)
		if term {
			width, height := terminalSize(d.out)
			var b strings.Builder
			st.writeScreen(&b, width, d.logPath)
			screen := b.String()
			if termRows(d.introText, width)+termRows(screen, width) < height {
				fmt.Fprint(d.out, restoreAndCut+screen)
			} else {
				// Too short for both: the screen alone, with the way
				// back to the introduction.
				head := fitLine("Console: "+d.consoleURL+"  Commands: "+filepath.Join(d.dir, demoCommandsFile), width)
				fmt.Fprint(d.out, clearScreen+head+"\n"+screen)
			}
		} else {
			st.writeLine(d.out)
		}
	}
}

// state gathers what a refresh shows.
func (d *demo) state(ctx context.Context, rep *status.Report) demoState {
	st := demoState{at: rep.At, running: time.Since(d.began), done: d.shop.done.Load(), stage: "starting", capture: "no checkpoint yet", delay: "-"}
	if c := rep.Capture; c != nil {
		st.stage, st.capture = "streaming", "streaming"
		if n := c.Snapshotting(); n > 0 {
			st.stage = "snapshotting"
			st.capture = fmt.Sprintf("snapshotting (%d of %s left)", n, words.Plural(len(c.Checkpoint.Tables), "table", "tables"))
		}
		if n := c.Parked(); n > 0 {
			st.capture += fmt.Sprintf(", %d parked", n)
		}
		st.capture += fmt.Sprintf(" at %s:%d", c.Checkpoint.File, c.Checkpoint.Pos)
		if c.Checkpoint.SourceTSMillis > 0 {
			st.delay = formatAge(c.Delay)
			if c.Delay < 10*time.Second {
				st.delay = fmt.Sprintf("%.1fs", c.Delay.Seconds())
			}
		}
	}
	srcRows, err := d.shop.counts(ctx)
	if err != nil {
		srcRows = nil
	}
	tgtRows := d.target.counts(ctx)
	captured := capturedRows(d.obs)
	var group *status.Group
	for i := range rep.Groups {
		group = &rep.Groups[i]
	}
	st.applying = group != nil
	for _, t := range shopTables {
		name := shopDB + "." + t
		row := demoTable{name: t, stage: "waiting", source: "-", captured: "-", kafka: "-", ch: "-", lag: "-"}
		for i, tb := range rep.Tables {
			if tb.Name != name {
				continue
			}
			row.stage = tb.Stage
			if row.stage == topics.StageSnapshot {
				row.stage = "snapshot " + formatThousands(tb.SnapshotRows)
			}
			row.kafka = formatThousands(tb.End)
			if group != nil && i < len(group.Tables) {
				row.lag = formatThousands(group.Tables[i].Lag)
				if !group.Tables[i].Exact {
					row.lag = "~" + row.lag
				}
			}
		}
		if n, ok := srcRows[name]; ok {
			row.source = formatThousands(n)
		}
		if n, ok := tgtRows[name]; ok {
			row.ch = formatThousands(n)
		}
		if c := captured[name]; c != "" {
			row.captured = c
		}
		st.tables = append(st.tables, row)
	}
	return st
}

// writeScreen writes the screen for a terminal width columns wide: every
// column from wideScreen on, else the columns that fit in 80; no line is
// longer than width.
func (st demoState) writeScreen(w io.Writer, width int, logPath string) {
	var b strings.Builder
	wide := width >= wideScreen
	fmt.Fprintf(&b, "Syncline demo: running %s, %s workload transactions this run\n", formatAge(st.running), formatThousands(st.done))
	fmt.Fprintf(&b, "capture: delay %s, %s\n\n", st.delay, st.capture)
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	if wide {
		fmt.Fprintln(tw, "TABLE\tSTAGE\tSOURCE ROWS\tCAPTURED THIS RUN\tIN KAFKA\tCLICKHOUSE ROWS\tAPPLY LAG")
	} else {
		fmt.Fprintln(tw, "TABLE\tSTAGE\tSOURCE\tKAFKA\tCLICKHOUSE\tLAG")
	}
	for _, t := range st.tables {
		name := t.name
		if wide {
			name = shopDB + "." + name
		}
		if wide {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", name, t.stage, t.source, t.captured, t.kafka, t.ch, t.lag)
		} else {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", name, t.stage, t.source, t.kafka, t.ch, t.lag)
		}
	}
	_ = tw.Flush()
	b.WriteString("\n")
	if wide {
		b.WriteString("CAPTURED THIS RUN: r snapshot reads, + inserts, ~ updates, - deletes. IN KAFKA: topic offsets (with commit markers).\n")
		b.WriteString("CLICKHOUSE ROWS: live rows (FINAL, deletes left out). APPLY LAG: change events not yet written to ClickHouse.\n")
	} else {
		b.WriteString("SOURCE: rows in MariaDB (database " + shopDB + "). KAFKA: topic offsets.\n")
		b.WriteString("CLICKHOUSE: live rows. LAG: changes not yet written to ClickHouse.\n")
	}
	if !st.applying {
		b.WriteString("This syncline cannot apply to ClickHouse (see the log); the target stays empty.\n")
	}
	b.WriteString("Ctrl-C stops it; run it again to continue.\nLog: " + logPath + "\n")
	for line := range strings.Lines(b.String()) {
		io.WriteString(w, fitLine(strings.TrimSuffix(line, "\n"), width)+"\n")
	}
}

// writeLine writes the state as one line:
// 15:04:05 capture streaming delay 0.4s | customers streaming source=1,000 ...
func (st demoState) writeLine(w io.Writer) {
	var b strings.Builder
	fmt.Fprintf(&b, "%s capture %s delay %s", st.at.UTC().Format("15:04:05"), st.stage, st.delay)
	for _, t := range st.tables {
		fmt.Fprintf(&b, " | %s %s source=%s kafka=%s clickhouse=%s lag=%s captured=%s",
			t.name, strings.ReplaceAll(t.stage, " ", ":"), t.source, t.kafka, t.ch, t.lag, strings.ReplaceAll(t.captured, " ", ""))
	}
	b.WriteString("\n")
	io.WriteString(w, b.String())
}

// fitLine cuts s to width columns, ending it with … when cut.
func fitLine(s string, width int) string {
	if utf8.RuneCountInString(s) <= width {
		return s
	}
	r := []rune(s)
	return string(r[:width-1]) + "…"
}

// terminalSize returns the width and height of the terminal w is, 80 by
// 24 when unknown.
func terminalSize(w io.Writer) (width, height int) {
	width, height = 80, 24
	if f, ok := w.(*os.File); ok {
		if ws, err := unix.IoctlGetWinsize(int(f.Fd()), unix.TIOCGWINSZ); err == nil && ws.Col > 0 && ws.Row > 0 {
			width, height = int(ws.Col), int(ws.Row)
		}
	}
	return width, height
}

// termRows counts the terminal rows text takes at width, wrapped lines
// included.
func termRows(text string, width int) int {
	n := 0
	for line := range strings.Lines(text) {
		n += max(1, (utf8.RuneCountInString(strings.TrimSuffix(line, "\n"))+width-1)/width)
	}
	return n
}
