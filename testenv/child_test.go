package testenv_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/syncline/syncline/testenv"
)

// childSpec tells the child of these tests what to do.
type childSpec struct {
	Say  string // written to stderr first
	Exit int    // exit status when Wait is false
	Wait bool   // run until the context ends (SIGTERM), then exit 0
}

// runChild is the child's main function.
func runChild(ctx context.Context, s childSpec) int {
	fmt.Fprintln(os.Stderr, s.Say)
	if s.Wait {
		<-ctx.Done()
	}
	return s.Exit
}

// TestChild runs the test binary as a child with a spec and checks the
// three ways tests end one: its own exit status, SIGTERM (its context ends)
// and SIGKILL.
func TestChild(t *testing.T) {
	t.Parallel()
	exits := testenv.StartChild(t, childSpec{Say: "spec arrived", Exit: 3})
	if code := exits.ExitCode(); code != 3 {
		t.Errorf("exit status %d, want 3", code)
	}
	if got := exits.Stderr(); !strings.Contains(got, "spec arrived") {
		t.Errorf("stderr %q lacks the spec's message", got)
	}
	if !exits.Exited() {
		t.Error("Exited is false after ExitCode")
	}

	termed := testenv.StartChild(t, childSpec{Say: "waiting", Wait: true})
	waitStderr(t, termed, "waiting")
	if termed.Exited() {
		t.Fatal("the waiting child exited by itself")
	}
	termed.Signal(syscall.SIGTERM)
	if err := termed.Wait(); err != nil {
		t.Errorf("after SIGTERM the child ended with %v, want exit status 0", err)
	}

	killed := testenv.StartChild(t, childSpec{Say: "waiting", Wait: true})
	waitStderr(t, killed, "waiting")
	killed.Kill()
	if code := killed.ExitCode(); code != -1 {
		t.Errorf("after SIGKILL the exit status is %d, want -1 (killed by a signal)", code)
	}
}

// waitStderr waits until c has written want to stderr.
func waitStderr(t *testing.T, c *testenv.Child, want string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(c.Stderr(), want) {
		if time.Now().After(deadline) || c.Exited() {
			t.Fatalf("the child did not write %q: %q", want, c.Stderr())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
