package main

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/syncline/syncline/testenv"
)

// TestLogsWithoutNoise runs capture and apply at INFO with text logs until
// a row arrives, and reads their logs: go-mysql's settings dump (a struct
// with pointer addresses) is gone while its other lines remain, and no
// line carries a field twice.
func TestLogsWithoutNoise(t *testing.T) {
	src, tgt, k := testenv.Source(t), testenv.Target(t), testenv.Kafka(t)
	db := src.NewDatabase(t)
	prefix := strings.ReplaceAll(db, ".", "_")
	src.Exec(t, "CREATE TABLE `"+db+"`.t (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL)")
	src.Exec(t, "INSERT INTO `"+db+"`.t VALUES (1, 'a')")
	t.Cleanup(func() { tgt.Exec(t, "DROP DATABASE IF EXISTS `"+db+"`") })
	capture := background(t, "capture", "--source", src.URL(""), "--tables", db+".*",
		"--brokers", k.BrokersString(), "--registry", k.RegistryURL, "--topic-prefix", prefix,
		"--server-id", "7311", "--flush-interval", "20ms", "--heartbeat", "200ms", "--log-level", "info")
	apply := background(t, "apply", "--target", tgt.URL(""), "--group", prefix+"-apply",
		"--brokers", k.BrokersString(), "--registry", k.RegistryURL, "--topic-prefix", prefix,
		"--flush-interval", "20ms", "--log-level", "info")
	target := tgt.DB(t, "")
	waitUntil(t, 60*time.Second, "the row in the target", func() bool {
		var n int
		return target.QueryRow("SELECT COUNT(*) FROM `"+db+"`.t").Scan(&n) == nil && n == 1
	})
	src.Exec(t, "ALTER TABLE `"+db+"`.t ADD COLUMN w INT")
	src.Exec(t, "INSERT INTO `"+db+"`.t VALUES (2, 'b', 2)")
	waitUntil(t, 60*time.Second, "the second row in the target", func() bool {
		var n int
		return target.QueryRow("SELECT COUNT(*) FROM `"+db+"`.t").Scan(&n) == nil && n == 2
	})
	_, _, capLog := capture.Stop()
	_, _, applyLog := apply.Stop()

	if strings.Contains(capLog, "create BinlogSyncer") || strings.Contains(capLog, "0xc0") {
		t.Errorf("capture logs go-mysql's settings dump:\n%s", capLog)
	}
	if !strings.Contains(capLog, "part=binlog") {
		t.Errorf("capture's log has no go-mysql line left (part=binlog):\n%s", capLog)
	}
	key := regexp.MustCompile(` ([a-z_]+)=`)
	for _, line := range strings.Split(capLog+applyLog, "\n") {
		seen := map[string]bool{}
		for _, m := range key.FindAllStringSubmatch(line, -1) {
			if seen[m[1]] {
				t.Errorf("field %s twice in: %s", m[1], line)
			}
			seen[m[1]] = true
		}
	}
}

// TestVerifyStdoutIsTheReport runs syncline verify as a process against a
// MariaDB target with a row missing (compared, rechecked) and a ClickHouse
// target without the table, every log level on: stdout holds the JSON report and nothing else,
// progress goes to stderr.
func TestVerifyStdoutIsTheReport(t *testing.T) {
	src, tgt, ch := testenv.Source(t), testenv.Target(t), testenv.ClickHouse(t)
	db := src.NewDatabase(t)
	src.Exec(t, "CREATE TABLE `"+db+"`.t (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL)")
	src.Exec(t, "INSERT INTO `"+db+"`.t VALUES (1, 'a'), (2, 'b')")
	tgt.Exec(t, "CREATE DATABASE `"+db+"`")
	t.Cleanup(func() { tgt.Exec(t, "DROP DATABASE IF EXISTS `"+db+"`") })
	tgt.Exec(t, "CREATE TABLE `"+db+"`.t (id INT PRIMARY KEY, v VARCHAR(20) NOT NULL, "+
		"_syncline_version BIGINT NOT NULL DEFAULT 0 INVISIBLE)")
	tgt.Exec(t, "INSERT INTO `"+db+"`.t (id, v) VALUES (1, 'a')")
	for _, target := range []string{tgt.URL(""), ch.URL("")} {
		p := startProcess(t, "verify", "--source", src.URL(""), "--target", target, "--tables", db+".*",
			"--format", "json", "--log-level", "debug", "--recheck-wait", "10ms", "--recheck-attempts", "1")
		code := p.wait(t, time.Minute)
		stdout, stderr := p.stdout.String(), p.errb.String()
		dec := json.NewDecoder(strings.NewReader(stdout))
		var rep map[string]any
		if err := dec.Decode(&rep); err != nil || dec.More() || strings.TrimSpace(stdout[dec.InputOffset():]) != "" {
			t.Errorf("verify against %s: stdout is not one JSON report (%v):\n%s", strings.SplitN(target, ":", 2)[0], err, stdout)
		}
		// The ClickHouse target lacks the table: no table is compared there.
		if code != exitFailed || target == tgt.URL("") && !strings.Contains(stderr, `msg="table compared"`) {
			t.Errorf("verify against %s: exit %d, want 1 with progress logs on stderr:\n%s", strings.SplitN(target, ":", 2)[0], code, stderr)
		}
	}
}
