package main

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/syncline/syncline/capture"
)

func TestCaptureUsageErrors(t *testing.T) {
	good := []string{"--source", "mysql://u@127.0.0.1:3306/", "--tables", "shop.*", "--brokers", "127.0.0.1:9092", "--registry", "http://127.0.0.1:8081"}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no source", []string{"--tables", "a.*", "--brokers", "b:1", "--registry", "http://r"}, "missing required flag --source"},
		{"no brokers", []string{"--source", "mysql://u@h:1/", "--tables", "a.*", "--registry", "http://r"}, "missing required flag --brokers"},
		{"bad snapshot", append(good, "--snapshot", "sometimes"), `snapshot: "sometimes" is not one of initial, never, when_needed`},
		{"bad url", []string{"--source", "mysql://u:" + password + "@h:notaport/", "--tables", "a.*", "--brokers", "b:1", "--registry", "http://r"}, "--source"},
		{"bad prefix", append(good, "--topic-prefix", "a.b"), "topic-prefix"},
		{"bad online-ddl", append(good, "--online-ddl", "maybe"), `online-ddl: "maybe" is not one of auto, off`},
	}
	for _, tt := range tests {
		code, stdout, stderr := runCLI(t, append([]string{"capture"}, tt.args...)...)
		if code != exitUsage || stdout != "" || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, tt.want) {
			t.Errorf("%s: exit %d, stderr %q; want exit 2 and one line containing %q", tt.name, code, stderr, tt.want)
		}
		if strings.Contains(stderr, password) {
			t.Errorf("%s: stderr shows the password", tt.name)
		}
	}
}

// TestCaptureSkipDDLAt reads --skip-ddl-at as a list: comma-separated,
// repeated, or a YAML list in a task spec's capture section.
func TestCaptureSkipDDLAt(t *testing.T) {
	good := []string{"--source", "mysql://u@127.0.0.1:3306/", "--tables", "shop.*", "--brokers", "127.0.0.1:9092", "--registry", "http://127.0.0.1:8081"}
	spec := writeFile(t, "task.yaml", "name: shop\nsource: mysql://u@127.0.0.1:3306/\nbrokers: [127.0.0.1:9092]\nregistry: http://127.0.0.1:8081\n"+
		"capture:\n  skip-ddl-at: [binlog.000001:100, \"binlog.000002:4\"]\nobjects:\n  - database: shop\n")
	tests := []struct {
		args []string
		want string
	}{
		{append(good, "--skip-ddl-at", "binlog.000001:100, binlog.000001:250", "--skip-ddl-at", "binlog.000002:4"), "binlog.000001:100 binlog.000001:250 binlog.000002:4"},
		{[]string{"--config", spec}, "binlog.000001:100 binlog.000002:4"},
		{good, ""},
	}
	for _, tt := range tests {
		var got []string
		cmd := captureCommand()
		cmd.Action = func(c *cli.Context) error {
			cfg, err := captureConfig(c)
			got = cfg.SkipDDLAt
			return err
		}
		app := newApp(io.Discard, io.Discard)
		app.Commands = []*cli.Command{cmd}
		if err := app.Run(append([]string{"syncline", "capture"}, tt.args...)); err != nil {
			t.Errorf("%v: %v", tt.args, err)
			continue
		}
		if strings.Join(got, " ") != tt.want {
			t.Errorf("%v: SkipDDLAt %q, want %q", tt.args, got, tt.want)
		}
	}
	code, _, stderr := runCLI(t, append([]string{"capture"}, append(good, "--skip-ddl-at", "binlog.000001:12,nonsense")...)...)
	if code != exitUsage || !strings.Contains(stderr, `skip-ddl-at: "nonsense" is not a binlog position FILE:POS`) {
		t.Errorf("a bad position: exit %d, stderr %q", code, stderr)
	}
}

// TestCaptureRetryBackoff: capture's backoff bounds default to 1s and 1m,
// come from the flags or a task spec's capture section, and are checked
// like apply's.
func TestCaptureRetryBackoff(t *testing.T) {
	good := []string{"--source", "mysql://u@127.0.0.1:3306/", "--tables", "shop.*", "--brokers", "127.0.0.1:9092", "--registry", "http://127.0.0.1:8081"}
	spec := writeFile(t, "task.yaml", "name: shop\nsource: mysql://u@127.0.0.1:3306/\nbrokers: [127.0.0.1:9092]\nregistry: http://127.0.0.1:8081\n"+
		"capture:\n  retry-backoff-min: 2s\n  retry-backoff-max: 10s\nobjects:\n  - database: shop\n")
	tests := []struct {
		args     []string
		min, max time.Duration
	}{
		{good, time.Second, time.Minute},
		{append(good, "--retry-backoff-min", "200ms", "--retry-backoff-max", "3s"), 200 * time.Millisecond, 3 * time.Second},
		{[]string{"--config", spec}, 2 * time.Second, 10 * time.Second},
	}
	for _, tt := range tests {
		var got capture.Config
		cmd := captureCommand()
		cmd.Action = func(c *cli.Context) error {
			var err error
			got, err = captureConfig(c)
			return err
		}
		app := newApp(io.Discard, io.Discard)
		app.Commands = []*cli.Command{cmd}
		if err := app.Run(append([]string{"syncline", "capture"}, tt.args...)); err != nil {
			t.Errorf("%v: %v", tt.args, err)
			continue
		}
		if got.RetryBackoffMin != tt.min || got.RetryBackoffMax != tt.max {
			t.Errorf("%v: backoff %s to %s, want %s to %s", tt.args, got.RetryBackoffMin, got.RetryBackoffMax, tt.min, tt.max)
		}
	}
	code, _, stderr := runCLI(t, append([]string{"capture"}, append(good, "--retry-backoff-min", "5s", "--retry-backoff-max", "1s")...)...)
	if code != exitUsage || !strings.Contains(stderr, "retry-backoff-max: 1s must not be below --retry-backoff-min 5s") {
		t.Errorf("max below min: exit %d, stderr %q", code, stderr)
	}
}
