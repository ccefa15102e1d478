package main

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/syncline/syncline/task"
)

// editSpec rewrites the task's spec file, replacing old with new once.
func (e *taskEnv) editSpec(t *testing.T, old, new string) {
	t.Helper()
	data, err := os.ReadFile(e.spec)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), old) {
		t.Fatalf("spec has no %q", old)
	}
	if err := os.WriteFile(e.spec, []byte(strings.Replace(string(data), old, new, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestTaskUpdateRefusesRulesThatDoNotFit changes a running task's spec to
// a filter on a column the table lacks: task update, add-tables and
// precheck refuse it with the field's path, nothing is stored, and the
// running capture never notices. A bad revision stored anyway (as an older
// syncline would) is refused by capture, which goes on with the old list.
func TestTaskUpdateRefusesRulesThatDoNotFit(t *testing.T) {
	e := newTaskEnv(t, `
- database: DB
  tables: [orders]
`, `
DB:
  rename: TDB
`)
	e.src.Exec(t, "CREATE TABLE `"+e.db+"`.orders (id INT PRIMARY KEY, v INT)")
	e.src.Exec(t, "CREATE TABLE `"+e.db+"`.refunds (id INT PRIMARY KEY, amount INT)")
	e.src.Exec(t, "CREATE TABLE `"+e.db+"`.keyless (v INT)")
	e.src.Exec(t, "INSERT INTO `"+e.db+"`.orders VALUES (1, 1)")
	capture, apply := e.start(t)
	defer capture.Stop()
	defer apply.Stop()
	ordersQ := "SELECT id, v FROM `" + e.tdb + "`.orders"
	waitUntil(t, 60*time.Second, "the snapshot in the target", func() bool { return slices.Equal(rows(e.tgtDB, ordersQ), []string{"1|1"}) })

	e.editSpec(t, "targets:", "  - database: "+e.db+"\n    tables: [refunds]\n    filter: \"status = 'x'\"\ntargets:")
	want := `objects[1].filter on ` + e.db + `.refunds: row filter "status = 'x'": unknown column "status"`
	code, out, errOut := runCLI(t, "task", "update", "--config", e.spec)
	if code != exitFailed || !strings.Contains(errOut, want) || !strings.Contains(errOut, "nothing was changed") {
		t.Fatalf("task update with a filter on a missing column: exit %d, want %d naming %q\n%s%s", code, exitFailed, want, out, errOut)
	}
	if code, out, errOut := runCLI(t, "task", "add-tables", "--config", e.spec, e.db+".keyless"); code != exitFailed || !strings.Contains(errOut, e.db+".keyless has no primary key") {
		t.Fatalf("task add-tables of a keyless table: exit %d, want %d naming the table\n%s%s", code, exitFailed, out, errOut)
	}
	if code, out, errOut := runCLI(t, "precheck", "--config", e.spec); code != exitFailed || !strings.Contains(out, want) {
		t.Fatalf("precheck --config of the spec: exit %d, want %d naming %q\n%s%s", code, exitFailed, want, out, errOut)
	}
	if code, out, _ := runCLI(t, "task", "show", "--config", e.spec); code != 0 || !strings.Contains(out, "revision 1 ") {
		t.Fatalf("task show after the refused changes: exit %d, want revision 1 still\n%s", code, out)
	}
	e.src.Exec(t, "INSERT INTO `"+e.db+"`.orders VALUES (2, 2)")
	waitUntil(t, 30*time.Second, "a change after the refused update", func() bool { return slices.Equal(rows(e.tgtDB, ordersQ), []string{"1|1", "2|2"}) })

	// The same revision stored behind syncline task's back.
	spec, err := task.Load(e.spec)
	if err != nil {
		t.Fatal(err)
	}
	store := task.NewStore([]kgo.Opt{kgo.SeedBrokers(e.kafka.Brokers...)}, spec.Prefix(), spec.Name)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := store.Update(ctx, spec.Objects, "stored by an older syncline"); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 30*time.Second, "capture to refuse the stored revision", func() bool {
		_, errOut := capture.Output()
		return strings.Contains(errOut, "task object list refused") && strings.Contains(errOut, "unknown column")
	})
	e.src.Exec(t, "INSERT INTO `"+e.db+"`.orders VALUES (3, 3)")
	waitUntil(t, 30*time.Second, "a change after the refused revision", func() bool {
		return slices.Equal(rows(e.tgtDB, ordersQ), []string{"1|1", "2|2", "3|3"})
	})
	select {
	case code := <-capture.done:
		capture.once.Do(func() { capture.code = code })
		_, errOut := capture.Output()
		t.Fatalf("capture exited (%d) after meeting a bad revision:\n%s", code, errOut)
	default:
	}
}

// TestTaskPrecheckServerID checks that precheck --config checks the server
// id of the spec's capture section, not the default.
func TestTaskPrecheckServerID(t *testing.T) {
	e := newTaskEnv(t, `
- database: DB
`, `
DB:
  rename: TDB
`)
	e.src.Exec(t, "CREATE TABLE `"+e.db+"`.t (id INT PRIMARY KEY)")
	var own string
	if err := e.srcDB.QueryRow("SELECT @@server_id").Scan(&own); err != nil {
		t.Fatal(err)
	}
	e.editSpec(t, "capture:\n", "capture:\n  server-id: "+own+"\n")
	code, out, errOut := runCLI(t, "precheck", "--config", e.spec)
	if code != exitFailed || !strings.Contains(out, "server id "+own+" is the source's own server_id") {
		t.Fatalf("precheck --config with the source's own server-id in the spec: exit %d, want %d naming it\n%s%s", code, exitFailed, out, errOut)
	}
	e.editSpec(t, "server-id: "+own+"\n", "server-id: 4242\n")
	if code, out, errOut := runCLI(t, "precheck", "--config", e.spec); !strings.Contains(out, "server id 4242 ") {
		t.Fatalf("precheck --config with server-id 4242 in the spec: exit %d, the report does not check 4242\n%s%s", code, out, errOut)
	}
}
