package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// findingsHeading starts the part of docs/benchmarks.md that people write
// and WriteDoc keeps.
const findingsHeading = "## Findings"

// Report is the outcome of a Run.
type Report struct {
	// Started and Took time the run.
	Started time.Time
	Took    time.Duration
	// Config is the run's configuration, defaults filled in.
	Config  Config
	Machine Machine
	// Settings are server settings that differ from testenv's.
	Settings []string
	Results  []Result
}

// Machine describes where the run took place.
type Machine struct {
	// CPU is the processor's model name, Cores the CPUs Go sees.
	CPU   string
	Cores int
	// MemoryMiB is the machine's memory.
	MemoryMiB int64
	// OS is the distribution, kernel and GOOS/GOARCH.
	OS string
	// Go is the Go version the harness was built with.
	Go string
	// MariaDB, PostgreSQL and ClickHouse are the servers' versions as
	// they report them; Kafka describes the broker.
	MariaDB, PostgreSQL, ClickHouse, Kafka string
}

// describeMachine reads the machine's and the servers' descriptions; what
// cannot be read stays empty.
func describeMachine(ctx context.Context, h *harness) Machine {
	m := Machine{Cores: runtime.NumCPU(), Go: runtime.Version(), MariaDB: h.serverVersion()}
	m.CPU = procField("/proc/cpuinfo", "model name", ":")
	if m.CPU == "" {
		m.CPU = runtime.GOARCH
	}
	if kb, err := strconv.ParseInt(strings.Fields(procField("/proc/meminfo", "MemTotal", ":") + " 0")[0], 10, 64); err == nil {
		m.MemoryMiB = kb / 1024
	}
	m.OS = strings.Trim(procField("/etc/os-release", "PRETTY_NAME", "="), `"`)
	if kernel, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.OS = strings.TrimSpace(m.OS + ", Linux " + strings.TrimSpace(string(kernel)))
	}
	m.OS = strings.TrimPrefix(m.OS+" "+runtime.GOOS+"/"+runtime.GOARCH, " ")
	if conn, err := h.pgConn(ctx); err == nil {
		_ = conn.QueryRow(ctx, "SHOW server_version").Scan(&m.PostgreSQL)
		_ = conn.Close(context.WithoutCancel(ctx))
	}
	if conn, err := h.chConn(ctx); err == nil {
		_ = conn.QueryRow(ctx, "SELECT version()").Scan(&m.ClickHouse)
		_ = conn.Close()
	}
	m.Kafka = "kfake (in this process, its log on tmpfs), schema registry srfake"
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/twmb/franz-go/pkg/kfake" {
				m.Kafka = "kfake " + d.Version + " (in this process, its log on tmpfs), schema registry srfake"
			}
		}
	}
	return m
}

// procField returns the value of the first "key<sep>value" line of a file.
func procField(path, key, sep string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), sep)
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// ratioText is the ratio column of a result.
func (r Result) ratioText() string {
	if r.MinRatio == 0 || r.Status == Failed || r.Status == Pending || r.Status == Skipped {
		return "—"
	}
	return fmt.Sprintf("%.2f", r.Ratio)
}

// outcome is the last column of a result.
func (r Result) outcome() string {
	switch r.Status {
	case Failed, Pending, Skipped:
		return string(r.Status) + ": " + r.Err
	}
	return string(r.Status)
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// Text renders the results as a table for a terminal.
func (r *Report) Text() string {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "BENCHMARK\tSYNCLINE\tBASELINE\tRATIO\tTARGET\tRESULT")
	for _, res := range r.Results {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", res.Name, orDash(res.Syncline), orDash(res.Baseline), res.ratioText(), res.Target, res.outcome())
	}
	_ = w.Flush()
	return b.String()
}

// sizes describes the run's sizes.
func (r *Report) sizes() string {
	c := r.Config
	return fmt.Sprintf("%s row changes captured and applied, a %s-row snapshot, a %s-row transaction for memory, "+
		"delay phases of %s at %s and %s row changes/s; each throughput pair ran %d time(s) and the medians are shown",
		thousands(float64(c.Changes)), thousands(float64(c.SnapshotRows)), thousands(float64(c.MemoryRows)),
		c.Phase, thousands(float64(c.SlowRate)), thousands(float64(c.FastRate)), c.Repeat)
}

// mdCell escapes a table cell.
func mdCell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// Markdown renders the report, followed by findings (the kept part of the
// document, starting with its heading).
func (r *Report) Markdown(findings string) string {
	var b strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	p("# Benchmarks")
	p("")
	p("<!-- Written by `make bench` (`syncline bench`). Everything above %q is replaced by the next run; the findings below it are kept. -->", findingsHeading)
	p("")
	p("Run of %s, %s. Sizes: %s.", r.Started.UTC().Format("2006-01-02 15:04 MST"), r.Took.Round(time.Second), r.sizes())
	p("")
	p("Every Syncline figure is set against a baseline measured on the same servers in the same run, right before it; the ratio is the median of the pairs' ratios.")
	p("")
	p("## Machine")
	p("")
	p("| | |")
	p("|---|---|")
	m := r.Machine
	p("| CPU | %s, %d cores |", mdCell(m.CPU), m.Cores)
	p("| Memory | %.1f GiB |", float64(m.MemoryMiB)/1024)
	p("| OS | %s |", mdCell(orDash(m.OS)))
	p("| Go | %s |", m.Go)
	p("| MariaDB (source, MySQL target) | %s |", mdCell(orDash(m.MariaDB)))
	p("| PostgreSQL | %s |", mdCell(orDash(m.PostgreSQL)))
	p("| ClickHouse | %s |", mdCell(orDash(m.ClickHouse)))
	p("| Kafka | %s |", mdCell(m.Kafka))
	if len(r.Settings) > 0 {
		p("| Settings | %s |", mdCell(strings.Join(r.Settings, "; ")))
	}
	p("")
	p("## Results")
	p("")
	p("| Benchmark | Syncline | Baseline | Ratio | Target | Result |")
	p("|---|---|---|---|---|---|")
	for _, res := range r.Results {
		p("| %s | %s | %s | %s | %s | %s |", mdCell(res.Name), mdCell(orDash(res.Syncline)), mdCell(orDash(res.Baseline)),
			res.ratioText(), mdCell(res.Target), mdCell(res.outcome()))
	}
	p("")
	p("## Details")
	for _, res := range r.Results {
		p("")
		p("### %s", res.Name)
		p("")
		if res.BaselineName != "" {
			p("- Baseline: %s.", res.BaselineName)
		}
		for _, n := range res.Notes {
			p("- %s.", strings.TrimSuffix(n, "."))
		}
		for i, run := range res.Runs {
			p("- Run %d: %s.", i+1, run)
		}
		if len(res.Profiles) > 0 {
			p("- CPU profiles: %s.", "`"+strings.Join(res.Profiles, "`, `")+"`")
		}
		if res.Top != "" {
			p("")
			p("Target missed; the top of the last profile (`go tool pprof -top`, then `-top -cum`):")
			p("")
			p("```text")
			p("%s", res.Top)
			p("```")
		}
	}
	p("")
	p("## How each figure is measured")
	p("")
	for _, line := range methodNotes(r.Config) {
		p("- %s", line)
	}
	p("")
	b.WriteString(strings.TrimRight(findings, "\n") + "\n")
	return b.String()
}

// methodNotes explains the benchmarks.
func methodNotes(c Config) []string {
	return []string{
		"**Capture.** The source table is filled, captures are started on it so that each has a checkpoint, then the row changes are written: transactions of inserts of new rows, updates and deletes of older rows, no row changed twice. " +
			"Baseline: a go-mysql `BinlogSyncer` with capture's settings (ParseTime, UTC, 256 cached events) reads the same binlog range and decodes every row event, doing nothing else. " +
			"Syncline: `capture.Run` with its defaults resumes from its checkpoint; the time runs until a committed checkpoint covers the end of the range. Deletes also write tombstones (the default).",
		"**Snapshot.** Baseline: `SELECT *` of the table streamed row by row (`ExecuteSelectStreaming`) over a connection from `endpoint.DialMySQL`, as capture's snapshot uses, after one unmeasured scan that warms the buffer pool. " +
			"Syncline: a new capture with `--snapshot initial` and its defaults; the time runs until a committed checkpoint marks the table as streaming.",
		fmt.Sprintf("**Apply.** Syncline: `apply.Run` with its defaults (batches of %d rows, 4 tables at once, flush every 500 ms) and a new consumer group reads the captured change events from the start into an emptied target; the time runs until the group has committed the end of the topic, which apply does only after the target transaction committed. "+
			"Baseline: the same rows, one per event (the new row of an insert or update, the old row of a delete), generated in the process and inserted in transactions of %d rows into a plain table: prepared multi-row INSERTs of %d rows on MySQL, one COPY per batch on PostgreSQL, one native-protocol batch per INSERT on ClickHouse into a copy of the table apply creates (same types and engine, with the version and delete columns).",
			c.BatchRows, c.BatchRows, mysqlRowsPerStmt),
		"**Delay.** Capture and apply run with their defaults into MySQL. A writer commits a multi-row INSERT every 10 ms (at the lower rates, fewer rows less often) and notes when each commit returned; a poller reads `MAX(id)` of the target table every 2 ms and, when a transaction's last row shows, records now minus its commit. " +
			"Keeping up means the median of the last window is not above the first window's by more than max(250 ms, half the first).",
		fmt.Sprintf("**Memory.** The syncline binary is started as a child (`syncline capture ...`, then `syncline apply ...` into MySQL) while one %s-row source transaction passes; peak RSS is `VmHWM` from `/proc/<pid>/status`, read before the child is stopped with SIGTERM.",
			thousands(float64(c.MemoryRows))),
		"Kafka is kfake, in the bench process, so every Syncline run shares the CPU with the broker; the baselines do not use Kafka. " +
			"The broker keeps its log in files under /dev/shm (tmpfs) when the machine has it: kfake's in-memory store copies a segment again each time it grows, which cost the snapshot about a fifth of its samples.",
	}
}

// defaultFindings starts a new document's kept part.
const defaultFindings = findingsHeading + "\n\nWhat the profiles of missed targets show, and what was done about it. Written by people; `make bench` keeps this section.\n"

// WriteDoc writes the report to path, keeping the findings section of the
// file already there.
func WriteDoc(path string, r *Report) error {
	findings := defaultFindings
	old, err := os.ReadFile(path)
	switch {
	case err == nil:
		if i := strings.Index(string(old), "\n"+findingsHeading); i >= 0 {
			findings = string(old[i+1:])
		}
	case !errors.Is(err, fs.ErrNotExist):
		return err
	}
	return os.WriteFile(path, []byte(r.Markdown(findings)), 0o644)
}
