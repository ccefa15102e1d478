// Package testenv starts real servers for tests, benchmarks and the demo:
// MariaDB (a binlog source and a MySQL-compatible target), PostgreSQL,
// ClickHouse, and an in-process Kafka cluster (kfake) with a
// Confluent-compatible schema registry (srfake).
//
// Each server runs as a child process in its own directory and listens on a
// free 127.0.0.1 port; nothing touches the system servers on the standard
// ports.
//
// In tests, wire the package into TestMain and ask for servers by name:
//
//	func TestMain(m *testing.M) { os.Exit(testenv.Run(m)) }
//
//	func TestX(t *testing.T) {
//		src := testenv.Source(t)
//		db := src.NewDatabase(t)
//		src.Exec(t, "CREATE TABLE "+db+".t (id INT PRIMARY KEY)")
//	}
//
// Source, Target, Postgres, ClickHouse and Kafka return servers shared by
// every test of the package: each starts on first use, at most once per test
// binary, and Run stops them and removes their directories when the tests
// end. Tests keep out of each other's way by working in their own database
// (NewDatabase) and their own topics. StartMariaDB and NewKafka start private
// servers that are stopped when the test ends.
//
// Outside tests (for example the demo command), the Launch functions start
// the same servers in a directory chosen by the caller and return them with a
// Close method.
//
// A missing server binary fails the test with the name of the Debian package
// to install; tests never skip. Child processes get SIGKILL when the process
// that started them dies, so a crashed or killed test binary leaves no
// servers behind (only its temporary directories).
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	// localhost is the only address the servers listen on.
	localhost = "127.0.0.1"
	// startTimeout bounds how long a server may take to accept connections.
	startTimeout = 30 * time.Second
	// pollInterval is the pause between readiness probes.
	pollInterval = 25 * time.Millisecond
	// maxDBNameBase is the longest sanitized test name used in database names.
	maxDBNameBase = 50
)

// environment is the package's only mutable state: the servers shared by the
// tests of one test binary, the database name counter, and the goroutine that
// starts child processes.
type environment struct {
	mu      sync.Mutex
	running bool             // Run is active; shared servers may be started
	slots   map[string]*slot // shared servers by name
	order   []*slot          // shared servers in start order
	dbSeq   int              // last suffix used by uniqueName

	spawnOnce sync.Once
	spawnc    chan spawnRequest
}

// slot holds one shared server once its start has finished.
type slot struct {
	name  string
	ready chan struct{} // closed when val or err is set
	val   any
	err   error
	close func() error
}

// spawnRequest asks the spawner goroutine to start a command.
type spawnRequest struct {
	cmd  *exec.Cmd
	errc chan error
}

// env is the package's only mutable state; see environment.
var env environment

// Run runs the tests of m, then stops every shared server the tests started
// and removes its directory. Call it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(testenv.Run(m)) }
//
// Run returns m.Run's exit code, or 1 if the tests passed but a server failed
// to stop cleanly.
func Run(m *testing.M) int {
	removeStaleDirs()
	env.mu.Lock()
	env.running = true
	env.mu.Unlock()

	code := m.Run()

	env.mu.Lock()
	env.running = false
	slots := env.order
	env.order = nil
	env.slots = nil
	env.mu.Unlock()

	errs := make([]error, len(slots))
	var wg sync.WaitGroup
	for i, s := range slots {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-s.ready
			if s.close != nil {
				if err := s.close(); err != nil {
					errs[i] = fmt.Errorf("stop shared %s: %w", s.name, err)
				}
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		fmt.Fprintln(os.Stderr, "testenv:", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// shared returns the shared server called name, starting it with launch on
// first use. launch returns the server and the function that stops it and
// removes its files.
func shared[T any](t testing.TB, name string, launch func(ctx context.Context) (T, func() error, error)) T {
	t.Helper()
	env.mu.Lock()
	if !env.running {
		env.mu.Unlock()
		t.Fatalf("testenv: shared %s requested outside testenv.Run; add func TestMain(m *testing.M) { os.Exit(testenv.Run(m)) } to the package", name)
	}
	if env.slots == nil {
		env.slots = make(map[string]*slot)
	}
	s, ok := env.slots[name]
	if !ok {
		s = &slot{name: name, ready: make(chan struct{})}
		env.slots[name] = s
		env.order = append(env.order, s)
	}
	env.mu.Unlock()

	if !ok {
		ctx, cancel := context.WithTimeout(context.Background(), 2*startTimeout)
		began := time.Now()
		val, closeFn, err := launch(ctx)
		cancel()
		s.val, s.close, s.err = val, closeFn, err
		close(s.ready)
		if err == nil {
			t.Logf("testenv: started shared %s in %s", name, time.Since(began).Round(time.Millisecond))
		}
	}
	<-s.ready
	if s.err != nil {
		t.Fatalf("testenv: start shared %s: %v", name, s.err)
	}
	return s.val.(T)
}

const (
	// tempDirPrefix starts the name of every temporary server directory.
	tempDirPrefix = "syncline-testenv-"
	// ownerFile, in a temporary server directory, holds the owner's pid.
	ownerFile = "testenv.pid"
)

// sharedDir creates a fresh temporary directory for a shared or private
// server and records this process as its owner. It lives directly under the
// system temporary directory so that paths stay short (unix socket paths are
// limited to 107 bytes) and so that a server running as another user can
// reach it.
func sharedDir(name string) (string, error) {
	dir, err := os.MkdirTemp("", tempDirPrefix+name+"-")
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, ownerFile), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		_ = os.RemoveAll(dir)
		return "", err
	}
	return dir, nil
}

// removeStaleDirs deletes the temporary server directories left behind by
// test processes that were killed (their servers died with them).
func removeStaleDirs() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), tempDirPrefix+"*"))
	for _, dir := range dirs {
		data, err := os.ReadFile(filepath.Join(dir, ownerFile))
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
		if err != nil || pid <= 0 {
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			_ = os.RemoveAll(dir)
		}
	}
}

// spawn starts cmd from a goroutine locked to its OS thread that never exits.
//
// The child processes are started with Pdeathsig=SIGKILL, and Linux sends
// that signal when the thread that forked the child exits, not when the
// process does. Go retires threads whose locked goroutine ends and reuses
// others freely, so children started from arbitrary goroutines could be
// killed at a random moment. Starting every child from this one permanent
// thread means they die exactly when the test process does.
func (e *environment) spawn(cmd *exec.Cmd) error {
	e.spawnOnce.Do(func() {
		e.spawnc = make(chan spawnRequest)
		go runSpawner(e.spawnc)
	})
	req := spawnRequest{cmd: cmd, errc: make(chan error, 1)}
	e.spawnc <- req
	return <-req.errc
}

// runSpawner starts the commands it receives; it never returns, and its OS
// thread is never unlocked, so Pdeathsig fires only when the process exits.
func runSpawner(reqs <-chan spawnRequest) {
	runtime.LockOSThread()
	for req := range reqs {
		req.errc <- req.cmd.Start()
	}
}

// uniqueName returns a database name made from a test name: "t_", the name
// lowercased with every run of characters outside [a-z0-9_] turned into one
// underscore and cut to 50 characters, then "_" and a counter unique within
// the process.
func uniqueName(testName string) string {
	env.mu.Lock()
	env.dbSeq++
	n := env.dbSeq
	env.mu.Unlock()
	return fmt.Sprintf("t_%s_%d", sanitizeName(testName), n)
}

// sanitizeName lowercases s, maps every run of characters outside [a-z0-9_]
// to one underscore, trims underscores at both ends and cuts the result to
// maxDBNameBase characters.
func sanitizeName(s string) string {
	var b strings.Builder
	lastUnderscore := false
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
			lastUnderscore = false
		case !lastUnderscore:
			b.WriteByte('_')
			lastUnderscore = true
		}
	}
	out := strings.Trim(b.String(), "_")
	if len(out) > maxDBNameBase {
		out = strings.TrimRight(out[:maxDBNameBase], "_")
	}
	if out == "" {
		out = "test"
	}
	return out
}

// freePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(localhost, "0"))
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	if err := l.Close(); err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	return port, nil
}

// randomPassword returns 24 random hex characters, safe in URLs and DSNs.
func randomPassword() (string, error) {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate password: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// findBinary looks for the first of names in PATH, then in dirs. The error
// names the Debian package that provides the binary.
func findBinary(debianPackage string, names []string, dirs ...string) (string, error) {
	for _, name := range names {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	for _, dir := range dirs {
		for _, name := range names {
			p := filepath.Join(dir, name)
			if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
				return p, nil
			}
		}
	}
	return "", fmt.Errorf("%s not found in PATH or %s: install the Debian package %s (apt-get install %s)",
		strings.Join(names, " or "), strings.Join(dirs, ", "), debianPackage, debianPackage)
}

// globDirs returns the paths matching pattern in lexically descending order,
// so that /usr/lib/postgresql/16/bin comes before /usr/lib/postgresql/15/bin.
func globDirs(pattern string) []string {
	dirs, _ := filepath.Glob(pattern)
	sort.Sort(sort.Reverse(sort.StringSlice(dirs)))
	return dirs
}

// isPortClash reports whether a server log says its port was taken.
func isPortClash(log string) bool {
	return strings.Contains(log, "already in use")
}

// logTail returns the last lines of the files at paths, for error messages.
func logTail(paths ...string) string {
	const maxBytes = 4096
	var b strings.Builder
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			continue
		}
		fi, err := f.Stat()
		if err == nil && fi.Size() > maxBytes {
			_, _ = f.Seek(-maxBytes, io.SeekEnd)
		}
		data, _ := io.ReadAll(f)
		_ = f.Close()
		text := strings.TrimSpace(string(data))
		if text == "" {
			continue
		}
		lines := strings.Split(text, "\n")
		if len(lines) > 30 {
			lines = lines[len(lines)-30:]
		}
		fmt.Fprintf(&b, "\n--- tail of %s ---\n%s", p, strings.Join(lines, "\n"))
	}
	return b.String()
}

// process is one server running as a child process. It can be started again
// after it stopped.
type process struct {
	name        string   // binary name for messages
	path        string   // binary path
	args        []string // arguments
	cred        *syscall.Credential
	outPath     string   // the child's stdout and stderr are appended here
	logPaths    []string // files whose tail explains a failure
	stopSignal  syscall.Signal
	stopTimeout time.Duration

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
}

// start starts the process with args plus extra.
func (p *process) start(extra ...string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd != nil {
		return fmt.Errorf("%s is already running", p.name)
	}
	out, err := os.OpenFile(p.outPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("start %s: %w", p.name, err)
	}
	defer out.Close()
	cmd := exec.Command(p.path, append(append([]string(nil), p.args...), extra...)...)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Pdeathsig:  syscall.SIGKILL,
		Setpgid:    true, // a Ctrl-C in the terminal reaches the test or demo, not the servers
		Credential: p.cred,
	}
	if err := env.spawn(cmd); err != nil {
		return fmt.Errorf("start %s: %w", p.name, err)
	}
	done := make(chan struct{})
	p.cmd, p.done = cmd, done
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	return nil
}

// exited returns a channel closed when the running process exits, or nil
// when none runs.
func (p *process) exited() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.done
}

// stop sends the stop signal, waits up to stopTimeout, then kills the
// process group. Stopping a stopped process does nothing.
func (p *process) stop() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil {
		return nil
	}
	cmd, done := p.cmd, p.done
	p.cmd, p.done = nil, nil
	_ = cmd.Process.Signal(p.stopSignal)
	timer := time.NewTimer(p.stopTimeout)
	defer timer.Stop()
	select {
	case <-done:
		return nil
	case <-timer.C:
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	<-done
	return fmt.Errorf("%s did not stop within %s of %v and was killed%s", p.name, p.stopTimeout, p.stopSignal, logTail(p.logPaths...))
}

// waitReady calls probe until it succeeds, the process exits, or ctx ends.
func (p *process) waitReady(ctx context.Context, probe func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	exited := p.exited()
	var lastErr error
	for {
		pctx, pcancel := context.WithTimeout(ctx, 2*time.Second)
		lastErr = probe(pctx)
		pcancel()
		if lastErr == nil {
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("%s exited during startup%s", p.name, logTail(p.logPaths...))
		case <-ctx.Done():
			return fmt.Errorf("%s not ready: %w (last error: %v)%s", p.name, ctx.Err(), lastErr, logTail(p.logPaths...))
		case <-time.After(pollInterval):
		}
	}
}

// startAndWait starts p and waits for probe; on failure it stops p again.
func (p *process) startAndWait(ctx context.Context, probe func(ctx context.Context) error, extra ...string) error {
	if err := p.start(extra...); err != nil {
		return err
	}
	if err := p.waitReady(ctx, probe); err != nil {
		_ = p.stop()
		return err
	}
	return nil
}

// runningAsRoot reports whether this process runs as root.
func runningAsRoot() bool { return os.Geteuid() == 0 }
