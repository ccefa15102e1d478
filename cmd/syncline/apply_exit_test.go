package main

// Apply's exit statuses as a supervisor sees them: the real syncline apply
// process (this test binary re-executed as syncline), and the shipped
// systemd unit's Restart= and RestartPreventExitStatus= applied to its
// exit status.

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/syncline/syncline/fault"
	"github.com/syncline/syncline/testenv"
)

// init makes the test binary syncline, run with the arguments of its spec,
// when runSyncline started it as a child process (testenv.StartChild).
func init() {
	testenv.ChildMain(func(ctx context.Context, args []string) int {
		// What main does.
		return run(ctx, append([]string{"syncline"}, args...), os.Stdout, os.Stderr)
	})
}

// runSyncline runs syncline with args as a process and returns its exit
// status and stderr; it fails the test when the process runs longer than d.
func runSyncline(t *testing.T, d time.Duration, args ...string) (int, string) {
	t.Helper()
	child := testenv.StartChild(t, args)
	select {
	case <-child.Done():
	case <-time.After(d):
		child.Kill()
		t.Fatalf("syncline %s still ran after %s: %s", args[0], d, child.Stderr())
	}
	code := child.ExitCode()
	if code < 0 {
		t.Fatalf("syncline %s: %v: %s", args[0], child.Wait(), child.Stderr())
	}
	return code, child.Stderr()
}

// systemdUnit is what a unit's [Service] section says about restarts.
type systemdUnit struct {
	restart string   // Restart=
	prevent []string // RestartPreventExitStatus=
}

// readSystemdUnit reads Restart= and RestartPreventExitStatus= of a unit.
func readSystemdUnit(t *testing.T, path string) systemdUnit {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	u := systemdUnit{restart: "no"}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		key, value, ok := strings.Cut(strings.TrimSpace(sc.Text()), "=")
		switch {
		case !ok:
		case key == "Restart":
			u.restart = value
		case key == "RestartPreventExitStatus":
			u.prevent = append(u.prevent, strings.Fields(value)...)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return u
}

// restarts reports whether systemd restarts the service after its main
// process exited with code (as systemd.service(5) says for these Restart=
// values; signals are not simulated).
func (u systemdUnit) restarts(code int) bool {
	if slices.Contains(u.prevent, strconv.Itoa(code)) {
		return false
	}
	switch u.restart {
	case "always":
		return true
	case "on-failure", "on-abnormal":
		return code != 0 && u.restart == "on-failure"
	}
	return false
}

// superviseApply runs syncline apply under the unit's restart rules, at
// most three times, and returns how often it started and its last exit
// status and stderr.
func superviseApply(t *testing.T, u systemdUnit, args ...string) (starts, code int, stderr string) {
	t.Helper()
	for starts < 3 {
		starts++
		code, stderr = runSyncline(t, 90*time.Second, append([]string{"apply"}, args...)...)
		if !u.restarts(code) {
			break
		}
	}
	return starts, code, stderr
}

// TestApplyPermanentFaultsExit3: a wrong target password, a missing target
// database (MySQL, PostgreSQL, ClickHouse), a target user without the privileges apply needs and a record that cannot be applied under --on-error stop each
// stop the real syncline apply process at once with exit status 3 and a
// one-line error that names the fix, and the shipped systemd unit does not
// restart it into the same fault.
func TestApplyPermanentFaultsExit3(t *testing.T) {
	unit := readSystemdUnit(t, repoPath("deploy", "systemd", "syncline-apply@.service"))
	if !unit.restarts(1) {
		t.Fatalf("the apply unit (Restart=%s) does not restart a crash (status 1)", unit.restart)
	}
	tgt := testenv.Target(t)
	k := testenv.Kafka(t)
	prefix := "applyexit" + strconv.FormatInt(time.Now().UnixNano()%1e9, 10)

	// A table topic holding a record that is not Avro.
	cl, err := kgo.NewClient(kgo.SeedBrokers(k.Brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	topic := prefix + ".shop.orders"
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, 1, 1, nil, topic); err != nil {
		t.Fatal(err)
	}
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Key: []byte{0, 0, 0, 0, 1, 2}, Value: []byte("not avro")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tgt.Exec(t, "DROP DATABASE IF EXISTS shop") })

	wrongPassword := fmt.Sprintf("mysql://%s:wrong-%s@%s/", tgt.User, "s3cret", tgt.Addr())
	// A user that may read but not create or write the tables.
	reader := prefix + "_r"
	tgt.Exec(t, "CREATE USER '"+reader+"'@'%' IDENTIFIED BY 'reader-pw'")
	tgt.Exec(t, "GRANT SELECT ON *.* TO '"+reader+"'@'%'")
	t.Cleanup(func() { tgt.Exec(t, "DROP USER IF EXISTS '"+reader+"'@'%'") })
	readOnly := fmt.Sprintf("mysql://%s:reader-pw@%s/", reader, tgt.Addr())
	for _, tc := range []struct {
		name, target string
		want         []string // in the error line
	}{
		{"wrong password", wrongPassword, []string{"password"}},
		{"missing database", tgt.URL("no_such_database"), []string{"no_such_database"}},
		{"missing privileges", readOnly, []string{"GRANT CREATE, INSERT, UPDATE, DELETE, ALTER ON `shop`.*"}},
		{"poison record", tgt.URL(""), []string{"topic " + topic, "offset 0", "--on-error dead-letter"}},
		{"postgres missing database", testenv.Postgres(t).URL("no_such_database"), []string{"no_such_database"}},
		{"clickhouse missing database", testenv.ClickHouse(t).URL("no_such_database"), []string{"no_such_database"}},
		{"clickhouse wrong password", strings.Replace(testenv.ClickHouse(t).URL(""), "default@", "default:wrong-s3cret@", 1), []string{"password"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			began := time.Now()
			starts, code, stderr := superviseApply(t, unit,
				"--target", tc.target, "--group", prefix+"-"+strings.ReplaceAll(tc.name, " ", "-"),
				"--brokers", k.BrokersString(), "--registry", k.RegistryURL, "--topic-prefix", prefix,
				"--retry-window", "30s", "--log-level", "error")
			took := time.Since(began)
			if code != fault.ExitPermanent {
				t.Fatalf("exit status %d after %s, want %d (permanent): %s", code, took.Round(time.Millisecond), fault.ExitPermanent, stderr)
			}
			if starts != 1 {
				t.Errorf("the systemd unit started apply %d times", starts)
			}
			if took > 20*time.Second {
				t.Errorf("apply took %s to stop on a permanent fault", took.Round(time.Millisecond))
			}
			lines := strings.Split(strings.TrimSpace(stderr), "\n")
			last := lines[len(lines)-1]
			for _, w := range tc.want {
				if !strings.Contains(last, w) {
					t.Errorf("error line %q does not mention %q", last, w)
				}
			}
			if strings.Contains(stderr, "s3cret") || strings.Contains(stderr, tgt.Password) {
				t.Errorf("stderr shows a password: %s", stderr)
			}
			t.Logf("exit %d after %s: %s", code, took.Round(time.Millisecond), last)
		})
	}
}

// TestApplyKeyChangeExit3: a target table whose primary key is not the
// source's (written into with --existing-tables write) stops the real
// syncline apply process with exit status 3, and the systemd unit does not
// restart it.
func TestApplyKeyChangeExit3(t *testing.T) {
	unit := readSystemdUnit(t, repoPath("deploy", "systemd", "syncline-apply@.service"))
	src, tgt, k := testenv.Source(t), testenv.Target(t), testenv.Kafka(t)
	db := src.NewDatabase(t)
	prefix := strings.ReplaceAll(db, ".", "_")
	src.Exec(t, "CREATE TABLE `"+db+"`.t (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL)")
	src.Exec(t, "INSERT INTO `"+db+"`.t VALUES (1, 'a')")
	tgt.Exec(t, "CREATE DATABASE `"+db+"`")
	t.Cleanup(func() { tgt.Exec(t, "DROP DATABASE IF EXISTS `"+db+"`") })
	tgt.Exec(t, "CREATE TABLE `"+db+"`.t (id INT, v VARCHAR(20) NOT NULL, PRIMARY KEY (id, v))")
	capture := background(t, "capture", "--source", src.URL(""), "--tables", db+".*",
		"--brokers", k.BrokersString(), "--registry", k.RegistryURL, "--topic-prefix", prefix,
		"--server-id", "7301", "--flush-interval", "20ms", "--heartbeat", "200ms")
	defer capture.Stop()

	starts, code, stderr := superviseApply(t, unit, "--target", tgt.URL(""), "--group", prefix+"-apply",
		"--brokers", k.BrokersString(), "--registry", k.RegistryURL, "--topic-prefix", prefix,
		"--existing-tables", "write", "--retry-window", "30s", "--log-level", "error")
	if code != fault.ExitPermanent || starts != 1 {
		t.Fatalf("exit status %d after %d starts, want %d once: %s", code, starts, fault.ExitPermanent, stderr)
	}
	if !strings.Contains(stderr, "primary key") {
		t.Errorf("the error does not name the key: %s", stderr)
	}
	t.Logf("exit %d: %s", code, strings.TrimSpace(stderr))
}
