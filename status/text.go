package status

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/syncline/syncline/internal/words"
	"github.com/syncline/syncline/topics"
)

// WriteText writes the report as one screen of text. With prev, an earlier
// report of the same task, it adds rates (offsets per second over the time
// between the two).
func (r *Report) WriteText(w io.Writer, prev *Report) error {
	var b strings.Builder
	fmt.Fprintf(&b, "task %q at %s\n", r.Prefix, r.At.UTC().Format("2006-01-02 15:04:05 UTC"))
	b.WriteString(r.captureLine() + "\n")
	if r.Subjects >= 0 {
		fmt.Fprintf(&b, "registry: %s\n", words.Plural(r.Subjects, "subject", "subjects"))
	}
	dt := 0.0
	if prev != nil && prev.Prefix == r.Prefix {
		dt = r.At.Sub(prev.At).Seconds()
	}

	b.WriteString("\n")
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TABLE\tSTAGE\tTOPIC\tOFFSETS\tOFFSETS/S")
	if len(r.Tables) == 0 {
		fmt.Fprintln(tw, "(none yet)\t\t\t\t")
	}
	for _, t := range r.Tables {
		rate := "-"
		if pt, ok := prevTable(prev, t); ok && dt > 0 {
			rate = formatRate(float64(t.End-pt.End) / dt)
		}
		topic := t.Topic
		if topic == "" {
			topic = "(not created yet)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", t.Name, stageText(t), topic, formatCount(t.End), rate)
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	for _, g := range r.Groups {
		b.WriteString("\n")
		members := "members"
		if g.Members == 1 {
			members = "member"
		}
		lag, exact := g.Lag()
		fmt.Fprintf(&b, "group %q: %s, %d %s, lag %s\n", g.Name, orDash(g.State), g.Members, members, lagText(lag, exact))
		if g.Err != nil {
			fmt.Fprintf(&b, "  error: %v\n", g.Err)
			continue
		}
		tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "  TABLE\tCOMMITTED\tLAG\tOFFSETS/S")
		pg := prevGroup(prev, g.Name)
		for i, t := range r.Tables {
			gt := g.Tables[i]
			rate := "-"
			if pg != nil && dt > 0 {
				if j := tableIndex(prev, t); j >= 0 && j < len(pg.Tables) {
					rate = formatRate(float64(gt.Committed-pg.Tables[j].Committed) / dt)
				}
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", t.Name, formatCount(gt.Committed), lagText(gt.Lag, gt.Exact), rate)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if len(r.Groups) == 0 {
		b.WriteString("\nno apply consumer group has committed offsets yet\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// captureLine describes capture's state in one line.
func (r *Report) captureLine() string {
	c := r.Capture
	if c == nil {
		return "capture: no checkpoint yet (capture has not started, or has not committed its first transaction)"
	}
	cp := c.Checkpoint
	stage := "streaming"
	if n := c.Snapshotting(); n > 0 {
		stage = fmt.Sprintf("snapshotting (%d of %s left)", n, words.Plural(len(cp.Tables), "table", "tables"))
	}
	pos := cp.File + ":" + strconv.FormatUint(uint64(cp.Pos), 10)
	if cp.GTIDSet != "" {
		pos += " (gtid " + cp.GTIDSet + ")"
	}
	delay := "unknown"
	if cp.SourceTSMillis > 0 {
		delay = formatDuration(c.Delay)
	}
	if n := c.Parked(); n > 0 {
		stage += fmt.Sprintf(", %d parked (cannot be captured, see below)", n)
	}
	if c.Stalled {
		return fmt.Sprintf("capture %q: stalled for %s: no checkpoint since %s (last at %s, %s, delay %s then); capture is down or cannot reach Kafka or the source: see its log and /readyz",
			c.Name, formatDuration(c.Age), time.UnixMilli(cp.TSMillis).UTC().Format("2006-01-02 15:04:05 UTC"), pos, stage, delay)
	}
	return fmt.Sprintf("capture %q: %s at %s, delay %s, checkpoint %s ago", c.Name, stage, pos, delay, formatDuration(c.Age))
}

// stageText describes a table's stage.
func stageText(t Table) string {
	switch t.Stage {
	case topics.StageSnapshot:
		return "snapshot, " + formatCount(t.SnapshotRows) + " rows read"
	case topics.StageStreaming:
		return "streaming"
	case topics.StageParked:
		return "PARKED: " + t.Reason
	case "":
		return "not captured"
	}
	return t.Stage
}

func lagText(lag int64, exact bool) string {
	if exact {
		return formatCount(lag)
	}
	return "~" + formatCount(lag)
}

func prevTable(prev *Report, t Table) (Table, bool) {
	if i := tableIndex(prev, t); i >= 0 {
		return prev.Tables[i], true
	}
	return Table{}, false
}

func tableIndex(prev *Report, t Table) int {
	if prev == nil {
		return -1
	}
	for i, p := range prev.Tables {
		if p.Name == t.Name && p.Topic == t.Topic {
			return i
		}
	}
	return -1
}

func prevGroup(prev *Report, name string) *Group {
	if prev == nil {
		return nil
	}
	for i := range prev.Groups {
		if prev.Groups[i].Name == name {
			return &prev.Groups[i]
		}
	}
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// formatCount writes n with thousands separators.
func formatCount(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// formatRate writes a rate with one decimal below 100.
func formatRate(v float64) string {
	if v < 0 {
		v = 0
	}
	if v < 100 {
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return formatCount(int64(v + 0.5))
}

// formatDuration rounds d for people: 0.4s, 12s, 3m05s, 2h10m.
func formatDuration(d time.Duration) string {
	switch {
	case d < 10*time.Second:
		return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + "s"
	case d < time.Minute:
		return strconv.Itoa(int(d.Seconds())) + "s"
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	default:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
}
