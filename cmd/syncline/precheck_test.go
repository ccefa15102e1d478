package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/urfave/cli/v2"
	"github.com/urfave/cli/v2/altsrc"

	"github.com/syncline/syncline/testenv"
)

// mainEnv turns the test binary into syncline itself, so that tests can run
// a real syncline process and see its exit status.
const mainEnv = "SYNCLINE_TEST_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(mainEnv) == "1" {
		main()
	}
	os.Exit(testenv.Run(m))
}

// runCLI runs syncline in-process with args and returns the exit status,
// stdout and stderr.
func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	code = run(ctx, append([]string{"syncline"}, args...), &out, &errb)
	return code, out.String(), errb.String()
}

// writeFile writes a file in the test's temporary directory.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

const password = "Pa55-w0rd-secret"

func TestUsageErrors(t *testing.T) {
	src := "mysql://capture:" + password + "@127.0.0.1:1/"
	badKey := writeFile(t, "bad.yaml", "source: "+src+"\ntabels: shop.*\n")
	badYAML := writeFile(t, "broken.yaml", "source: [\n")
	scalarList := writeFile(t, "scalar.yaml", "target: {url: "+src+"}\n")
	tests := []struct {
		args []string
		want string
	}{
		{[]string{}, "syncline: no command given; see 'syncline --help'"},
		{[]string{"bogus"}, `syncline: unknown command "bogus"; see 'syncline --help'`},
		{[]string{"--bogus"}, "syncline: unknown flag --bogus; see 'syncline --help'"},
		{[]string{"precheck", "--bogus", "--source", src}, "syncline: unknown flag --bogus; see 'syncline precheck --help'"},
		{[]string{"precheck", "--tables", "shop.*"}, "syncline: missing required flag --source; see 'syncline precheck --help'"},
		{[]string{"precheck", "--source", src}, "syncline: missing required flag --tables; see 'syncline precheck --help'"},
		{[]string{"precheck", "--source", "capture:" + password + "@db:3306", "--tables", "shop.*"}, "--source: bad connection string"},
		{[]string{"precheck", "--source", "mysql://capture:" + password + "@db:port/", "--tables", "shop.*"}, "--source: bad connection string"},
		{[]string{"precheck", "--source", src, "--tables", "shop.*", "--target", "oracle://u:" + password + "@h/"}, `--target: bad connection string: unknown scheme "oracle"`},
		{[]string{"precheck", "--source", "postgres://u:" + password + "@h/db", "--tables", "shop.*"}, "--source: "},
		{[]string{"precheck", "--source", src, "--tables", "shop"}, `--tables/--exclude-tables: bad table pattern: "shop" must be db.table`},
		{[]string{"precheck", "--source", src, "--tables", "shop.*", "--exclude-tables", "shop.[x"}, `"shop.[x"`},
		{[]string{"precheck", "--source", src, "--tables", "shop.*", "--server-id", "0"}, "--server-id 0"},
		{[]string{"precheck", "--source", src, "--tables", "shop.*", "--server-id", "abc"}, `invalid value "abc" for --server-id: a whole number`},
		{[]string{"precheck", "--source", src, "--tables", "shop.*", "--timeout", "0s"}, "--timeout 0s"},
		{[]string{"precheck", "--source", src, "--tables", "shop.*", "--topic-prefix", "my topics"}, "--topic-prefix: "},
		{[]string{"precheck", "--source", src, "--tables", "shop.*", "--brokers", "kafka"}, `--brokers: "kafka" is not host:port`},
		{[]string{"precheck", "--source", src, "--tables", "shop.*", "--registry", "registry:8081"}, "--registry: "},
		{[]string{"precheck", "--source", src, "--tables", "shop.*", "--log-level", "loud"}, `--log-level "loud"`},
		{[]string{"precheck", "--source", src, "--tables", "shop.*", "--log-format", "xml"}, `--log-format "xml"`},
		{[]string{"precheck", "--source", src, "--tables", "shop.*", "extra"}, `unexpected argument "extra"`},
		{[]string{"precheck", "--source", src, "--tables", "shop.*", "--source-password-file", "/nonexistent/pw"}, "--source: "},
		{[]string{"precheck", "--source", src, "--tables", "shop.*", "--target", src, "--target-password-file", "a", "--target-password-file", "b"}, "2 --target-password-file for 1 --target"},
		{[]string{"precheck", "--config", badKey}, `unknown key "tabels"`},
		{[]string{"precheck", "--config", badYAML}, "config file " + badYAML + ": yaml:"},
		{[]string{"precheck", "--config", scalarList, "--source", src, "--tables", "shop.*"}, "target must be a YAML list (one \"- value\" line per item) or a comma-separated string"},
		{[]string{"precheck", "--config", "/nonexistent/syncline.yaml"}, "config file /nonexistent/syncline.yaml: open"},
		{[]string{"capture", "--bogus"}, "syncline: unknown flag --bogus; see 'syncline capture --help'"},
	}
	for _, tt := range tests {
		code, stdout, stderr := runCLI(t, tt.args...)
		name := strings.Join(tt.args, " ")
		if code != exitUsage {
			t.Errorf("syncline %s: exit %d, want %d (stderr %q)", name, code, exitUsage, stderr)
		}
		if stdout != "" {
			t.Errorf("syncline %s: stdout %q, want nothing", name, stdout)
		}
		if strings.Count(stderr, "\n") != 1 || !strings.HasSuffix(stderr, "\n") {
			t.Errorf("syncline %s: stderr is not one line: %q", name, stderr)
		}
		if !strings.HasPrefix(stderr, "syncline: ") || !strings.Contains(stderr, "; see 'syncline") {
			t.Errorf("syncline %s: stderr %q is not shaped \"syncline: <problem>; see 'syncline <cmd> --help'\"", name, stderr)
		}
		if !strings.Contains(stderr, tt.want) {
			t.Errorf("syncline %s: stderr %q does not contain %q", name, stderr, tt.want)
		}
		if strings.Contains(stderr, password) {
			t.Errorf("syncline %s: stderr %q contains the password", name, stderr)
		}
	}
}

func TestHelpHidesPassword(t *testing.T) {
	t.Setenv("SYNCLINE_SOURCE", "mysql://capture:"+password+"@db:3306/")
	t.Setenv("SYNCLINE_TARGET", "postgres://apply:"+password+"@pg:5432/app")
	for _, args := range [][]string{{"precheck", "--help"}, {"precheck", "-h"}, {"capture", "--help"}, {"--help"}} {
		code, stdout, stderr := runCLI(t, args...)
		if code != exitOK {
			t.Errorf("syncline %s: exit %d, stderr %q", strings.Join(args, " "), code, stderr)
		}
		if strings.Contains(stdout+stderr, password) {
			t.Errorf("syncline %s shows the password:\n%s%s", strings.Join(args, " "), stdout, stderr)
		}
		if args[0] == "precheck" && !strings.Contains(stdout, "$SYNCLINE_SOURCE") {
			t.Errorf("syncline %s does not document SYNCLINE_SOURCE:\n%s", strings.Join(args, " "), stdout)
		}
	}
}

func TestEveryFlagHasEnvVar(t *testing.T) {
	app := newApp(io.Discard, io.Discard)
	for _, cmd := range app.Commands {
		for _, f := range cmd.Flags {
			name := f.Names()[0]
			ef, ok := f.(cli.DocGenerationFlag)
			if !ok {
				t.Errorf("%s --%s: %T has no environment variables", cmd.Name, name, f)
				continue
			}
			want := "SYNCLINE_" + strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
			if got := ef.GetEnvVars(); !slices.Equal(got, []string{want}) {
				t.Errorf("%s --%s: environment variables %v, want [%s]", cmd.Name, name, got, want)
			}
		}
	}
}

// TestConfigPrecedence checks the shared mechanism of every command: a flag
// on the command line wins over its environment variable, which wins over
// the config file, which wins over the default.
func TestConfigPrecedence(t *testing.T) {
	config := writeFile(t, "syncline.yaml", `
from-file: file
env-over-file: file
flag-over-env: file
list: [a:1, "b:2"]
number: 7
wait: 3s
log-level: debug
`)
	t.Setenv("SYNCLINE_ENV_OVER_FILE", "env")
	t.Setenv("SYNCLINE_FLAG_OVER_ENV", "env")
	t.Setenv("SYNCLINE_ENV_ONLY", "env")

	got := map[string]any{}
	cmd := newCommand(&cli.Command{
		Name: "probe",
		Flags: []cli.Flag{
			altsrc.NewStringFlag(&cli.StringFlag{Name: "from-file", Value: "default"}),
			altsrc.NewStringFlag(&cli.StringFlag{Name: "env-over-file", Value: "default"}),
			altsrc.NewStringFlag(&cli.StringFlag{Name: "flag-over-env", Value: "default"}),
			altsrc.NewStringFlag(&cli.StringFlag{Name: "env-only", Value: "default"}),
			altsrc.NewStringFlag(&cli.StringFlag{Name: "untouched", Value: "default"}),
			altsrc.NewStringSliceFlag(&cli.StringSliceFlag{Name: "list"}),
			altsrc.NewIntFlag(&cli.IntFlag{Name: "number", Value: 1}),
			altsrc.NewDurationFlag(&cli.DurationFlag{Name: "wait", Value: time.Second}),
		},
		Action: func(c *cli.Context) error {
			for _, n := range []string{"from-file", "env-over-file", "flag-over-env", "env-only", "untouched", flagLogLevel, flagLogFormat} {
				got[n] = c.String(n)
			}
			got["list"] = strings.Join(c.StringSlice("list"), " ")
			got["number"] = c.Int("number")
			got["wait"] = c.Duration("wait")
			return nil
		},
	})
	app := newApp(io.Discard, io.Discard)
	app.Commands = []*cli.Command{cmd}
	err := app.Run([]string{"syncline", "probe", "--config", config, "--flag-over-env", "flag"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"from-file":     "file",
		"env-over-file": "env",
		"flag-over-env": "flag",
		"env-only":      "env",
		"untouched":     "default",
		"list":          "a:1 b:2",
		"number":        7,
		"wait":          3 * time.Second,
		flagLogLevel:    "debug",
		flagLogFormat:   "text",
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s = %v, want %v", k, got[k], w)
		}
	}
}

// goodSource creates a database with one good table on the shared source
// and a capture user, and returns the user's URL without password, the
// password and the database.
func goodSource(t *testing.T) (url, pass, db string) {
	t.Helper()
	src := testenv.Source(t)
	db = src.NewDatabase(t)
	src.Exec(t, "CREATE TABLE `"+db+"`.orders (id INT PRIMARY KEY, note TEXT)")
	user := "c" + strings.ToLower(rand.Text()[:10])
	pass = "Cap-" + password
	account := fmt.Sprintf("'%s'@'%%'", user)
	src.Exec(t, "CREATE USER "+account+" IDENTIFIED BY '"+pass+"'")
	t.Cleanup(func() { src.Exec(t, "DROP USER "+account) })
	src.Exec(t, "GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO "+account)
	src.Exec(t, "GRANT SELECT ON `"+db+"`.* TO "+account)
	return fmt.Sprintf("mysql://%s@%s/", user, src.Addr()), pass, db
}

func TestPrecheckGood(t *testing.T) {
	srcURL, pass, db := goodSource(t)
	pg := testenv.Postgres(t)
	kafka := testenv.Kafka(t)
	pwFile := writeFile(t, "source-password", pass+"\n")
	// The file says tables: nothing.*, the environment overrides it.
	config := writeFile(t, "syncline.yaml", fmt.Sprintf("source: %s\ntables: nothing.*\nbrokers: [%s]\nregistry: %s\ntimeout: 3s\n",
		srcURL, kafka.BrokersString(), kafka.RegistryURL))
	t.Setenv("SYNCLINE_TABLES", db+".*")
	t.Setenv("SYNCLINE_TARGET", pg.URL(""))

	code, stdout, stderr := runCLI(t, "precheck", "--config", config, "--source-password-file", pwFile,
		"--log-level", "debug", "--log-format", "json")
	t.Logf("stdout:\n%s", stdout)
	if code != exitOK {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	for _, want := range []string{"STATUS", "source.connect", "tables.selected", "1 selected table: " + db + ".orders", "target.connect", "postgres at " + pg.Addr(), "kafka.registry", " 0 failed"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q", want)
		}
	}
	if strings.Contains(stdout+stderr, pass) || strings.Contains(stdout+stderr, pg.Password) {
		t.Errorf("output contains a password:\n%s\n%s", stdout, stderr)
	}
	// The debug log is JSON and names the source redacted.
	var entry map[string]any
	line, _, _ := strings.Cut(stderr, "\n")
	if err := json.Unmarshal([]byte(line), &entry); err != nil || entry["level"] != "DEBUG" {
		t.Errorf("stderr does not start with a JSON debug log: %q (%v)", stderr, err)
	}
	if !strings.Contains(stderr, `"source":"mysql://`) {
		t.Errorf("debug log does not name the source: %q", stderr)
	}
}

func TestPrecheckFails(t *testing.T) {
	srcURL, pass, db := goodSource(t)
	testenv.Source(t).Exec(t, "CREATE TABLE `"+db+"`.heap (v INT)")
	withPass := strings.Replace(srcURL, "@", ":"+pass+"@", 1)

	code, stdout, stderr := runCLI(t, "precheck", "--source", withPass, "--tables", db+".*")
	t.Logf("stdout:\n%s", stdout)
	if code != exitFailed {
		t.Errorf("exit %d, want %d; stderr %q", code, exitFailed, stderr)
	}
	if !strings.Contains(stdout, "fail    tables.key") || !strings.Contains(stdout, db+".heap has no primary key") || !strings.Contains(stdout, "fix: ALTER TABLE") {
		t.Errorf("stdout does not report the table without a key with its fix")
	}
	if stderr != "syncline: precheck: 1 check failed\n" {
		t.Errorf("stderr %q", stderr)
	}

	// A wrong password: a failed check (exit 1), never the password.
	wrong := strings.Replace(srcURL, "@", ":Wrong-"+pass+"@", 1)
	code, stdout, stderr = runCLI(t, "precheck", "--source", wrong, "--tables", db+".*", "--timeout", "2s")
	if code != exitFailed || !strings.Contains(stdout, "was refused") || !strings.Contains(stdout, "fix: check the password") {
		t.Errorf("wrong password: exit %d, stdout:\n%s", code, stdout)
	}
	if strings.Contains(stdout+stderr, pass) {
		t.Errorf("wrong password: output contains the password:\n%s%s", stdout, stderr)
	}
}
