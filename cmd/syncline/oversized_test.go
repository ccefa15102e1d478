package main

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestCaptureOversizedRows writes a 6 MB row, over the 4 MB a record may
// be, into one table of a running task while another table's changes flow.
// With --oversized stop capture exits permanent, naming the table, the key
// and the size; with skip-columns the row arrives without its large column
// (the target keeps the value it had), the other table's changes flow, and
// later rows of the same table too; a table holding a 6 MB row is
// snapshotted the same way.
func TestCaptureOversizedRows(t *testing.T) {
	e := newTaskEnv(t, `
- database: DB
  tables: [docs, live]
`, `
DB:
  rename: TDB
`)
	e.src.Exec(t, "CREATE TABLE `"+e.db+"`.docs (id INT PRIMARY KEY, body LONGBLOB, note VARCHAR(20))")
	e.src.Exec(t, "CREATE TABLE `"+e.db+"`.live (id INT PRIMARY KEY, v INT)")
	e.src.Exec(t, "CREATE TABLE `"+e.db+"`.snap (id INT PRIMARY KEY, body LONGTEXT, note VARCHAR(20))")
	e.src.Exec(t, "INSERT INTO `"+e.db+"`.docs VALUES (1, 'small', 'one')")
	e.src.Exec(t, "INSERT INTO `"+e.db+"`.live VALUES (1, 1)")
	e.src.Exec(t, "INSERT INTO `"+e.db+"`.snap VALUES (1, 'a', 'one'), (2, REPEAT('y', 6 << 20), 'big'), (3, 'c', 'three')")
	capture, apply := e.start(t)
	defer apply.Stop()
	docsQ := "SELECT id, IF(body IS NULL, 'NULL', LEFT(body, 10)), note FROM `" + e.tdb + "`.docs"
	liveQ := "SELECT id, v FROM `" + e.tdb + "`.live"
	waitUntil(t, 60*time.Second, "the snapshot in the target", func() bool {
		return slices.Equal(rows(e.tgtDB, docsQ), []string{"1|small|one"}) && slices.Equal(rows(e.tgtDB, liveQ), []string{"1|1"})
	})

	// stop (the default): a permanent exit naming table, key and size.
	e.src.Exec(t, "INSERT INTO `"+e.db+"`.docs VALUES (7, REPEAT('x', 6 << 20), 'big')")
	select {
	case code := <-capture.done:
		capture.once.Do(func() { capture.code = code })
		_, errOut := capture.Output()
		last := lastLine(errOut)
		for _, want := range []string{e.db + ".docs", "(id=7)", "bytes, over the 4194304-byte record limit", "--max-record-bytes 7340032",
			"kafka-configs.sh --bootstrap-server " + e.kafka.Brokers[0] + " --alter --entity-type topics --entity-name " + "task_" + e.db + "." + e.db + ".docs --add-config max.message.bytes=7340032",
			"--oversized skip-columns"} {
			if code != exitPermanent || !strings.Contains(last, want) {
				t.Fatalf("capture exited %d, want %d with one line holding %q; its last line:\n%s", code, exitPermanent, want, last)
			}
		}
	case <-time.After(60 * time.Second):
		_, errOut := capture.Output()
		t.Fatalf("capture did not stop for a 6 MB row:\n%s", errOut)
	}

	// skip-columns: the row without its body; the rest flows.
	e.editSpec(t, "capture:\n", "capture:\n  oversized: skip-columns\n")
	metrics := fmt.Sprintf("127.0.0.1:%d", freePorts(t, 1)[0])
	capture = background(t, "capture", "--config", e.spec, "--metrics-addr", metrics)
	defer capture.Stop()
	e.src.Exec(t, "INSERT INTO `"+e.db+"`.live VALUES (2, 2)")
	waitUntil(t, 60*time.Second, "the oversized row without its body, and the other table's change", func() bool {
		return slices.Equal(rows(e.tgtDB, docsQ), []string{"1|small|one", "7|NULL|big"}) && slices.Equal(rows(e.tgtDB, liveQ), []string{"1|1", "2|2"})
	})
	_, errOut := capture.Output()
	if !strings.Contains(errOut, "row too large for a kafka record") || !strings.Contains(errOut, e.db+".docs") || !strings.Contains(errOut, "(id=7)") || !strings.Contains(errOut, "omitted=body") {
		t.Fatalf("capture logged no warning naming the table, key and column:\n%s", errOut)
	}
	if got := scrape(t, metrics, `syncline_capture_oversized_rows_total{table="`+e.db+`.docs"}`); got != "1" {
		t.Fatalf("syncline_capture_oversized_rows_total of docs is %q, want 1", got)
	}
	// A later row of the table; then an update that makes a row too
	// large: the target keeps the body it had, and takes the rest.
	e.src.Exec(t, "INSERT INTO `"+e.db+"`.docs VALUES (8, 'eight', 'eight')")
	waitUntil(t, 30*time.Second, "a later row of the table", func() bool {
		return slices.Contains(rows(e.tgtDB, docsQ), "8|eight|eight")
	})
	e.src.Exec(t, "UPDATE `"+e.db+"`.docs SET body = REPEAT('z', 6 << 20), note = 'grown' WHERE id = 8")
	e.src.Exec(t, "INSERT INTO `"+e.db+"`.live VALUES (3, 3)")
	waitUntil(t, 30*time.Second, "the grown row with its old body kept, and the other table's change", func() bool {
		return slices.Equal(rows(e.tgtDB, docsQ), []string{"1|small|one", "7|NULL|big", "8|eight|grown"}) && slices.Contains(rows(e.tgtDB, liveQ), "3|3")
	})

	// A snapshot of a table holding a 6 MB row.
	if code, out, errOut := runCLI(t, "task", "add-tables", "--config", e.spec, e.db+".snap"); code != 0 {
		t.Fatalf("task add-tables: exit %d\n%s%s", code, out, errOut)
	}
	snapQ := "SELECT id, IF(body IS NULL, 'NULL', LEFT(body, 10)), note FROM `" + e.tdb + "`.snap"
	waitUntil(t, 60*time.Second, "the snapshot of a table holding a 6 MB row", func() bool {
		return slices.Equal(rows(e.tgtDB, snapQ), []string{"1|a|one", "2|NULL|big", "3|c|three"})
	})
	if _, errOut := capture.Output(); !strings.Contains(errOut, e.db+".snap") || !strings.Contains(errOut, "(id=2)") {
		t.Fatalf("capture logged no warning for the snapshot row:\n%s", errOut)
	}
}

// lastLine returns the last non-empty line of s.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// scrape returns the value of one series of a /metrics page ("" when it
// is not there).
func scrape(t *testing.T, addr, series string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(body)) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), series+" "); ok {
			return v
		}
	}
	return ""
}
