package main

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
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

// prefixTopics returns the topics of the prefix (the prefix itself and
// prefix.*), sorted. It asks with a new client each time: a client answers
// a metadata request from its cache for a while.
func prefixTopics(t *testing.T, brokers []string, prefix string) []string {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	list, err := adm.ListTopics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, n := range list.Names() {
		if n == prefix || strings.HasPrefix(n, prefix+".") {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

// groupMembers returns the member count of a consumer group (0 when it
// does not exist).
func groupMembers(t *testing.T, adm *kadm.Client, group string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	d, err := adm.DescribeGroups(ctx, group)
	if err != nil {
		t.Fatal(err)
	}
	return len(d[group].Members)
}

// TestTaskResetRefusesWhileRunning runs task reset against a running task:
// it refuses, naming what runs, and changes nothing (the pipeline keeps
// flowing); with --force it stops the task cleanly, every change read
// reaching the target, and then deletes every topic and group.
func TestTaskResetRefusesWhileRunning(t *testing.T) {
	e := newTaskEnv(t, `
- database: DB
`, `
DB:
  rename: TDB
`)
	e.src.Exec(t, "CREATE TABLE `"+e.db+"`.live (id INT PRIMARY KEY, v INT)")
	e.src.Exec(t, "INSERT INTO `"+e.db+"`.live VALUES (1, 1)")
	capture, apply := e.start(t)
	defer capture.Stop()
	defer apply.Stop()
	liveQ := "SELECT id, v FROM `" + e.tdb + "`.live"
	waitUntil(t, 60*time.Second, "the snapshot in the target", func() bool { return slices.Equal(rows(e.tgtDB, liveQ), []string{"1|1"}) })

	spec, err := task.Load(e.spec)
	if err != nil {
		t.Fatal(err)
	}
	prefix, group := spec.Prefix(), spec.Targets[0].Group
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.kafka.Brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	before := prefixTopics(t, e.kafka.Brokers, prefix)
	for _, want := range []string{prefix + ".__checkpoint", prefix + ".__task", prefix + "." + e.db + ".live"} {
		if !slices.Contains(before, want) {
			t.Fatalf("topic %s missing before the reset: %v", want, before)
		}
	}

	code, out, errOut := runCLI(t, "task", "reset", "--config", e.spec, "--yes")
	if code != exitFailed || !strings.Contains(errOut, "is running") || !strings.Contains(errOut, "capture "+spec.Name) ||
		!strings.Contains(errOut, "consumer group "+group) || !strings.Contains(errOut, "nothing was deleted") {
		t.Fatalf("task reset of a running task: exit %d, want %d naming capture and the group\n%s%s", code, exitFailed, out, errOut)
	}
	if got := prefixTopics(t, e.kafka.Brokers, prefix); !slices.Equal(got, before) {
		t.Fatalf("the refused reset changed the topics:\n got %v\nwant %v", got, before)
	}
	if n := groupMembers(t, adm, group); n == 0 {
		t.Fatalf("the refused reset emptied consumer group %s", group)
	}
	e.src.Exec(t, "INSERT INTO `"+e.db+"`.live VALUES (2, 2)")
	waitUntil(t, 30*time.Second, "a change after the refused reset", func() bool { return slices.Equal(rows(e.tgtDB, liveQ), []string{"1|1", "2|2"}) })

	// --force: a clean stop first, then everything goes.
	e.src.Exec(t, "INSERT INTO `"+e.db+"`.live VALUES (3, 3)")
	code, out, errOut = runCLI(t, "task", "reset", "--config", e.spec, "--yes", "--force")
	if code != 0 || !strings.Contains(out, "the task stopped") {
		t.Fatalf("task reset --force of a running task: exit %d\n%s%s", code, out, errOut)
	}
	for name, r := range map[string]*bgRun{"capture": capture, "apply": apply} {
		select {
		case code := <-r.done:
			r.once.Do(func() { r.code = code })
			if code != 0 {
				_, errOut := r.Output()
				t.Fatalf("%s exited with %d after task reset --force:\n%s", name, code, errOut)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s still runs after task reset --force returned", name)
		}
	}
	if got := rows(e.tgtDB, liveQ); !slices.Equal(got, []string{"1|1", "2|2", "3|3"}) {
		t.Fatalf("the last change before reset --force did not reach the target (the stop was not clean): %v", got)
	}
	if got := prefixTopics(t, e.kafka.Brokers, prefix); len(got) != 0 {
		t.Fatalf("topics left after reset --force: %v\n%s", got, out)
	}
	if n := groupMembers(t, adm, group); n != 0 {
		t.Fatalf("consumer group %s still has %d members", group, n)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	groups, err := adm.ListGroups(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(groups.Groups(), group) {
		t.Fatalf("consumer group %s left after reset --force", group)
	}
}
