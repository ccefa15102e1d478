package precheck

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"

	"github.com/syncline/syncline/endpoint"
	"github.com/syncline/syncline/filter"
	"github.com/syncline/syncline/internal/target/targetcheck"
	"github.com/syncline/syncline/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Run(m)) }

// newUser creates a user on srv, runs the grants ({user} stands for the
// account), drops the user when the test ends and returns its URL.
func newUser(t *testing.T, srv *testenv.MySQL, grants ...string) (url, password string) {
	t.Helper()
	name := "u" + targetcheck.RandomSuffix()
	password = "pw" + targetcheck.RandomSuffix() + "Z"
	account := fmt.Sprintf("'%s'@'%%'", name)
	srv.Exec(t, fmt.Sprintf("CREATE USER %s IDENTIFIED BY '%s'", account, password))
	t.Cleanup(func() { srv.Exec(t, "DROP USER "+account) })
	for _, g := range grants {
		srv.Exec(t, strings.ReplaceAll(g, "{user}", account))
	}
	return fmt.Sprintf("mysql://%s:%s@%s/", name, password, srv.Addr()), password
}

// captureGrants are the grants a capture user needs on db.
func captureGrants(db string) []string {
	return []string{
		"GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO {user}",
		"GRANT SELECT ON `" + db + "`.* TO {user}",
	}
}

func mustParse(t *testing.T, raw string) endpoint.Endpoint {
	t.Helper()
	e, err := endpoint.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// newConfig returns a Config for the source URL and --tables, with a short
// timeout.
func newConfig(t *testing.T, sourceURL, tables string) Config {
	t.Helper()
	f, err := filter.Parse(tables, "")
	if err != nil {
		t.Fatal(err)
	}
	return Config{Source: mustParse(t, sourceURL), Tables: f, Timeout: 3 * time.Second}
}

// text renders the report for failure messages.
func text(rep Report) string {
	var b strings.Builder
	_ = rep.WriteText(&b)
	return b.String()
}

// expect asserts that the report has a result of check with status whose
// message and fix contain every string of want (message|fix: "fix:" prefix
// selects the fix).
func expect(t *testing.T, rep Report, check string, status Status, want ...string) Result {
	t.Helper()
	for _, r := range rep.Find(check) {
		if r.Status != status {
			continue
		}
		ok := true
		for _, w := range want {
			if fix, isFix := strings.CutPrefix(w, "fix:"); isFix {
				ok = ok && strings.Contains(r.Fix, strings.TrimSpace(fix))
			} else {
				ok = ok && strings.Contains(r.Message, w)
			}
		}
		if ok {
			if status != Pass && r.Fix == "" {
				t.Errorf("%s %s has no fix: %q", status, check, r.Message)
			}
			return r
		}
	}
	t.Errorf("no %s result of %s containing %q in:\n%s", status, check, want, text(rep))
	return Result{}
}

// expectNone asserts that check reported nothing.
func expectNone(t *testing.T, rep Report, check string) {
	t.Helper()
	if got := rep.Find(check); len(got) > 0 {
		t.Errorf("%s reported %v, want nothing, in:\n%s", check, got, text(rep))
	}
}

func TestGoodSetup(t *testing.T) {
	src := testenv.Source(t)
	db := src.NewDatabase(t)
	src.Exec(t, "CREATE TABLE `"+db+"`.orders (id BIGINT UNSIGNED PRIMARY KEY, note VARCHAR(20), amount DECIMAL(10,2))")
	src.Exec(t, "CREATE TABLE `"+db+"`.items (sku CHAR(8) NOT NULL, UNIQUE KEY uk_sku (sku), qty INT)")
	srcURL, password := newUser(t, src, captureGrants(db)...)

	tgt := testenv.Target(t)
	pg := testenv.Postgres(t)
	ch := testenv.ClickHouse(t)
	kafka := testenv.Kafka(t)

	cfg := newConfig(t, srcURL, db+".*")
	cfg.Targets = []endpoint.Endpoint{mustParse(t, tgt.URL("")), mustParse(t, pg.URL(pg.NewDatabase(t))), mustParse(t, ch.URL(""))}
	cfg.Brokers = kafka.Brokers
	cfg.RegistryURL = kafka.RegistryURL
	rep := Run(context.Background(), cfg)
	out := text(rep)
	t.Log("\n" + out)
	if rep.Failed() {
		t.Fatalf("good setup failed:\n%s", out)
	}
	if strings.Contains(out, password) {
		t.Errorf("report contains the password:\n%s", out)
	}
	for _, check := range []string{
		"source.connect", "source.version", "source.log_bin", "source.binlog_format", "source.binlog_row_image",
		"source.binlog_row_metadata", "source.binlog_retention", "source.gtid", "source.privileges",
		"tables.selected", "source.select", "tables.definition", "tables.engine", "tables.key", "tables.types",
		"kafka.brokers", "kafka.create_topic", "kafka.registry",
	} {
		expect(t, rep, check, Pass)
	}
	expect(t, rep, "tables.selected", Pass, "2 selected tables: ", db+".items", db+".orders")
	expect(t, rep, "source.binlog_retention", Pass, "7 days")
	expect(t, rep, "source.gtid", Pass, "gtid_strict_mode=ON")
	// The capture user may not list the source's replicas on MariaDB 10.5+
	// (SHOW SLAVE HOSTS needs REPLICATION MASTER ADMIN): precheck says so.
	expect(t, rep, "source.server_id", Warn, "differs from the source's own (1)", "fix:REPLICATION MASTER ADMIN")
	for _, label := range []string{"mysql at " + tgt.Addr(), "postgres at " + pg.Addr(), "clickhouse at " + ch.Addr()} {
		expect(t, rep, "target.connect", Pass, label)
		expect(t, rep, "target.privileges", Pass, label)
		expect(t, rep, "target.tables", Pass, label, "none of the 2 selected tables exists yet")
	}
	expect(t, rep, "target.privileges", Pass, "created, filled, altered and dropped a scratch table in syncline_precheck_")
	expect(t, rep, "kafka.create_topic", Pass, "syncline.__precheck_")
}

func TestMisconfiguredBinlog(t *testing.T) {
	t.Parallel()
	src := testenv.StartMariaDB(t, testenv.MariaDBOptions{
		BinlogFormat: "STATEMENT",
		RowImage:     "MINIMAL",
		RowMetadata:  "MINIMAL",
		ExtraConfig:  []string{"expire_logs_days=1"},
	})
	src.Exec(t, "CREATE DATABASE shop")
	src.Exec(t, "CREATE TABLE shop.orders (id INT PRIMARY KEY)")
	rep := Run(context.Background(), newConfig(t, src.URL(""), "shop.*"))
	t.Log("\n" + text(rep))
	expect(t, rep, "source.log_bin", Pass)
	expect(t, rep, "source.binlog_format", Fail, "binlog_format is STATEMENT", "fix:SET GLOBAL binlog_format = 'ROW'")
	expect(t, rep, "source.binlog_row_image", Fail, "binlog_row_image is MINIMAL", "fix:SET GLOBAL binlog_row_image = 'FULL'")
	expect(t, rep, "source.binlog_row_metadata", Fail, "binlog_row_metadata is MINIMAL", "column names", "fix:SET GLOBAL binlog_row_metadata = 'FULL'")
	expect(t, rep, "source.binlog_retention", Warn, "expire after 1 day", "fix:binlog_expire_logs_seconds = 604800")
	if !rep.Failed() {
		t.Error("report did not fail")
	}
}

func TestBinlogOff(t *testing.T) {
	t.Parallel()
	src := testenv.StartMariaDB(t, testenv.MariaDBOptions{NoBinlog: true})
	src.Exec(t, "CREATE DATABASE shop")
	src.Exec(t, "CREATE TABLE shop.orders (id INT PRIMARY KEY)")
	rep := Run(context.Background(), newConfig(t, src.URL(""), "shop.*"))
	expect(t, rep, "source.log_bin", Fail, "the binary log is off", "fix:add log_bin", "fix:restart")
	// MariaDB's default binlog_row_metadata is NO_LOG.
	expect(t, rep, "source.binlog_row_metadata", Fail, "binlog_row_metadata is NO_LOG", "fix:binlog_row_metadata = 'FULL'")
	expect(t, rep, "tables.key", Pass)
}

func TestMissingPrivileges(t *testing.T) {
	src := testenv.Source(t)
	db := src.NewDatabase(t)
	src.Exec(t, "CREATE TABLE `"+db+"`.a (id INT PRIMARY KEY)")
	src.Exec(t, "CREATE TABLE `"+db+"`.b (id INT PRIMARY KEY)")

	t.Run("replication slave", func(t *testing.T) {
		url, _ := newUser(t, src, "GRANT BINLOG MONITOR ON *.* TO {user}", "GRANT SELECT ON `"+db+"`.* TO {user}")
		user := mustParse(t, url).User
		rep := Run(context.Background(), newConfig(t, url, db+".*"))
		expect(t, rep, "source.privileges", Fail,
			fmt.Sprintf("'%s'@'%%' lacks REPLICATION SLAVE", user), "read the binlog",
			fmt.Sprintf("fix:GRANT REPLICATION SLAVE ON *.* TO '%s'@'%%'", user))
		expect(t, rep, "source.select", Pass)
	})
	t.Run("binlog monitor and select", func(t *testing.T) {
		// SELECT on a only; b is visible through INSERT but not readable.
		url, _ := newUser(t, src, "GRANT REPLICATION SLAVE ON *.* TO {user}",
			"GRANT SELECT ON `"+db+"`.a TO {user}", "GRANT INSERT ON `"+db+"`.b TO {user}")
		user := mustParse(t, url).User
		rep := Run(context.Background(), newConfig(t, url, db+".*"))
		expect(t, rep, "source.privileges", Fail, "lacks BINLOG MONITOR", "fix:GRANT BINLOG MONITOR ON *.*")
		r := expect(t, rep, "source.select", Fail, "lacks SELECT on "+db+".b", "fix:GRANT SELECT ON `"+db+"`.* TO '"+user+"'@'%'")
		if strings.Contains(r.Message, db+".a") {
			t.Errorf("source.select names %s.a, which the user may read: %q", db, r.Message)
		}
	})
}

func TestTableProblems(t *testing.T) {
	src := testenv.Source(t)
	db := src.NewDatabase(t)
	q := "`" + db + "`."
	src.Exec(t, "CREATE TABLE "+q+"good (id INT PRIMARY KEY)")
	src.Exec(t, "CREATE TABLE "+q+"nokey (id INT, v TEXT)")
	src.Exec(t, "CREATE TABLE "+q+"nullable_unique (id INT NULL, UNIQUE KEY uk (id))")
	src.Exec(t, "CREATE TABLE "+q+"legacy (id INT PRIMARY KEY) ENGINE=MyISAM")
	src.Exec(t, "CREATE TABLE "+q+"addr (id INT PRIMARY KEY, ip INET6)")
	src.Exec(t, "CREATE VIEW "+q+"v AS SELECT id FROM "+q+"good")
	url, _ := newUser(t, src, captureGrants(db)...)

	rep := Run(context.Background(), newConfig(t, url, db+".*, "+db+".nothing_*"))
	expect(t, rep, "tables.selected", Pass, "5 selected tables: ")
	expect(t, rep, "tables.selected", Fail, "pattern "+db+".nothing_* selects no table", "fix:check the pattern")
	expect(t, rep, "tables.key", Fail, db+".nokey has no primary key", "fix:ALTER TABLE `"+db+"`.`nokey` ADD PRIMARY KEY", "fix:--exclude-tables "+db+".nokey")
	expect(t, rep, "tables.key", Fail, db+".nullable_unique has no primary key")
	expect(t, rep, "tables.engine", Warn, db+".legacy uses MyISAM", "not a consistent read", "fix:ALTER TABLE `"+db+"`.`legacy` ENGINE=InnoDB")
	// INET6 (like UUID and INET4) is carried since Syncline knows it; the
	// servers tested have no type left that capture refuses.
	expect(t, rep, "tables.types", Pass, "supported column types only")
	for _, r := range rep.Find("tables.types") {
		if r.Status != Pass {
			t.Errorf("tables.types: %s %q", r.Status, r.Message)
		}
	}
	for _, r := range rep.Results {
		if strings.Contains(r.Message, db+".good") && r.Status != Pass {
			t.Errorf("%s reported %s for the good table: %q", r.Check, r.Status, r.Message)
		}
		if strings.Contains(r.Message, db+".v ") || strings.HasSuffix(r.Message, db+".v") {
			t.Errorf("%s mentions the view: %q", r.Check, r.Message)
		}
	}
}

func TestUnreachable(t *testing.T) {
	cfg := newConfig(t, fmt.Sprintf("mysql://capture:pw@127.0.0.1:%d/", testenv.ClosedPort(t)), "shop.*")
	cfg.Targets = []endpoint.Endpoint{
		mustParse(t, fmt.Sprintf("postgres://u:pw@127.0.0.1:%d/db", testenv.ClosedPort(t))),
		mustParse(t, fmt.Sprintf("clickhouse://127.0.0.1:%d/db", testenv.SilentServer(t))),
	}
	cfg.Brokers = []string{fmt.Sprintf("127.0.0.1:%d", testenv.ClosedPort(t))}
	cfg.RegistryURL = fmt.Sprintf("http://127.0.0.1:%d", testenv.SilentServer(t))
	cfg.Timeout = 500 * time.Millisecond
	began := time.Now()
	rep := Run(context.Background(), cfg)
	took := time.Since(began)
	expect(t, rep, "source.connect", Fail, "cannot reach mysql at 127.0.0.1:", "connection refused", "fix:check host, port and firewall")
	for _, check := range []string{"source.version", "source.binlog_format", "source.privileges", "tables.selected", "tables.key"} {
		expectNone(t, rep, check)
	}
	expect(t, rep, "target.connect", Fail, "cannot reach postgres", "connection refused", "fix:check host, port and firewall")
	expect(t, rep, "target.connect", Fail, "cannot reach clickhouse", "no answer within 500ms", "fix:firewall")
	expect(t, rep, "kafka.brokers", Fail, "cannot reach Kafka at 127.0.0.1:", "fix:check --brokers")
	expectNone(t, rep, "kafka.create_topic")
	expect(t, rep, "kafka.registry", Fail, "does not answer", "fix:check --registry")
	if took > 10*time.Second {
		t.Errorf("precheck of unreachable endpoints took %s with a 500ms timeout", took)
	}
	t.Logf("took %s", took)
}

func TestSilentSource(t *testing.T) {
	cfg := newConfig(t, fmt.Sprintf("mysql://capture:pw@127.0.0.1:%d/", testenv.SilentServer(t)), "shop.*")
	cfg.Timeout = 300 * time.Millisecond
	began := time.Now()
	rep := Run(context.Background(), cfg)
	expect(t, rep, "source.connect", Fail, "no answer within 300ms", "fix:firewall")
	if took := time.Since(began); took > 3*time.Second {
		t.Errorf("took %s with a 300ms timeout", took)
	}
}

func TestWrongPassword(t *testing.T) {
	src := testenv.Source(t)
	url, password := newUser(t, src)
	wrong := strings.Replace(url, ":"+password+"@", ":Not-"+password+"@", 1)
	rep := Run(context.Background(), newConfig(t, wrong, "shop.*"))
	user := mustParse(t, url).User
	expect(t, rep, "source.connect", Fail, fmt.Sprintf("user %q was refused", user), "fix:check the password")
	if out := text(rep); strings.Contains(out, password) {
		t.Errorf("report contains the password:\n%s", out)
	}
}

func TestServerID(t *testing.T) {
	src := testenv.Source(t)
	db := src.NewDatabase(t)
	src.Exec(t, "CREATE TABLE `"+db+"`.t (id INT PRIMARY KEY)")

	t.Run("source's own", func(t *testing.T) {
		cfg := newConfig(t, src.URL(""), db+".*")
		cfg.ServerID = 1
		rep := Run(context.Background(), cfg)
		expect(t, rep, "source.server_id", Fail, "server id 1 is the source's own server_id", "fix:choose another --server-id")
	})
	t.Run("another replica", func(t *testing.T) {
		const id = 4242
		syncer := replication.NewBinlogSyncer(replication.BinlogSyncerConfig{
			ServerID: id, Flavor: "mariadb", Host: src.Host, Port: uint16(src.Port),
			User: src.User, Password: src.Password, Logger: slog.New(slog.DiscardHandler),
		})
		defer syncer.Close()
		streamer, err := syncer.StartSync(masterPosition(t, src))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := streamer.GetEvent(ctx); err != nil { // registered and streaming
			t.Fatal(err)
		}
		cfg := newConfig(t, src.URL(""), db+".*")
		cfg.ServerID = id
		rep := Run(context.Background(), cfg)
		expect(t, rep, "source.server_id", Fail, "server id 4242 is already used by a replica connected to the source", "fix:choose another --server-id")

		cfg.ServerID = id + 1
		rep = Run(context.Background(), cfg)
		expect(t, rep, "source.server_id", Pass, "server id 4243 is free", "1 other replicas connected")
	})
}

// masterPosition returns the source's current binlog position.
func masterPosition(t *testing.T, src *testenv.MySQL) mysql.Position {
	t.Helper()
	conn, err := endpoint.DialMySQL(context.Background(), mustParse(t, src.URL("")), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	rows, err := query(context.Background(), conn, 5*time.Second, "SHOW MASTER STATUS")
	if err != nil || len(rows) != 1 {
		t.Fatalf("SHOW MASTER STATUS: %v %v", rows, err)
	}
	pos, err := strconv.ParseUint(rows[0][1], 10, 32)
	if err != nil {
		t.Fatal(err)
	}
	return mysql.Position{Name: rows[0][0], Pos: uint32(pos)}
}

func TestTargets(t *testing.T) {
	src := testenv.Source(t)
	db := src.NewDatabase(t)
	src.Exec(t, "CREATE TABLE `"+db+"`.t1 (id INT PRIMARY KEY)")
	src.Exec(t, "CREATE TABLE `"+db+"`.t2 (id INT PRIMARY KEY)")
	srcURL, _ := newUser(t, src, captureGrants(db)...)

	// Existing tables: db.t1 in MySQL and ClickHouse, schema db table t1
	// in the PostgreSQL database.
	tgt := testenv.Target(t)
	tgt.Exec(t, "CREATE DATABASE `"+db+"`")
	t.Cleanup(func() { tgt.Exec(t, "DROP DATABASE `"+db+"`") })
	tgt.Exec(t, "CREATE TABLE `"+db+"`.t1 (id INT PRIMARY KEY)")
	weakURL, _ := newUser(t, tgt, "GRANT SELECT, INSERT ON `"+db+"`.* TO {user}")
	weakUser := mustParse(t, weakURL).User

	pg := testenv.Postgres(t)
	pgDB := pg.NewDatabase(t)
	pconn := pg.Conn(t, pgDB)
	ctx := context.Background()
	role := "r" + targetcheck.RandomSuffix()
	for _, stmt := range []string{
		`CREATE SCHEMA "` + db + `"`,
		`CREATE TABLE "` + db + `".t1 (id int PRIMARY KEY)`,
		`CREATE ROLE ` + role + ` LOGIN PASSWORD 'pw'`,
		`REVOKE CREATE ON DATABASE "` + pgDB + `" FROM PUBLIC`,
	} {
		if _, err := pconn.Exec(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	t.Cleanup(func() {
		if _, err := pconn.Exec(ctx, `DROP SCHEMA "`+db+`" CASCADE; DROP ROLE `+role); err != nil {
			t.Log(err)
		}
	})

	ch := testenv.ClickHouse(t)
	chDB := db
	cconn := ch.Conn(t)
	if err := cconn.Exec(ctx, "CREATE DATABASE `"+chDB+"`"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cconn.Exec(context.Background(), "DROP DATABASE IF EXISTS `"+chDB+"`") })
	if err := cconn.Exec(ctx, "CREATE TABLE `"+chDB+"`.t1 (id Int32) ENGINE = MergeTree ORDER BY id"); err != nil {
		t.Fatal(err)
	}

	cfg := newConfig(t, srcURL, db+".*")
	cfg.Targets = []endpoint.Endpoint{
		mustParse(t, tgt.URL("")),
		mustParse(t, pg.URL(pgDB)),
		mustParse(t, ch.URL("")),
		mustParse(t, weakURL),
		mustParse(t, fmt.Sprintf("postgres://%s:pw@%s/%s?sslmode=disable", role, pg.Addr(), pgDB)),
	}
	rep := Run(ctx, cfg)
	for _, label := range []string{"mysql at " + tgt.Addr() + ":", "postgres at " + pg.Addr() + "/" + pgDB + ":", "clickhouse at " + ch.Addr() + "/default:"} {
		expect(t, rep, "target.tables", Warn, label, "the task will write into existing table "+db+".t1", "fix:drop or rename it")
	}
	for _, r := range rep.Find("target.tables") {
		if strings.Contains(r.Message, db+".t2") {
			t.Errorf("target.tables reports %s.t2, which exists in no target: %q", db, r.Message)
		}
	}
	expect(t, rep, "target.privileges", Fail, fmt.Sprintf("'%s'@'%%' lacks CREATE, UPDATE, DELETE, ALTER on %s", weakUser, db),
		fmt.Sprintf("fix:GRANT CREATE, INSERT, UPDATE, DELETE, ALTER ON `%s`.* TO '%s'@'%%'", db, weakUser))
	expect(t, rep, "target.privileges", Fail, role+" lacks CREATE and USAGE on schema "+db, "fix:GRANT CREATE, USAGE ON SCHEMA")
	expect(t, rep, "target.privileges", Pass, "postgres at "+pg.Addr()+"/"+pgDB+": postgres is a superuser")
	expect(t, rep, "target.privileges", Pass, "clickhouse at", "scratch table")
}

func TestValidate(t *testing.T) {
	src := mustParse(t, "mysql://u@h/")
	pgEP := mustParse(t, "postgres://u@h/db")
	tables, _ := filter.Parse("a.*", "")
	good := Config{Source: src, Tables: tables}
	if err := good.Validate(); err != nil {
		t.Fatalf("minimal config: %v", err)
	}
	tests := []struct {
		mutate func(*Config)
		field  string
	}{
		{func(c *Config) { c.Source = endpoint.Endpoint{} }, "Source"},
		{func(c *Config) { c.Source = pgEP }, "Source"},
		{func(c *Config) { c.Targets = []endpoint.Endpoint{src, {Kind: "oracle", Host: "h"}} }, "Targets[1]"},
		{func(c *Config) { c.Brokers = []string{"k:9092", "k"} }, "Brokers[1]"},
		{func(c *Config) { c.Brokers = []string{"k:0"} }, "Brokers[0]"},
		{func(c *Config) { c.RegistryURL = "ftp://r" }, "RegistryURL"},
		{func(c *Config) { c.TopicPrefix = "bad prefix" }, "TopicPrefix"},
		{func(c *Config) { c.TopicPrefix = strings.Repeat("p", 201) }, "TopicPrefix"},
		{func(c *Config) { c.Tables = nil }, "Tables"},
		{func(c *Config) { c.Timeout = -time.Second }, "Timeout"},
	}
	for _, tt := range tests {
		c := good
		tt.mutate(&c)
		err := c.Validate()
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != tt.field {
			t.Errorf("Validate() = %v, want a FieldError for %s", err, tt.field)
		}
		rep := Run(context.Background(), c)
		if len(rep.Results) != 1 || rep.Results[0].Check != "config" || !rep.Failed() {
			t.Errorf("Run with invalid %s = %v, want one failed config result", tt.field, rep.Results)
		}
	}
}

func TestWriteText(t *testing.T) {
	rep := Report{Results: []Result{
		{Check: "source.connect", Status: Pass, Message: "connected"},
		{Check: "source.binlog_format", Status: Fail, Message: "binlog_format is\nSTATEMENT", Fix: "SET GLOBAL binlog_format = 'ROW'"},
		{Check: "x", Status: Warn, Message: "hm", Fix: "look"},
	}}
	want := "" +
		"STATUS  CHECK                 MESSAGE\n" +
		"pass    source.connect        connected\n" +
		"fail    source.binlog_format  binlog_format is STATEMENT\n" +
		"                              fix: SET GLOBAL binlog_format = 'ROW'\n" +
		"warn    x                     hm\n" +
		"                              fix: look\n" +
		"\n1 passed, 1 warning, 1 failed\n"
	if got := text(rep); got != want {
		t.Errorf("WriteText:\n%s\nwant:\n%s", got, want)
	}
	if rep.Worst() != Fail || !rep.Failed() {
		t.Errorf("Worst() = %v, Failed() = %v", rep.Worst(), rep.Failed())
	}
}
