package main

import (
	"strings"
	"testing"
)

// TestUsageErrorNamesCommandPath: every usage error of a task subcommand
// points at that subcommand's help, not at a command that does not exist.
func TestUsageErrorNamesCommandPath(t *testing.T) {
	spec := writeFile(t, "flags.yaml", "brokers: [127.0.0.1:1]\n")
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"task", "show"}, "see 'syncline task show --help'"},
		{[]string{"task", "show", "--bogus"}, "unknown flag --bogus; see 'syncline task show --help'"},
		{[]string{"task", "add-tables", "--config", spec}, "see 'syncline task add-tables --help'"},
		{[]string{"task", "reset", "--stop-timeout", "x"}, "see 'syncline task reset --help'"},
		{[]string{"task", "shw"}, "see 'syncline task --help'"},
		{[]string{"capture", "--bogus"}, "see 'syncline capture --help'"},
		{[]string{"bogus"}, "see 'syncline --help'"},
	} {
		code, _, stderr := runCLI(t, tt.args...)
		if code != exitUsage || !strings.HasSuffix(stderr, tt.want+"\n") {
			t.Errorf("syncline %s: exit %d, stderr %q; want exit 2 and a line ending %q", strings.Join(tt.args, " "), code, stderr, tt.want)
		}
	}
}
