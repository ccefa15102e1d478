package main

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/syncline/syncline/embedded"
	"github.com/syncline/syncline/internal/event"
	"github.com/syncline/syncline/internal/servers"
	applych "github.com/syncline/syncline/internal/target/clickhouse"
	"github.com/syncline/syncline/testenv"
)

// TestDemo runs syncline demo twice in one directory: the first run creates
// the shop and syncs it under a workload, the second (without workload)
// continues and catches up. Then every row the source holds is in Kafka,
// each created exactly once, and ClickHouse holds exactly the source's rows.
func TestDemo(t *testing.T) {
	dir := t.TempDir()
	// 1,500 orders make 100 products. With fewer, the workload updates each
	// product more often than verify's recheck can tell a change in flight
	// from a difference (verify/recheck.go), and the printed verify command
	// below reports rows that are only in flight.
	args := []string{"demo", "--dir", dir, "--orders", "1500", "--rate", "20", "--interval", "300ms"}

	demo := background(t, args...)
	var out string
	waitUntil(t, 60*time.Second, "the demo streaming all three tables", func() bool {
		out, _ = demo.Output()
		return lastStateHas(out, "customers streaming", "products streaming", "orders streaming")
	})
	checkDemoLeadsOn(t, out)
	time.Sleep(2 * time.Second) // the workload writes
	code, out, stderr := demo.Stop()
	if code != 0 {
		t.Fatalf("first demo: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, stderr)
	}
	for _, want := range []string{"created the sample shop (1500 orders)", "MariaDB 127.0.0.1:", "capture streaming delay ", "stopped; run it again"} {
		if !strings.Contains(out, want) {
			t.Fatalf("first demo's output lacks %q:\n%s", want, out)
		}
	}
	// The snapshot read the orders (1,500, and those the workload added
	// before the snapshot began).
	if !regexp.MustCompile(`\| orders streaming source=[0-9,]+ [^|]* captured=r[0-9],?[0-9]{3}`).MatchString(out) {
		t.Fatalf("first demo's output shows no snapshot of the orders:\n%s", out)
	}

	args[len(args)-3] = "0" // --rate 0: the second run only catches up
	demo = background(t, args...)
	waitUntil(t, 60*time.Second, "the second demo's ClickHouse equal to its source", func() bool {
		out, _ = demo.Output()
		return lastStateHas(out, "orders streaming") && caughtUp(out)
	})
	code, out, stderr = demo.Stop()
	if code != 0 {
		t.Fatalf("second demo: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, stderr)
	}
	if strings.Contains(out, "created the sample shop") || regexp.MustCompile(`captured=r[0-9]`).MatchString(out) {
		t.Fatalf("second demo created or snapshotted the shop again:\n%s", out)
	}

	// Compare the source with the embedded Kafka and the ClickHouse the
	// demo left behind.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	launched, err := servers.LaunchMariaDB(ctx, filepath.Join(dir, "mariadb"), servers.MariaDBOptions{})
	if err != nil {
		t.Fatal(err)
	}
	src := &testenv.MySQL{MySQL: launched}
	defer src.Close()
	svc, err := embedded.Start(embedded.Config{Dir: filepath.Join(dir, "kafka")})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	ch, err := servers.LaunchClickHouse(ctx, filepath.Join(dir, "clickhouse"))
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	// Closed before the server: ClickHouse waits for open connections when
	// it shuts down.
	chConn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{ch.Addr()}, Auth: clickhouse.Auth{Username: ch.User}})
	if err != nil {
		t.Fatal(err)
	}
	defer chConn.Close()
	db := src.DB(t, shopDB)
	for _, table := range shopTables {
		var ids []int64
		rows, err := db.QueryContext(ctx, "SELECT id FROM "+table+" ORDER BY id")
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
		rows.Close()

		topic := event.Names{Prefix: demoPrefix}.Table(shopDB, table)
		live := map[int64]bool{}
		created := map[int64]int{}
		for _, c := range readChanges(t, svc.Brokers, svc.RegistryURL, topic) {
			switch c.op {
			case "r", "c":
				created[c.id]++
				if created[c.id] > 1 {
					t.Fatalf("%s: id %d created twice", table, c.id)
				}
				live[c.id] = true
			case "d":
				if !live[c.id] {
					t.Fatalf("%s: id %d deleted but not there", table, c.id)
				}
				delete(live, c.id)
			}
		}
		var got []int64
		for id := range live {
			got = append(got, id)
		}
		slices.Sort(got)
		if !slices.Equal(got, ids) {
			t.Fatalf("%s: %d rows in the source, %d live in Kafka", table, len(ids), len(got))
		}

		var inCH []int64
		chRows, err := chConn.Query(ctx, "SELECT toInt64(id) FROM "+shopDB+"."+table+" FINAL WHERE "+applych.DeletedColumn+" = 0 ORDER BY id")
		if err != nil {
			t.Fatal(err)
		}
		for chRows.Next() {
			var id int64
			if err := chRows.Scan(&id); err != nil {
				t.Fatal(err)
			}
			inCH = append(inCH, id)
		}
		chRows.Close()
		if !slices.Equal(inCH, ids) {
			t.Fatalf("%s: %d rows in the source, %d in ClickHouse", table, len(ids), len(inCH))
		}
	}
}

func TestDemoUsageErrors(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"demo", "--rate", "-1"}, "--rate -1"},
		{[]string{"demo", "--orders", "0"}, "--orders 0"},
		{[]string{"demo", "--interval", "0s"}, "--interval 0s"},
	} {
		code, _, stderr := runCLI(t, tt.args...)
		if code != exitUsage || !strings.Contains(stderr, tt.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and %q", tt.args, code, stderr, tt.want)
		}
	}
}

// lastState returns the last state line of the demo's output (stdout is
// not a terminal: one line per refresh).
func lastState(out string) string {
	last := ""
	for line := range strings.Lines(out) {
		if stateLine.MatchString(line) {
			last = line
		}
	}
	return last
}

var stateLine = regexp.MustCompile(`^[0-9]{2}:[0-9]{2}:[0-9]{2} capture `)

// caughtUp reports whether the last state line shows, for every table, as
// many rows in ClickHouse as in the source and no apply lag.
func caughtUp(out string) bool {
	m := regexp.MustCompile(`\| (\w+) \S+ source=([0-9,]+) kafka=\S+ clickhouse=([0-9,]+) lag=(\S+)`).FindAllStringSubmatch(lastState(out), -1)
	for _, t := range m {
		if t[2] != t[3] || t[4] != "0" {
			return false
		}
	}
	return len(m) == len(shopTables)
}

// lastStateHas reports whether the last state line holds every string of
// want.
func lastStateHas(out string, want ...string) bool {
	line := lastState(out)
	for _, w := range want {
		if !strings.Contains(line, w) {
			return false
		}
	}
	return line != ""
}

// checkDemoLeadsOn runs the commands the demo printed against the running
// demo, and reads its console: each works as printed.
func checkDemoLeadsOn(t *testing.T, out string) {
	t.Helper()
	var commands [][]string
	for line := range strings.Lines(out) {
		f := strings.Fields(line)
		if len(f) < 2 || f[0] != "syncline" || !strings.HasPrefix(line, "  ") || f[1] == "console" {
			continue
		}
		for i, a := range f {
			f[i] = strings.Trim(a, "'") // the shell's quotes
		}
		commands = append(commands, f[1:])
	}
	want := map[string][]string{
		"status":   {"shop.orders", `group "demo-apply-clickhouse": Stable`},
		"task":     {"object list revision 1", "objects[0]: shop: *"},
		"precheck": {},
		"verify":   {},
	}
	if len(commands) != len(want) {
		t.Fatalf("the demo printed %d commands to try, want %d:\n%s", len(commands), len(want), out)
	}
	for _, args := range commands {
		code, stdout, stderr := runCLI(t, args...)
		if code != 0 {
			t.Fatalf("printed command %v: exit %d\nstdout:\n%s\nstderr:\n%s", args, code, stdout, stderr)
		}
		for _, w := range want[args[0]] {
			if !strings.Contains(stdout, w) {
				t.Fatalf("printed command %v: output lacks %q:\n%s", args, w, stdout)
			}
		}
	}

	m := regexp.MustCompile(`Console: (http://127\.0\.0\.1:[0-9]+/)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("the demo printed no console URL:\n%s", out)
	}
	resp, err := http.Get(m[1] + "api/task")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v struct {
		Tables []struct {
			Name string `json:"name"`
		} `json:"tables"`
		Objects *struct {
			Revision int `json:"revision"`
		} `json:"objects"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatal(err)
	}
	if len(v.Tables) != len(shopTables) || v.Objects == nil || v.Objects.Revision < 1 {
		t.Fatalf("the demo's console shows %+v, want the shop's %d tables and its object list", v, len(shopTables))
	}
}
