package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/syncline/syncline/fault"
	"github.com/syncline/syncline/testenv"
)

// process is syncline running as a process of its own.
type process struct {
	cmd          *exec.Cmd
	stdout, errb bytes.Buffer
	done         chan struct{}
}

// startProcess runs syncline with args as a process (the test binary
// running main).
func startProcess(t *testing.T, args ...string) *process {
	t.Helper()
	p := &process{cmd: exec.Command(os.Args[0], args...), done: make(chan struct{})}
	p.cmd.Env = append(os.Environ(), mainEnv+"=1")
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.errb
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
	})
	return p
}

// wait waits up to d for the process to exit and returns its status.
func (p *process) wait(t *testing.T, d time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(d):
		t.Fatalf("syncline did not exit within %s; stderr:\n%s", d, p.errb.String())
		return -1
	}
}

// serviceSettings reads the [Service] section of a systemd unit of
// deploy/systemd.
func serviceSettings(t *testing.T, unit string) map[string][]string {
	t.Helper()
	f, err := os.Open(repoPath("deploy", "systemd", unit))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string][]string{}
	section := ""
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "["):
			section = line
		case section == "[Service]" && line != "" && !strings.HasPrefix(line, "#"):
			k, v, _ := strings.Cut(line, "=")
			out[k] = append(out[k], v)
		}
	}
	return out
}

// systemdRestarts says whether systemd restarts a service that exited with
// code, as its Restart= and RestartPreventExitStatus= settings decide
// (systemd.service(5); a process that exits is never abnormal).
func systemdRestarts(t *testing.T, svc map[string][]string, code int) bool {
	t.Helper()
	for _, line := range svc["RestartPreventExitStatus"] {
		for _, f := range strings.Fields(line) {
			if f == strconv.Itoa(code) {
				return false
			}
		}
	}
	restart := "no"
	if r := svc["Restart"]; len(r) > 0 {
		restart = r[len(r)-1]
	}
	switch restart {
	case "always":
		return true
	case "on-failure":
		return code != 0
	case "on-success":
		return code == 0
	case "no", "on-abnormal", "on-abort", "on-watchdog":
		return false
	}
	t.Fatalf("unknown Restart=%s", restart)
	return false
}

// TestCapturePermanentFaultExits3 runs syncline capture as a process with a
// user that lacks REPLICATION SLAVE: it exits with status 3 and one line
// naming the GRANT, and the shipped systemd unit does not restart it (while
// it does restart a run that failed with status 1).
func TestCapturePermanentFaultExits3(t *testing.T) {
	src := testenv.Source(t)
	k := testenv.Kafka(t)
	db := src.NewDatabase(t)
	src.Exec(t, "CREATE TABLE `"+db+"`.t (id INT PRIMARY KEY)")
	user := "c" + strconv.FormatInt(time.Now().UnixNano()%1e9, 36)
	account := fmt.Sprintf("'%s'@'%%'", user)
	src.Exec(t, "CREATE USER "+account+" IDENTIFIED BY '"+password+"'")
	t.Cleanup(func() { src.Exec(t, "DROP USER "+account) })
	src.Exec(t, "GRANT BINLOG MONITOR ON *.* TO "+account)
	src.Exec(t, "GRANT SELECT ON `"+db+"`.* TO "+account)

	p := startProcess(t, "capture",
		"--source", fmt.Sprintf("mysql://%s:%s@%s/", user, password, src.Addr()),
		"--tables", db+".*", "--brokers", k.BrokersString(), "--registry", k.RegistryURL,
		"--topic-prefix", strings.ReplaceAll(db, ".", "_"), "--log-level", "warn")
	code := p.wait(t, time.Minute)
	stderr := p.errb.String()
	if code != fault.ExitPermanent {
		t.Fatalf("exit status %d, want %d; stderr:\n%s", code, fault.ExitPermanent, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	last := lines[len(lines)-1]
	if !strings.HasPrefix(last, "syncline: ") || !strings.Contains(last, "GRANT REPLICATION SLAVE ON *.* TO '"+user+"'") {
		t.Errorf("last line %q: want the one-line error with the GRANT", last)
	}
	if strings.Contains(stderr, password) {
		t.Errorf("stderr shows the password")
	}

	svc := serviceSettings(t, "syncline-capture.service")
	if systemdRestarts(t, svc, code) {
		t.Errorf("the systemd unit restarts capture after exit status %d (Restart=%v RestartPreventExitStatus=%v)", code, svc["Restart"], svc["RestartPreventExitStatus"])
	}
	if !systemdRestarts(t, svc, exitFailed) {
		t.Errorf("the systemd unit does not restart capture after exit status %d", exitFailed)
	}
	for _, unit := range []string{"syncline-capture.service", "syncline-apply@.service"} {
		svc := serviceSettings(t, unit)
		for _, c := range []int{exitUsage, exitPermanent} {
			if systemdRestarts(t, svc, c) {
				t.Errorf("%s restarts after exit status %d", unit, c)
			}
		}
	}
}

// TestCaptureReadyzWhileKafkaDown runs syncline capture as a process whose
// Kafka is not there: /readyz answers 503 naming Kafka, the retry and
// failing metrics rise, and SIGTERM still stops it cleanly.
func TestCaptureReadyzWhileKafkaDown(t *testing.T) {
	src := testenv.Source(t)
	db := src.NewDatabase(t)
	src.Exec(t, "CREATE TABLE `"+db+"`.t (id INT PRIMARY KEY)")
	brokers := fmt.Sprintf("127.0.0.1:%d", testenv.ClosedPort(t))
	addr := fmt.Sprintf("127.0.0.1:%d", freePorts(t, 1)[0])
	p := startProcess(t, "capture", "--source", src.URL(""), "--tables", db+".*",
		"--brokers", brokers, "--registry", "http://127.0.0.1:1", "--metrics-addr", addr,
		"--topic-prefix", strings.ReplaceAll(db, ".", "_"), "--log-level", "warn")

	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	metric := func(body, name string) float64 {
		m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + ` (\S+)$`).FindStringSubmatch(body)
		if m == nil {
			return -1
		}
		v, _ := strconv.ParseFloat(m[1], 64)
		return v
	}
	var body string
	waitUntil(t, 30*time.Second, "two retries in /metrics", func() bool {
		_, body = get("/metrics")
		return metric(body, "syncline_capture_retries_total") >= 2
	})
	if v := metric(body, "syncline_capture_failing_seconds"); v <= 0 {
		t.Errorf("failing_seconds %v while retrying", v)
	}
	if !strings.Contains(body, `syncline_capture_last_error_class{class="kafka",table=""} 1`) {
		t.Errorf("/metrics has no last_error_class kafka:\n%s", grepLines(body, "syncline_capture_"))
	}
	code, ready := get("/readyz")
	if code != http.StatusServiceUnavailable || !strings.Contains(ready, "not ready: capture: failing since") ||
		!strings.Contains(ready, "retrying (kafka)") || !strings.Contains(ready, brokers) || strings.Count(strings.TrimSpace(ready), "\n") != 0 {
		t.Errorf("/readyz while Kafka is down: %d %q; want 503 and one line naming Kafka at %s", code, ready, brokers)
	}
	if !strings.Contains(p.errb.String(), "capture failing; restarting from the last checkpoint") {
		t.Errorf("no WARN line about the failure in the log:\n%s", p.errb.String())
	}

	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	if code := p.wait(t, 30*time.Second); code != exitOK {
		t.Errorf("SIGTERM while retrying: exit %d, want 0; stderr:\n%s", code, p.errb.String())
	}
}

// grepLines returns the lines of s that contain sub.
func grepLines(s, sub string) string {
	var out []string
	for line := range strings.Lines(s) {
		if strings.Contains(line, sub) {
			out = append(out, strings.TrimRight(line, "\n"))
		}
	}
	return strings.Join(out, "\n")
}
