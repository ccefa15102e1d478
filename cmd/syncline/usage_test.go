package main

import (
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/syncline/syncline/testenv"
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

// TestMetricsAddrOnlyOnLongRunningCommands: --metrics-addr is offered by the
// commands that keep running (something can scrape them), not by those that
// run once and exit.
func TestMetricsAddrOnlyOnLongRunningCommands(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want bool
	}{
		{[]string{"capture"}, true}, {[]string{"apply"}, true}, {[]string{"dev"}, true}, {[]string{"demo"}, true},
		{[]string{"precheck"}, false}, {[]string{"status"}, false}, {[]string{"console"}, false}, {[]string{"verify"}, false},
		{[]string{"bench"}, false}, {[]string{"version"}, false},
		{[]string{"task", "show"}, false}, {[]string{"task", "add-tables"}, false}, {[]string{"task", "remove-tables"}, false},
		{[]string{"task", "resync"}, false}, {[]string{"task", "update"}, false}, {[]string{"task", "stop"}, false}, {[]string{"task", "reset"}, false},
	} {
		code, stdout, stderr := runCLI(t, append(tt.args, "--help")...)
		if code != exitOK {
			t.Fatalf("syncline %s --help: exit %d, stderr %q", strings.Join(tt.args, " "), code, stderr)
		}
		if got := strings.Contains(stdout, "--metrics-addr"); got != tt.want {
			t.Errorf("syncline %s --help lists --metrics-addr: %v, want %v", strings.Join(tt.args, " "), got, tt.want)
		}
	}
}

// TestMissingFlagsAtOnce: every missing required flag is named in the one
// usage line, so that a user does not learn them one run at a time.
func TestMissingFlagsAtOnce(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"capture"}, "missing required flags --source, --tables, --brokers and --registry; see 'syncline capture --help'"},
		{[]string{"capture", "--source", "mysql://u@h:1/", "--brokers", "b:1"}, "missing required flags --tables and --registry;"},
		{[]string{"capture", "--source", "mysql://u@h:1/", "--tables", "a.*", "--brokers", "b:1"}, "missing required flag --registry;"},
		{[]string{"apply"}, "missing required flags --target, --group, --brokers and --registry; see 'syncline apply --help'"},
		{[]string{"precheck"}, "missing required flags --source and --tables;"},
		{[]string{"verify"}, "missing required flags --source, --target and --tables;"},
		{[]string{"status"}, "missing required flags --brokers and --registry;"},
	} {
		code, _, stderr := runCLI(t, tt.args...)
		if code != exitUsage || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, tt.want) {
			t.Errorf("syncline %s: exit %d, stderr %q; want exit 2 and one line with %q", strings.Join(tt.args, " "), code, stderr, tt.want)
		}
	}
}

// TestInvalidValueGivesExample: a value that does not parse, on the command
// line, in the environment or in the config file, is rejected with an
// example of a valid one.
func TestInvalidValueGivesExample(t *testing.T) {
	cfg := func(content string) string { return writeFile(t, "flags.yaml", content) }
	for _, tt := range []struct {
		env, args []string
		want      string
	}{
		{nil, []string{"capture", "--flush-interval", "100"}, `invalid value "100" for --flush-interval: a duration such as 500ms, 2s or 1m30s; see 'syncline capture --help'`},
		{nil, []string{"capture", "--partitions", "many"}, `invalid value "many" for --partitions: a whole number such as 100;`},
		{nil, []string{"capture", "--tombstones=maybe"}, `invalid value "maybe" for --tombstones: true or false;`},
		{nil, []string{"status", "--brokers", "127.0.0.1:1", "--registry", "registry:8081"}, `invalid value "registry:8081" for --registry: a URL such as http://registry:8081; see 'syncline status --help'`},
		{nil, []string{"precheck", "--source", "mysql://u@127.0.0.1:1/", "--tables", "a.*", "--registry", "registry:8081"}, `"registry:8081" is not an http:// or https:// URL such as http://registry:8081`},
		{nil, []string{"task", "reset", "--stop-timeout", "3"}, `invalid value "3" for --stop-timeout: a duration such as 500ms, 2s or 1m30s; see 'syncline task reset --help'`},
		{[]string{"SYNCLINE_FLUSH_INTERVAL", "100"}, []string{"apply"}, `invalid value "100" in SYNCLINE_FLUSH_INTERVAL for --flush-interval: a duration such as 500ms`},
		{nil, []string{"capture", "--config", cfg("flush-interval: 100\n")}, "invalid value 100 for flush-interval: a duration such as 500ms"},
		{nil, []string{"apply", "--config", cfg("batch-rows: lots\n")}, "invalid value lots for batch-rows: a whole number such as 100"},
		{nil, []string{"capture", "--config", cfg("tombstones: maybe\n")}, "invalid value maybe for tombstones: true or false"},
	} {
		if tt.env != nil {
			t.Setenv(tt.env[0], tt.env[1])
		}
		code, _, stderr := runCLI(t, tt.args...)
		if tt.env != nil {
			os.Unsetenv(tt.env[0])
		}
		if code != exitUsage || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, tt.want) {
			t.Errorf("%v syncline %s: exit %d, stderr %q; want exit 2 and one line with %q", tt.env, strings.Join(tt.args, " "), code, stderr, tt.want)
		}
	}
}

// TestConfigFileListAsString: a list flag in the config file takes a
// comma-separated string, as on the command line, as well as a YAML list.
func TestConfigFileListAsString(t *testing.T) {
	k := testenv.Kafka(t)
	for _, brokers := range []string{k.Brokers[0] + "," + k.Brokers[0], "[" + k.Brokers[0] + "]"} {
		cfg := writeFile(t, "flags.yaml", fmt.Sprintf("brokers: %s\nregistry: %s\ntopic-prefix: nolist\ninterval: 100ms\n", brokers, k.RegistryURL))
		code, stdout, stderr := runCLI(t, "status", "--config", cfg)
		if code != exitOK || !strings.Contains(stdout, "nolist") {
			t.Errorf("brokers: %s: status exit %d\nstdout:\n%s\nstderr:\n%s", brokers, code, stdout, stderr)
		}
	}
	// The string is split like --brokers a,b: its second broker is checked.
	cfg := writeFile(t, "flags.yaml", "brokers: "+k.Brokers[0]+",kafka\nregistry: "+k.RegistryURL+"\n")
	if code, _, stderr := runCLI(t, "status", "--config", cfg); code != exitUsage || !strings.Contains(stderr, `"kafka" is not host:port`) {
		t.Errorf("brokers: a,kafka: exit %d, stderr %q; want exit 2 naming \"kafka\"", code, stderr)
	}
	// A task spec too, and its capture section.
	spec := writeFile(t, "task.yaml", fmt.Sprintf("name: lists\nsource: mysql://u@127.0.0.1:1/\nbrokers: %s,%s\nregistry: %s\nobjects:\n  - database: shop\n",
		k.Brokers[0], k.Brokers[0], k.RegistryURL))
	if code, stdout, stderr := runCLI(t, "task", "show", "--config", spec); code != exitOK || !strings.Contains(stdout, "task lists has not started") {
		t.Errorf("task spec with brokers: a,b: task show exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	spec = writeFile(t, "task.yaml", "name: lists\nsource: mysql://u@127.0.0.1:1/\nbrokers: "+k.Brokers[0]+"\nregistry: "+k.RegistryURL+
		"\ncapture:\n  skip-ddl-at: binlog.000001:12,nonsense\nobjects:\n  - database: shop\n")
	if code, _, stderr := runCLI(t, "capture", "--config", spec); code != exitUsage || !strings.Contains(stderr, `"nonsense" is not a binlog position`) {
		t.Errorf("capture section with skip-ddl-at: a,b: exit %d, stderr %q; want exit 2 naming \"nonsense\"", code, stderr)
	}
}

// TestOneIsSingular: reports count one thing in the singular (status's
// registry line, precheck's registry check); verify's is in TestVerifyCommand.
func TestOneIsSingular(t *testing.T) {
	k := testenv.NewKafka(t)
	body := strings.NewReader(`{"schema":"\"int\""}`)
	resp, err := http.Post(k.RegistryURL+"/subjects/single.shop.t-value/versions", "application/vnd.schemaregistry.v1+json", body)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("register a subject: %s", resp.Status)
	}
	code, stdout, stderr := runCLI(t, "status", "--brokers", k.Brokers[0], "--registry", k.RegistryURL, "--topic-prefix", "single", "--interval", "100ms")
	if code != exitOK || !strings.Contains(stdout, "registry: 1 subject\n") {
		t.Errorf("status: exit %d, want 0 and \"registry: 1 subject\"\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	code, stdout, stderr = runCLI(t, "precheck", "--source", fmt.Sprintf("mysql://u@127.0.0.1:%d/", testenv.ClosedPort(t)), "--tables", "shop.*",
		"--brokers", k.Brokers[0], "--registry", k.RegistryURL, "--timeout", "3s")
	if !strings.Contains(stdout, "answers (1 subject)") || strings.Contains(stdout, " 1 warnings") {
		t.Errorf("precheck: exit %d, want \"answers (1 subject)\" and no \"1 warnings\"\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
}

// TestStatusWatchFailureNotRepeated: while status --watch cannot collect
// (the registry is down), it says so once, not at every --interval.
func TestStatusWatchFailureNotRepeated(t *testing.T) {
	k := testenv.Kafka(t)
	r := background(t, "status", "--watch", "--interval", "50ms", "--brokers", k.Brokers[0],
		"--registry", fmt.Sprintf("http://127.0.0.1:%d", testenv.ClosedPort(t)), "--topic-prefix", "watchdown")
	time.Sleep(2 * time.Second)
	code, stdout, stderr := r.Stop()
	if n := strings.Count(stdout, "status: "); code != exitOK || n != 1 || !strings.Contains(stdout, "(trying again every 50ms)") {
		t.Errorf("exit %d, %d failure lines, want 0 and 1 saying it tries again\nstdout:\n%s\nstderr:\n%s", code, n, stdout, stderr)
	}
}
