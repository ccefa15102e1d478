package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/syncline/syncline/endpoint"
	"github.com/syncline/syncline/internal/event"
)

const (
	// memoryLimitMB is the goal for each process's peak RSS.
	memoryLimitMB = 300
	// childTimeout bounds one child's run.
	childTimeout = 15 * time.Minute
	// childStopTimeout bounds a child's clean exit after SIGTERM.
	childStopTimeout = 30 * time.Second
)

// memoryBench is benchmark 6: the peak resident memory of capture and of
// apply, each a syncline process of its own, while one large source
// transaction passes through.
func (h *harness) memoryBench(ctx context.Context) []Result {
	n := h.cfg.MemoryRows
	capRes := Result{
		Name: fmt.Sprintf("Peak RSS of capture, one %s-row transaction", thousands(float64(n))),
		Key:  "memory-capture", Target: fmt.Sprintf("< %d MB", memoryLimitMB),
	}
	appRes := Result{
		Name: "Peak RSS of apply to MySQL, the same rows",
		Key:  "memory-apply", Target: fmt.Sprintf("< %d MB", memoryLimitMB),
	}
	if h.cfg.Self == "" {
		capRes.Status, capRes.Err = Skipped, "no syncline binary to run"
		appRes.Status, appRes.Err = Skipped, "no syncline binary to run"
		return []Result{capRes, appRes}
	}
	fail := func(err error) []Result { return []Result{capRes.failed(err), appRes.failed(err)} }
	if err := h.sourceExec("CREATE TABLE " + h.table("big") + " (" + tableColumns + ")"); err != nil {
		return fail(err)
	}
	prefix := h.prefix("mem")
	if err := h.startCheckpoint(ctx, prefix, "big"); err != nil {
		return fail(fmt.Errorf("first checkpoint: %w", err))
	}
	began := time.Now()
	if err := h.sourceExec(fmt.Sprintf("INSERT INTO %s SELECT %s FROM %s", h.table("big"), rowSelect("seq"), seqTable(h.cfg.Database, 1, int64(n)))); err != nil {
		return fail(err)
	}
	end, err := h.masterPos()
	if err != nil {
		return fail(err)
	}
	h.progress("wrote one %d-row transaction in %s", n, time.Since(began).Round(time.Millisecond))

	dir, err := os.MkdirTemp("", "syncline-bench-")
	if err != nil {
		return fail(err)
	}
	defer os.RemoveAll(dir)
	srcURL, srcPass, err := passwordless(h.src, filepath.Join(dir, "source.pw"))
	if err != nil {
		return fail(err)
	}
	tgtURL, tgtPass, err := passwordless(h.tgt, filepath.Join(dir, "target.pw"))
	if err != nil {
		return fail(err)
	}
	kafkaArgs := []string{
		"--brokers", strings.Join(h.srv.Kafka.Brokers, ","), "--registry", h.srv.Kafka.RegistryURL,
		"--topic-prefix", prefix, "--log-level", "warn", "--retry-window", "1m",
	}

	capArgs := append([]string{"capture", "--source", srcURL, "--source-password-file", srcPass,
		"--tables", h.cfg.Database + ".big", "--snapshot", "never"}, kafkaArgs...)
	peak, took, err := h.runChild(ctx, capArgs, func(ctx context.Context) error {
		return h.kafka.waitCheckpoint(ctx, prefix, caughtUp(end))
	})
	if err != nil {
		return fail(fmt.Errorf("capture: %w", err))
	}
	capRes = memoryResult(capRes, peak, n, took)
	h.progress("capture: peak RSS %d MB, %s", peak, took.Round(time.Millisecond))

	if err := h.resetMySQL(ctx); err != nil {
		return []Result{capRes, appRes.failed(err)}
	}
	topic := event.Names{Prefix: prefix}.Table(h.cfg.Database, "big")
	want, err := h.kafka.appliedOffset(ctx, topic)
	if err != nil {
		return []Result{capRes, appRes.failed(err)}
	}
	group := prefix + "-mysql"
	appArgs := append([]string{"apply", "--target", tgtURL, "--target-password-file", tgtPass, "--group", group}, kafkaArgs...)
	peak, took, err = h.runChild(ctx, appArgs, func(ctx context.Context) error {
		return h.kafka.waitGroup(ctx, group, topic, want)
	})
	if err != nil {
		return []Result{capRes, appRes.failed(fmt.Errorf("apply: %w", err))}
	}
	appRes = memoryResult(appRes, peak, n, took)
	h.progress("apply: peak RSS %d MB, %s", peak, took.Round(time.Millisecond))
	_ = h.kafka.deletePrefix(ctx, prefix)
	return []Result{capRes, appRes}
}

// memoryResult fills in a memory line.
func memoryResult(res Result, peakMB int64, rows int, took time.Duration) Result {
	res.Syncline = fmt.Sprintf("%d MB", peakMB)
	res.Status = Met
	if peakMB >= memoryLimitMB {
		res.Status = Missed
	}
	res.Notes = append(res.Notes, fmt.Sprintf("%s rows passed in %s (%s rows/s); VmHWM of the process, read from /proc before it was stopped",
		thousands(float64(rows)), took.Round(time.Millisecond), thousands(float64(rows)/took.Seconds())))
	return res
}

// passwordless returns the endpoint's URL without its password, and a file
// holding the password, so that no password shows on a command line.
func passwordless(e endpoint.Endpoint, file string) (rawURL, passwordFile string, err error) {
	if err := os.WriteFile(file, []byte(e.Password.Reveal()+"\n"), 0o600); err != nil {
		return "", "", err
	}
	u, err := url.Parse(e.URL())
	if err != nil {
		return "", "", err
	}
	u.User = url.User(e.User)
	return u.String(), file, nil
}

// runChild runs the syncline binary with args until done returns, reads
// the child's peak RSS, and stops it with SIGTERM.
func (h *harness) runChild(ctx context.Context, args []string, done func(context.Context) error) (peakMB int64, took time.Duration, err error) {
	cmd := exec.Command(h.cfg.Self, args...)
	cmd.Env = childEnv()
	cmd.SysProcAttr = childAttr()
	out := &tailBuffer{max: 8 << 10}
	cmd.Stdout, cmd.Stderr = out, out
	began := time.Now()
	if err := cmd.Start(); err != nil {
		return 0, 0, err
	}
	watch, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	exited := make(chan error, 1)
	go func() {
		err := cmd.Wait()
		cancel(fmt.Errorf("syncline %s exited early (%v): %s", args[0], err, out.String()))
		exited <- err
	}()
	wctx, wcancel := context.WithTimeout(watch, childTimeout)
	err = done(wctx)
	wcancel()
	took = time.Since(began)
	if err == nil {
		peakMB, err = peakRSS(cmd.Process.Pid)
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	var exitErr error
	select {
	case exitErr = <-exited:
	case <-time.After(childStopTimeout):
		_ = cmd.Process.Kill()
		exitErr = errors.Join(<-exited, fmt.Errorf("did not stop within %s of SIGTERM", childStopTimeout))
	}
	if err == nil && exitErr != nil {
		err = fmt.Errorf("syncline %s: %v: %s", args[0], exitErr, out.String())
	}
	return peakMB, took, err
}

// childEnv is this process's environment without syncline's own
// variables, which would change the child's flags.
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "SYNCLINE_") {
			env = append(env, kv)
		}
	}
	return env
}

// peakRSS returns a running process's peak resident set size in MiB:
// VmHWM of /proc/<pid>/status, which counts the process's own memory since
// its exec (getrusage's maxrss of a child would include this process's
// memory at the fork).
func peakRSS(pid int) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, fmt.Errorf("peak RSS: %w", err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("peak RSS: %q: %w", line, err)
			}
			return kb / 1024, nil
		}
	}
	return 0, errors.New("peak RSS: no VmHWM in /proc status")
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf bytes.Buffer
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf.Write(p)
	if over := t.buf.Len() - t.max; over > 0 {
		t.buf.Next(over)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return oneLine(t.buf.String())
}
