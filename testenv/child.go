package testenv

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// childEnv holds, in a child process started by StartChild, the JSON spec
// the child runs with; its presence makes the test binary a child.
const childEnv = "SYNCLINE_TESTENV_CHILD"

// ChildMain makes the test binary a child process when StartChild started
// it: it decodes the spec StartChild was given into an S, calls main with a
// context that ends on SIGTERM or SIGINT, and exits with main's status (2
// when the spec does not decode). In a test process it returns at once.
// Call it first in TestMain (or in an init function):
//
//	func TestMain(m *testing.M) {
//		testenv.ChildMain(runChild)
//		os.Exit(testenv.Run(m))
//	}
func ChildMain[S any](main func(ctx context.Context, spec S) int) {
	raw, ok := os.LookupEnv(childEnv)
	if !ok {
		return
	}
	var spec S
	if err := json.Unmarshal([]byte(raw), &spec); err != nil {
		fmt.Fprintf(os.Stderr, "testenv: child spec %s: %v\n", childEnv, err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	code := main(ctx, spec)
	stop()
	os.Exit(code)
}

// Child is the test binary running as a child process (see ChildMain), so
// that a test can kill a real process with SIGKILL, stop it with SIGTERM,
// or read its exit status. StartChild returns one.
type Child struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	err  error         // Wait's result, once done is closed

	mu     sync.Mutex
	stderr strings.Builder
}

// StartChild starts the test binary as a child process that runs the
// package's ChildMain function with spec (encoded as JSON) instead of the
// tests. The child's stderr is kept (Stderr); its stdout is discarded. The
// child gets SIGKILL, if it still runs, when the test ends.
func StartChild(t testing.TB, spec any) *Child {
	t.Helper()
	raw, err := json.Marshal(spec)
	if err != nil {
		t.Fatalf("testenv: child spec: %v", err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatalf("testenv: find the test binary: %v", err)
	}
	c := &Child{cmd: exec.Command(self, "-test.run=^$"), done: make(chan struct{})}
	c.cmd.Env = append(os.Environ(), childEnv+"="+string(raw))
	c.cmd.Stderr = (*childStderr)(c)
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("testenv: start child: %v", err)
	}
	go func() {
		c.err = c.cmd.Wait()
		close(c.done)
	}()
	t.Cleanup(c.Kill)
	return c
}

// childStderr collects a child's stderr.
type childStderr Child

// Write appends b to the child's stderr.
func (w *childStderr) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.stderr.Write(b)
}

// Pid returns the child's process id.
func (c *Child) Pid() int { return c.cmd.Process.Pid }

// Signal sends sig to the child; a child that already exited is left alone.
func (c *Child) Signal(sig os.Signal) { _ = c.cmd.Process.Signal(sig) }

// Kill sends SIGKILL to the child and waits until it has exited.
func (c *Child) Kill() {
	c.Signal(syscall.SIGKILL)
	<-c.done
}

// Wait waits until the child exits and returns how it ended: nil for exit
// status 0, an *exec.ExitError otherwise.
func (c *Child) Wait() error {
	<-c.done
	return c.err
}

// Done returns a channel that is closed when the child has exited.
func (c *Child) Done() <-chan struct{} { return c.done }

// Exited reports whether the child has exited.
func (c *Child) Exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// ExitCode waits until the child exits and returns its exit status, or -1
// when a signal ended it.
func (c *Child) ExitCode() int {
	<-c.done
	return c.cmd.ProcessState.ExitCode()
}

// Stderr returns what the child wrote to stderr so far.
func (c *Child) Stderr() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stderr.String()
}
