package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"time"
)

// Status is the outcome of one benchmark against its target.
type Status string

// The statuses.
const (
	Met     Status = "met"
	Missed  Status = "missed"
	Failed  Status = "failed"  // it could not run; Result.Err says why
	Pending Status = "pending" // a part it needs is not built yet
	Skipped Status = "skipped" // not asked for
)

// Result is one line of the report.
type Result struct {
	// Name says what was measured.
	Name string
	// Key names its CPU profiles.
	Key string
	// BaselineName says what the baseline did; empty for benchmarks
	// without one.
	BaselineName string
	// Target is the goal, as text.
	Target string
	// MinRatio is the goal of a ratio benchmark.
	MinRatio float64
	// Syncline and Baseline are the medians (rows/s) or the measured
	// values, as text.
	Syncline, Baseline string
	// Ratio is the median of the pairs' ratios of a ratio benchmark.
	Ratio  float64
	Status Status
	// Runs describes each repetition.
	Runs []string
	// Notes are remarks on the workload or the outcome.
	Notes []string
	// Profiles are the CPU profiles of the measured runs.
	Profiles []string
	// Top is the top of the last profile, when the target was missed.
	Top string
	// Err is why the benchmark failed.
	Err string

	pairs []pair
}

// pair is one baseline run and the Syncline run after it, in rows/s.
type pair struct{ baseline, syncline float64 }

func (p pair) ratio() float64 { return p.syncline / p.baseline }

func (p pair) String() string {
	return fmt.Sprintf("Syncline %s rows/s, baseline %s rows/s, ratio %.2f", thousands(p.syncline), thousands(p.baseline), p.ratio())
}

// failed marks the result as failed with err.
func (r Result) failed(err error) Result {
	r.Status, r.Err = Failed, oneLine(err.Error())
	return r
}

// add records one pair and the profile of its Syncline run.
func (r *Result) add(p pair, profile string) {
	r.pairs = append(r.pairs, p)
	r.Runs = append(r.Runs, p.String())
	if profile != "" {
		r.Profiles = append(r.Profiles, profile)
	}
}

// finish computes the medians and the status of a ratio benchmark, and
// reads the top of the last profile when the target was missed.
func (r Result) finish(ctx context.Context) Result {
	var base, syn, ratio []float64
	for _, p := range r.pairs {
		base = append(base, p.baseline)
		syn = append(syn, p.syncline)
		ratio = append(ratio, p.ratio())
	}
	r.Baseline = thousands(median(base)) + " rows/s"
	r.Syncline = thousands(median(syn)) + " rows/s"
	r.Ratio = median(ratio)
	r.Status = Met
	if r.Ratio < r.MinRatio {
		r.Status = Missed
	}
	r.readTop(ctx)
	return r
}

// readTop fills Top from the last profile when the target was missed.
func (r *Result) readTop(ctx context.Context) {
	if r.Status != Missed || len(r.Profiles) == 0 {
		return
	}
	r.Top = profileTop(ctx, r.Profiles[len(r.Profiles)-1])
}

// repeatBudget is how long a benchmark's pairs may take before no more
// are started.
const repeatBudget = 90 * time.Second

// morePairs reports whether pair i (from 0) of a benchmark whose pairs
// began at began should run: the first always does, the others up to
// Repeat while the pairs so far took under repeatBudget.
func (h *harness) morePairs(i int, began time.Time) bool {
	return i == 0 || (i < h.cfg.Repeat && time.Since(began) < repeatBudget)
}

// repeatNote says why fewer pairs than asked for ran.
func repeatNote(ran int) string {
	return fmt.Sprintf("%d pair(s) ran: the pairs had taken over %s", ran, repeatBudget)
}

// median returns the median of xs (the mean of the middle two for an even
// count), 0 for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// thousands formats a rate as an integer with thousands separators.
func thousands(v float64) string {
	s := fmt.Sprintf("%.0f", v)
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

// oneLine folds a message onto one line.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// profilePath returns the file of a named CPU profile, "" when profiles
// are off.
func (h *harness) profilePath(name string) string {
	if h.cfg.ProfileDir == "" || name == "" {
		return ""
	}
	return filepath.Join(h.cfg.ProfileDir, name+".pprof")
}

// startProfile starts a CPU profile of this process into the named file
// and returns the function that ends it. Without a profile directory, or
// when a profile is already running, it does nothing.
func (h *harness) startProfile(name string) (stop func()) {
	path := h.profilePath(name)
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		h.log.Warn("cannot write CPU profile", "file", path, "err", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		_ = f.Close()
		_ = os.Remove(path)
		h.log.Warn("cannot start CPU profile", "err", err)
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		_ = f.Close()
	}
}

// profileTop returns the top functions of a CPU profile by flat time, as
// go tool pprof prints them, or a line saying how to read it.
func profileTop(ctx context.Context, path string) string {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "read it with: go tool pprof -top " + path
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	var parts []string
	for _, args := range [][]string{{"-top", "-nodecount=15"}, {"-top", "-cum", "-nodecount=25"}} {
		out, err := exec.CommandContext(ctx, goBin, append(append([]string{"tool", "pprof"}, args...), path)...).Output()
		if err != nil {
			return "go tool pprof -top " + path + ": " + err.Error()
		}
		// Keep the summary lines and the table; drop the file and build
		// header pprof prints first (and the summary the second time).
		lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
		for i, l := range lines {
			if (len(parts) == 0 && strings.HasPrefix(l, "Duration:")) || (len(parts) > 0 && strings.HasPrefix(l, "      flat")) {
				lines = lines[i:]
				break
			}
		}
		parts = append(parts, strings.Join(lines, "\n"))
	}
	return strings.Join(parts, "\n\nBy cumulative time:\n")
}
