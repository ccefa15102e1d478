// Package servers starts real servers for the demo, the benchmarks and the
// tests: MariaDB (a binlog source and a MySQL-compatible target),
// PostgreSQL, ClickHouse, and an in-process Kafka cluster (kfake) with a
// Confluent-compatible schema registry (srfake), plus the
// pt-online-schema-change runner.
//
// Each server runs as a child process in its own directory and listens on a
// free 127.0.0.1 port; nothing touches the system servers on the standard
// ports. The Launch functions start a server in a directory chosen by the
// caller and return it with a Close method; the LaunchXInTemp functions
// start one in a new temporary directory and return the function that stops
// it and removes the directory.
//
// A missing server binary is reported with the name of the Debian package to
// install. Child processes get SIGKILL when the process that started them
// dies, so a crashed or killed program leaves no servers behind (only its
// temporary directories, which RemoveStaleDirs deletes later).
//
// The package does not import testing, so that the syncline binary can use
// it; package testenv is the testing.TB layer on top of it.
package servers

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
	"time"
)

const (
	// localhost is the only address the servers listen on.
	localhost = "127.0.0.1"
	// StartTimeout bounds how long a server may take to accept connections.
	StartTimeout = 30 * time.Second
	// pollInterval is the pause between readiness probes.
	pollInterval = 25 * time.Millisecond
)

// spawner starts child processes from one permanent OS thread; see spawn.
type spawner struct {
	once sync.Once
	reqs chan spawnRequest
}

// spawnRequest asks the spawner goroutine to start a command.
type spawnRequest struct {
	cmd  *exec.Cmd
	errc chan error
}

// children is the process's one spawner: Pdeathsig ties every child to the
// thread that forked it, so there must be a single such thread per process.
var children spawner

const (
	// tempDirPrefix starts the name of every temporary server directory.
	tempDirPrefix = "syncline-testenv-"
	// ownerFile, in a temporary server directory, holds the owner's pid.
	ownerFile = "testenv.pid"
)

// TempDir creates a fresh temporary directory for a server called name and
// records this process as its owner, so that RemoveStaleDirs deletes it once
// this process is gone. It lives directly under the
// system temporary directory so that paths stay short (unix socket paths are
// limited to 107 bytes) and so that a server running as another user can
// reach it.
func TempDir(name string) (string, error) {
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

// launchInTemp runs launch in a new temporary directory for the server
// called name (see TempDir) and returns the server and a function that
// closes it and removes the directory. The directory is removed at once
// when launch fails.
func launchInTemp[S interface{ Close() error }](name string, launch func(dir string) (S, error)) (S, func() error, error) {
	var zero S
	dir, err := TempDir(name)
	if err != nil {
		return zero, nil, err
	}
	srv, err := launch(dir)
	if err != nil {
		_ = os.RemoveAll(dir)
		return zero, nil, err
	}
	return srv, func() error {
		err := srv.Close()
		if rmErr := os.RemoveAll(dir); err == nil {
			err = rmErr
		}
		return err
	}, nil
}

// RemoveStaleDirs deletes the temporary server directories (TempDir) left
// behind by processes that were killed (their servers died with them).
func RemoveStaleDirs() {
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
func (sp *spawner) spawn(cmd *exec.Cmd) error {
	sp.once.Do(func() {
		sp.reqs = make(chan spawnRequest)
		go runSpawner(sp.reqs)
	})
	req := spawnRequest{cmd: cmd, errc: make(chan error, 1)}
	sp.reqs <- req
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

// prepareDir makes dir absolute and creates it if missing, for a server of
// the given kind, and generates the password of the server's administrator.
func prepareDir(kind, dir string) (absDir, password string, err error) {
	if absDir, err = filepath.Abs(dir); err != nil {
		return "", "", err
	}
	if err := os.MkdirAll(absDir, 0o755); err != nil {
		return "", "", fmt.Errorf("%s dir: %w", kind, err)
	}
	if password, err = randomPassword(); err != nil {
		return "", "", err
	}
	return absDir, password, nil
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
	if err := children.spawn(cmd); err != nil {
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
	ctx, cancel := context.WithTimeout(ctx, StartTimeout)
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
