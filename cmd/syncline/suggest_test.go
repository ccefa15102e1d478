package main

import (
	"strings"
	"testing"
)

// TestDidYouMean mistypes commands and flags: the usage error names the
// closest one; a name close to nothing gets no guess.
func TestDidYouMean(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"stauts"}, `unknown command "stauts" (did you mean status?)`},
		{[]string{"consle"}, `unknown command "consle" (did you mean console?)`},
		{[]string{"task", "add-tabels", "x.y"}, `unknown command "task add-tabels" (did you mean add-tables?)`},
		{[]string{"status", "--brokrs", "x"}, "unknown flag --brokrs (did you mean --brokers?)"},
		{[]string{"capture", "--tabels", "x"}, "unknown flag --tabels (did you mean --tables?)"},
		{[]string{"--verison"}, "unknown flag --verison (did you mean --version?)"},
		{[]string{"xyzzy"}, `unknown command "xyzzy"; see 'syncline --help'`},
	} {
		code, _, stderr := runCLI(t, tt.args...)
		if code != exitUsage || !strings.Contains(stderr, tt.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and %q", tt.args, code, stderr, tt.want)
		}
	}
}

// TestVersion prints the version both ways: the Go version and the
// modules built in (the test binary's).
func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		code, stdout, stderr := runCLI(t, args...)
		if code != 0 || !strings.HasPrefix(stdout, "syncline ") || !strings.Contains(stdout, "(go1.") ||
			!strings.Contains(stdout, "  github.com/twmb/franz-go v1.") {
			t.Fatalf("%v: exit %d\nstdout:\n%s\nstderr:\n%s", args, code, stdout, stderr)
		}
	}
}
