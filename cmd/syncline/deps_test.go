package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// TestBinaryHasNoTestCode checks that no test code is linked into the
// syncline binary: neither package testing nor package testenv (nor a
// package under it) is among the dependencies of cmd/syncline. The demo and
// the benchmarks start their servers with internal/servers instead.
func TestBinaryHasNoTestCode(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
		if _, statErr := os.Stat(goTool); statErr != nil {
			t.Fatalf("the go command is neither in PATH (%v) nor at %s", err, goTool)
		}
	}
	cmd := exec.Command(goTool, "list", "-deps", ".")
	cmd.Stderr = new(strings.Builder)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, cmd.Stderr)
	}
	deps := strings.Fields(string(out))
	if !slices.Contains(deps, "github.com/syncline/syncline/cmd/syncline") {
		t.Fatalf("go list -deps did not list cmd/syncline itself:\n%s", out)
	}
	for _, dep := range deps {
		if dep == "testing" || strings.HasPrefix(dep, "testing/") ||
			dep == "github.com/syncline/syncline/testenv" || strings.HasPrefix(dep, "github.com/syncline/syncline/testenv/") {
			t.Errorf("the syncline binary links %s; test code must stay out of it", dep)
		}
	}
}
