package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/syncline/syncline/console"
	"github.com/syncline/syncline/testenv"
)

// View is the console's state as GET /api/task returns it.
type View = console.View

// browser runs Debian's chromium headless on url: it waits until the
// page's scripts have fetched and rendered (virtual time), then returns the
// DOM as rendered and, when png is not empty, saves a screenshot of the
// same state there.
func browser(t *testing.T, url, png string) string {
	t.Helper()
	bin, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatalf("chromium is missing (Debian package chromium; .ci/deps installs it): %v", err)
	}
	args := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
		"--user-data-dir=" + t.TempDir(), "--virtual-time-budget=3000", "--window-size=1280,900", "--dump-dom"}
	if png != "" {
		args = append(args, "--screenshot="+png)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, append(args, url)...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %s: %v\n%s", url, err, stderr.String())
	}
	return stdout.String()
}

// tableStage returns the stage the rendered page shows for a table; ""
// when it shows no row for it.
func tableStage(dom, table string) string {
	m := regexp.MustCompile(`<tr data-table="` + regexp.QuoteMeta(table) + `" data-stage="([a-z]*)"`).FindStringSubmatch(dom)
	if m == nil {
		return ""
	}
	return m[1]
}

// tableRow returns the rendered row of a table.
func tableRow(dom, table string) string {
	i := strings.Index(dom, `<tr data-table="`+table+`"`)
	if i < 0 {
		return ""
	}
	j := strings.Index(dom[i:], "</tr>")
	return dom[i : i+j]
}

// chartPoints returns how many points the rendered page drew in a chart,
// and the points of its line.
func chartPoints(dom, id string) (int, string) {
	m := regexp.MustCompile(`<svg id="` + id + `"[^>]* data-points="([0-9]+)"`).FindStringSubmatch(dom)
	if m == nil {
		return 0, ""
	}
	n, _ := strconv.Atoi(m[1])
	i := strings.Index(dom, `<svg id="`+id+`"`)
	j := strings.Index(dom[i:], "</svg>")
	line := regexp.MustCompile(`<polyline points="([^"]*)"`).FindStringSubmatch(dom[i : i+j])
	if line == nil {
		return n, ""
	}
	return n, line[1]
}

// TestConsoleInBrowser runs syncline dev with its console and loads the
// page in a real headless browser: a table held by a lock shows as
// snapshotting, then, released, as streaming; the delay chart draws points;
// a screenshot of the page with the tables is a PNG.
func TestConsoleInBrowser(t *testing.T) {
	src := testenv.Source(t)
	db := src.NewDatabase(t)
	tgt := testenv.Target(t)
	t.Cleanup(func() { tgt.Exec(t, "DROP DATABASE IF EXISTS `"+db+"`") })
	for _, table := range []string{"customers", "orders"} {
		src.Exec(t, "CREATE TABLE `"+db+"`."+table+" (id INT PRIMARY KEY, name VARCHAR(40))")
		insertRows(t, src, db+"."+table, 1, 200)
	}
	// A write lock holds the snapshot's reads of orders (capture commits
	// customers first: it snapshots in name order, and commits every
	// --batch-rows).
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	lock, err := src.DB(t, db).Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	defer lock.ExecContext(context.Background(), "UNLOCK TABLES")
	if _, err := lock.ExecContext(ctx, "LOCK TABLES orders WRITE"); err != nil {
		t.Fatal(err)
	}

	ports := freePorts(t, 3)
	url := "http://127.0.0.1:" + strconv.Itoa(ports[2]) + "/"
	dev := background(t, "dev", "--source", src.URL(""), "--tables", db+".*", "--data-dir", t.TempDir(),
		"--kafka-port", strconv.Itoa(ports[0]), "--registry-port", strconv.Itoa(ports[1]), "--console", "127.0.0.1:"+strconv.Itoa(ports[2]),
		"--topic-prefix", "console_"+db, "--flush-interval", "20ms", "--heartbeat", "200ms", "--chunk-rows", "50", "--batch-rows", "50",
		"--target", tgt.URL(""))
	waitUntil(t, 20*time.Second, "dev printing the console's URL", func() bool {
		out, _ := dev.Output()
		return strings.Contains(out, "syncline dev: console at "+url)
	})

	orders := db + ".orders"
	var dom string
	waitUntil(t, 30*time.Second, "the page showing orders snapshotting", func() bool {
		dom = browser(t, url, "")
		return tableStage(dom, orders) == "snapshot"
	})
	if row := tableRow(dom, orders); !strings.Contains(row, `class="progress"`) || !strings.Contains(row, " rows") {
		t.Fatalf("the snapshotting table has no progress:\n%s", row)
	}
	if _, err := lock.ExecContext(ctx, "UNLOCK TABLES"); err != nil {
		t.Fatal(err)
	}
	// A table without a key cannot be captured: capture parks it.
	src.Exec(t, "CREATE TABLE `"+db+"`.parked_notes (id INT, body VARCHAR(40))")
	src.Exec(t, "INSERT INTO `"+db+"`.parked_notes VALUES (1, 'a note')")
	png := filepath.Join(t.TempDir(), "console.png")
	waitUntil(t, 30*time.Second, "the page showing orders streaming and a delay chart", func() bool {
		dom = browser(t, url, png)
		n, line := chartPoints(dom, "chart-delay")
		return tableStage(dom, orders) == "streaming" && tableStage(dom, db+".customers") == "streaming" && n >= 2 && strings.Count(line, ",") >= 2 &&
			tableStage(dom, db+".parked_notes") == "parked"
	})
	if row := tableRow(dom, db+".parked_notes"); tableStage(dom, db+".parked_notes") != "parked" || !strings.Contains(row, `class="reason"`) || !strings.Contains(row, "key") {
		t.Fatalf("the table without a key is not shown parked with its reason:\n%s", row)
	}
	for _, want := range []string{">" + db + ".customers<", ">" + db + ".orders<", "console_" + db + "-apply-mysql", "Delay behind the source"} {
		if !strings.Contains(dom, want) {
			t.Fatalf("the rendered page lacks %q:\n%s", want, dom)
		}
	}
	shot, err := os.ReadFile(png)
	if err != nil {
		t.Fatal(err)
	}
	if len(shot) < 10000 || !bytes.HasPrefix(shot, []byte("\x89PNG\r\n\x1a\n")) {
		t.Fatalf("the screenshot is not a PNG of a page (%d bytes)", len(shot))
	}
	if os.Getenv("SYNCLINE_UPDATE_DOCS") != "" {
		if err := os.WriteFile(repoPath("docs", "console.png"), shot, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// The page polls /api/task; the read-only console refuses changes.
	resp, err := http.Get(url + "api/task")
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Changes bool `json:"changes"`
		Capture struct {
			Stage string `json:"stage"`
		} `json:"capture"`
	}
	err = json.NewDecoder(resp.Body).Decode(&v)
	resp.Body.Close()
	if err != nil || v.Changes || v.Capture.Stage != "streaming" {
		t.Fatalf("/api/task: %v, %+v", err, v)
	}
	resp, err = http.Post(url+"api/stop", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("POST /api/stop to a read-only console: %s, want 403", resp.Status)
	}
	if code, _, stderr := dev.Stop(); code != 0 {
		t.Fatalf("syncline dev exited with %d:\n%s", code, stderr)
	}
}

// consolePost posts a change to the console as its page does, with token
// and origin as given ("" leaves a header out); it returns the status and
// the reply.
func consolePost(t *testing.T, url, path, token, origin, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("X-Syncline-Token", token)
	}
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var reply struct{ Message, Error string }
	if err := json.NewDecoder(resp.Body).Decode(&reply); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, reply.Message + reply.Error
}

// TestConsoleAllowChanges changes a running task from the console started
// with --allow-changes: a POST without the page's token or from another
// origin is refused, a table missing on the source is refused by the same
// check as syncline task add-tables, an existing one is added and then
// streams, and it is removed again; each change is a revision of the
// object list that the page shows.
func TestConsoleAllowChanges(t *testing.T) {
	e := newTaskEnv(t, "- database: DB\n  tables: [a]", "DB:\n  rename: TDB")
	for _, table := range []string{"a", "b"} {
		e.src.Exec(t, "CREATE TABLE `"+e.db+"`."+table+" (id INT PRIMARY KEY, name VARCHAR(40))")
		insertRows(t, e.src, e.db+"."+table, 1, 20)
	}
	capture, apply := e.start(t)
	defer capture.Stop()
	defer apply.Stop()

	addr := "127.0.0.1:" + strconv.Itoa(freePorts(t, 1)[0])
	url := "http://" + addr + "/"
	con := background(t, "console", "--config", e.spec, "--allow-changes", "--listen", addr, "--interval", "300ms")
	defer con.Stop()
	var page string
	waitUntil(t, 20*time.Second, "the console's page", func() bool {
		resp, err := http.Get(url)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		_, _ = b.ReadFrom(resp.Body)
		page = b.String()
		return resp.StatusCode == http.StatusOK
	})
	m := regexp.MustCompile(`<meta name="syncline-token" content="([0-9a-f]+)">`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("the page carries no token:\n%s", page)
	}
	token := m[1]
	// view returns the object list's revision and the stage of table b.
	view := func() (int, string) {
		resp, err := http.Get(url + "api/task")
		if err != nil {
			return 0, ""
		}
		defer resp.Body.Close()
		var v View
		if json.NewDecoder(resp.Body).Decode(&v) != nil || v.Objects == nil {
			return 0, ""
		}
		for _, tb := range v.Tables {
			if tb.Name == e.db+".b" {
				return v.Objects.Revision, tb.Stage
			}
		}
		return v.Objects.Revision, ""
	}
	waitUntil(t, 30*time.Second, "the console showing revision 1", func() bool { rev, _ := view(); return rev == 1 })

	add := `{"tables": ["` + e.db + `.b"]}`
	if code, msg := consolePost(t, url, "api/tables/add", "", "", add); code != http.StatusForbidden {
		t.Fatalf("a change without the token: %d %s, want 403", code, msg)
	}
	if code, msg := consolePost(t, url, "api/tables/add", token, "http://evil.example", add); code != http.StatusForbidden {
		t.Fatalf("a change from another origin: %d %s, want 403", code, msg)
	}
	code, msg := consolePost(t, url, "api/tables/add", token, "http://"+addr, `{"tables": ["`+e.db+`.missing"]}`)
	if code != http.StatusConflict || !strings.Contains(msg, e.db+".missing does not exist on the source") || !strings.Contains(msg, "nothing was changed") {
		t.Fatalf("adding a missing table: %d %s", code, msg)
	}
	if code, msg := consolePost(t, url, "api/tables/add", token, "http://"+addr, add); code != http.StatusOK || !strings.Contains(msg, "object list revision 2 written") {
		t.Fatalf("adding %s.b: %d %s", e.db, code, msg)
	}
	waitUntil(t, 30*time.Second, "the console showing b streaming in revision 2", func() bool {
		rev, stage := view()
		return rev == 2 && stage == "streaming"
	})
	waitUntil(t, 30*time.Second, "b's rows in the target", func() bool {
		return len(rows(e.tgtDB, "SELECT id FROM `"+e.tdb+"`.b")) == 20
	})
	if code, msg := consolePost(t, url, "api/tables/remove", token, "", add); code != http.StatusOK || !strings.Contains(msg, "object list revision 3 written") {
		t.Fatalf("removing %s.b: %d %s", e.db, code, msg)
	}
	waitUntil(t, 10*time.Second, "the console showing revision 3", func() bool { rev, _ := view(); return rev == 3 })
	code, stdout, stderr := runCLI(t, "task", "show", "--config", e.spec)
	if code != 0 || !strings.Contains(stdout, "revision 3 (remove-tables "+e.db+".b") {
		t.Fatalf("syncline task show after the console's changes: exit %d\n%s%s", code, stdout, stderr)
	}
}

func TestConsoleUsageErrors(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"console", "--registry", "http://127.0.0.1:1"}, "missing required flag --brokers"},
		{[]string{"console", "--brokers", "127.0.0.1:1", "--registry", "http://127.0.0.1:1", "--allow-changes"}, "--allow-changes: give the task spec with --config"},
		{[]string{"console", "--brokers", "127.0.0.1:1", "--registry", "http://127.0.0.1:1", "--interval", "0s"}, "--interval 0s"},
		{[]string{"console", "--brokers", "127.0.0.1:1", "--registry", "http://127.0.0.1:1", "--listen", "nowhere"}, "--listen: console nowhere"},
		{[]string{"dev", "--source", "mysql://u@127.0.0.1:1/", "--tables", "a.*", "--data-dir", t.TempDir(), "--kafka-port", "0", "--registry-port", "0", "--console", "nowhere"}, "--console: console nowhere"},
	} {
		code, _, stderr := runCLI(t, tt.args...)
		if code != exitUsage || !strings.Contains(stderr, tt.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and %q", tt.args, code, stderr, tt.want)
		}
	}
}
