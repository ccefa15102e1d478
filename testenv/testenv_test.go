package testenv_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/syncline/syncline/internal/servers"
	"github.com/syncline/syncline/testenv"
)

func TestMain(m *testing.M) {
	testenv.ChildMain(runChild)
	os.Exit(testenv.Run(m))
}

// mysqlVars reads server variables by name.
func mysqlVars(t *testing.T, db *sql.DB, names ...string) map[string]string {
	t.Helper()
	got := make(map[string]string, len(names))
	for _, name := range names {
		var v sql.NullString
		if err := db.QueryRow("SELECT @@GLOBAL." + name).Scan(&v); err != nil {
			t.Fatalf("read @@%s: %v", name, err)
		}
		got[name] = v.String
	}
	return got
}

// TestTargetStopStart runs first and alone: it stops the shared target,
// which no other test may use meanwhile.
func TestTargetStopStart(t *testing.T) {
	tgt := testenv.Target(t)
	db := tgt.NewDatabase(t)
	tgt.Exec(t, "CREATE TABLE `"+db+"`.kv (k INT PRIMARY KEY, v VARCHAR(20)) ENGINE=InnoDB")
	tgt.Exec(t, "INSERT INTO `"+db+"`.kv VALUES (?, ?), (?, ?)", 1, "one", 2, "two")
	port := tgt.Port

	began := time.Now()
	if err := tgt.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	stopped := time.Since(began)
	if err := tgt.Stop(); err != nil {
		t.Fatalf("second stop: %v", err)
	}
	began = time.Now()
	if err := tgt.Start(); err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Logf("target stopped in %s, started again in %s", stopped.Round(time.Millisecond), time.Since(began).Round(time.Millisecond))
	if err := tgt.Start(); err == nil {
		t.Fatal("second start of a running server succeeded")
	}
	if tgt.Port != port {
		t.Fatalf("port changed from %d to %d", port, tgt.Port)
	}

	var n int
	var v string
	if err := tgt.DB(t, db).QueryRow("SELECT COUNT(*), MAX(v) FROM kv").Scan(&n, &v); err != nil {
		t.Fatalf("query after restart: %v", err)
	}
	if n != 2 || v != "two" {
		t.Fatalf("after restart got %d rows, max %q; want 2, \"two\"", n, v)
	}
	// Exec reconnects after the restart too.
	tgt.Exec(t, "INSERT INTO `"+db+"`.kv VALUES (3, 'three')")
}

func TestSource(t *testing.T) {
	t.Parallel()
	src := testenv.Source(t)
	if src.Host != "127.0.0.1" || src.User != "root" || src.Password == "" || src.Port == 0 || src.DataDir == "" {
		t.Fatalf("unexpected server fields: %+v", src)
	}
	want := fmt.Sprintf("mysql://root:%s@127.0.0.1:%d/x", src.Password, src.Port)
	if got := src.URL("x"); got != want {
		t.Errorf("URL = %q, want %q", got, want)
	}
	got := mysqlVars(t, src.DB(t, ""),
		"log_bin", "binlog_format", "binlog_row_image", "binlog_row_metadata",
		"gtid_strict_mode", "server_id", "character_set_server", "time_zone",
		"skip_name_resolve", "bind_address")
	want2 := map[string]string{
		"log_bin":              "1",
		"binlog_format":        "ROW",
		"binlog_row_image":     "FULL",
		"binlog_row_metadata":  "FULL",
		"gtid_strict_mode":     "1",
		"server_id":            "1",
		"character_set_server": "utf8mb4",
		"time_zone":            "+00:00",
		"skip_name_resolve":    "1",
		"bind_address":         "127.0.0.1",
	}
	for k, w := range want2 {
		if got[k] != w {
			t.Errorf("@@%s = %q, want %q", k, got[k], w)
		}
	}

	// Row changes reach the binlog.
	db := src.NewDatabase(t)
	src.Exec(t, "CREATE TABLE `"+db+"`.t (id INT PRIMARY KEY)")
	src.Exec(t, "INSERT INTO `"+db+"`.t VALUES (1)")
	var gtid string
	if err := src.DB(t, db).QueryRow("SELECT @@GLOBAL.gtid_binlog_pos").Scan(&gtid); err != nil || gtid == "" {
		t.Fatalf("gtid_binlog_pos = %q, %v; want a position", gtid, err)
	}
}

func TestStartMariaDBOptions(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		opts testenv.MariaDBOptions
		want map[string]string
	}{
		{
			name: "statement",
			opts: testenv.MariaDBOptions{BinlogFormat: "STATEMENT", ServerID: 7},
			want: map[string]string{"log_bin": "1", "binlog_format": "STATEMENT", "server_id": "7"},
		},
		{
			name: "minimal",
			opts: testenv.MariaDBOptions{RowImage: "MINIMAL", RowMetadata: "MINIMAL", ExtraConfig: []string{"max_connections=77"}},
			want: map[string]string{"binlog_format": "ROW", "binlog_row_image": "MINIMAL", "binlog_row_metadata": "MINIMAL", "max_connections": "77"},
		},
		{
			name: "nobinlog",
			opts: testenv.MariaDBOptions{NoBinlog: true},
			want: map[string]string{"log_bin": "0"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			began := time.Now()
			s := testenv.StartMariaDB(t, tc.opts)
			t.Logf("private mariadb started in %s", time.Since(began).Round(time.Millisecond))
			names := make([]string, 0, len(tc.want))
			for k := range tc.want {
				names = append(names, k)
			}
			got := mysqlVars(t, s.DB(t, ""), names...)
			for k, w := range tc.want {
				if got[k] != w {
					t.Errorf("@@%s = %q, want %q", k, got[k], w)
				}
			}
		})
	}
}

func TestLaunchMariaDBReusesDir(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	launched, err := servers.LaunchMariaDB(ctx, dir, testenv.MariaDBOptions{NoBinlog: true})
	if err != nil {
		t.Fatal(err)
	}
	first := &testenv.MySQL{MySQL: launched}
	first.Exec(t, "CREATE DATABASE kept")
	first.Exec(t, "CREATE TABLE kept.t (id INT PRIMARY KEY)")
	first.Exec(t, "INSERT INTO kept.t VALUES (1), (2)")
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	launched, err = servers.LaunchMariaDB(ctx, dir, testenv.MariaDBOptions{NoBinlog: true})
	if err != nil {
		t.Fatal(err)
	}
	second := &testenv.MySQL{MySQL: launched}
	defer second.Close()
	if second.Password == first.Password {
		t.Error("relaunch kept the old password")
	}
	var n int
	if err := second.DB(t, "kept").QueryRow("SELECT COUNT(*) FROM t").Scan(&n); err != nil || n != 2 {
		t.Fatalf("count = %d, %v; want 2", n, err)
	}
}

func TestTarget(t *testing.T) {
	t.Parallel()
	tgt := testenv.Target(t)
	db := tgt.NewDatabase(t)
	if !strings.HasPrefix(db, "t_testtarget_") {
		t.Errorf("database name %q does not start with t_testtarget_", db)
	}
	conn := tgt.DB(t, db)
	if _, err := conn.Exec("CREATE TABLE items (id BIGINT UNSIGNED PRIMARY KEY, name VARCHAR(50)) ENGINE=InnoDB"); err != nil {
		t.Fatalf("create table: %v", err)
	}
	// database/sql refuses uint64 arguments with the high bit set.
	if _, err := conn.Exec("INSERT INTO items VALUES (?, ?), (18446744073709551615, ?)", 1, "a", "ü"); err != nil {
		t.Fatalf("insert: %v", err)
	}
	var name string
	if err := conn.QueryRow("SELECT name FROM items WHERE id = 18446744073709551615").Scan(&name); err != nil || name != "ü" {
		t.Fatalf("select = %q, %v; want ü", name, err)
	}
	var logBin string
	if err := conn.QueryRow("SELECT @@log_bin").Scan(&logBin); err != nil || logBin != "0" {
		t.Fatalf("target log_bin = %q, %v; want 0", logBin, err)
	}
}

func TestPostgres(t *testing.T) {
	t.Parallel()
	pg := testenv.Postgres(t)
	db := pg.NewDatabase(t)
	want := fmt.Sprintf("postgres://postgres:%s@127.0.0.1:%d/%s?sslmode=disable", pg.Password, pg.Port, db)
	if got := pg.URL(db); got != want {
		t.Errorf("URL = %q, want %q", got, want)
	}
	ctx := context.Background()
	conn := pg.Conn(t, db)
	if _, err := conn.Exec(ctx, "CREATE TABLE items (id bigint PRIMARY KEY, name text)"); err != nil {
		t.Fatalf("create table: %v", err)
	}
	if _, err := conn.Exec(ctx, "INSERT INTO items VALUES ($1, $2), ($3, $4)", 1, "a", 2, "b"); err != nil {
		t.Fatalf("insert: %v", err)
	}
	var n int
	var current, tz string
	if err := conn.QueryRow(ctx, "SELECT count(*), current_database(), current_setting('TimeZone') FROM items").Scan(&n, &current, &tz); err != nil {
		t.Fatalf("select: %v", err)
	}
	if n != 2 || current != db || tz != "UTC" {
		t.Fatalf("got %d rows in %q, time zone %q; want 2 in %q, UTC", n, current, tz, db)
	}
}

func TestClickHouse(t *testing.T) {
	t.Parallel()
	ch := testenv.ClickHouse(t)
	db := ch.NewDatabase(t)
	if got, want := ch.URL(db), fmt.Sprintf("clickhouse://default@127.0.0.1:%d/%s", ch.Port, db); got != want {
		t.Errorf("URL = %q, want %q", got, want)
	}
	if ch.HTTPPort == 0 || ch.HTTPPort == ch.Port {
		t.Errorf("HTTPPort = %d, Port = %d", ch.HTTPPort, ch.Port)
	}
	ctx := context.Background()
	conn := ch.Conn(t)
	if err := conn.Exec(ctx, "CREATE TABLE `"+db+"`.items (id UInt64, name String, tag LowCardinality(String)) ENGINE = MergeTree ORDER BY id"); err != nil {
		t.Fatalf("create table: %v", err)
	}
	// 18.16 needs the column list: without it the server sends a
	// zero-column header.
	batch, err := conn.PrepareBatch(ctx, "INSERT INTO `"+db+"`.items (id, name, tag)")
	if err != nil {
		t.Fatalf("prepare batch: %v", err)
	}
	for i := range 1000 {
		if err := batch.Append(uint64(i), fmt.Sprintf("name-%d", i), "tag"); err != nil {
			t.Fatalf("append: %v", err)
		}
	}
	if err := batch.Send(); err != nil {
		t.Fatalf("send batch: %v", err)
	}
	var count, sum uint64
	if err := conn.QueryRow(ctx, "SELECT count(), sum(id) FROM `"+db+"`.items").Scan(&count, &sum); err != nil {
		t.Fatalf("select: %v", err)
	}
	if count != 1000 || sum != 999*1000/2 {
		t.Fatalf("count, sum = %d, %d; want 1000, %d", count, sum, 999*1000/2)
	}
	var name, tz string
	if err := conn.QueryRow(ctx, "SELECT name, timezone() FROM `"+db+"`.items WHERE id = 42").Scan(&name, &tz); err != nil {
		t.Fatalf("select row: %v", err)
	}
	if name != "name-42" || !strings.HasSuffix(tz, "UTC") {
		t.Fatalf("name, timezone = %q, %q; want name-42, UTC", name, tz)
	}
}

func TestKafka(t *testing.T) {
	t.Parallel()
	k := testenv.Kafka(t)
	if len(k.Brokers) != 1 || k.BrokersString() != k.Brokers[0] || !strings.HasPrefix(k.RegistryURL, "http://127.0.0.1:") {
		t.Fatalf("brokers %v (%q), registry %q", k.Brokers, k.BrokersString(), k.RegistryURL)
	}
	if testenv.Kafka(t) != k {
		t.Fatal("second Kafka call returned another cluster")
	}
	exerciseKafka(t, k)
}

func TestNewKafka(t *testing.T) {
	t.Parallel()
	k := testenv.NewKafka(t)
	if shared := testenv.Kafka(t); shared.BrokersString() == k.BrokersString() || shared.RegistryURL == k.RegistryURL {
		t.Fatalf("private cluster %v shares an address with the shared one %v", k, shared)
	}
	exerciseKafka(t, k)
}

// exerciseKafka creates a topic, produces and consumes a record, and
// registers and reads back a schema.
func exerciseKafka(t *testing.T, k *testenv.KafkaCluster) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	topic := fmt.Sprintf("testenv.%s.%d", t.Name(), time.Now().UnixNano())

	cl, err := kgo.NewClient(kgo.SeedBrokers(k.Brokers...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	if _, err := adm.CreateTopic(ctx, 3, 1, nil, topic); err != nil {
		t.Fatalf("create topic: %v", err)
	}
	// Automatic topic creation is off, even for a client asking for it.
	auto, err := kgo.NewClient(kgo.SeedBrokers(k.Brokers...), kgo.AllowAutoTopicCreation())
	if err != nil {
		t.Fatal(err)
	}
	defer auto.Close()
	if _, err := kadm.NewClient(auto).Metadata(ctx, topic+".missing"); err != nil {
		t.Fatalf("metadata: %v", err)
	}
	if topics, err := adm.ListTopics(ctx, topic+".missing"); err != nil || topics.Has(topic+".missing") {
		t.Errorf("a metadata request created topic %s.missing (err %v)", topic, err)
	}
	rec := &kgo.Record{Topic: topic, Key: []byte("k1"), Value: []byte("hello"),
		Headers: []kgo.RecordHeader{{Key: "h", Value: []byte("v")}}}
	if err := cl.ProduceSync(ctx, rec).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
	var got []*kgo.Record
	for len(got) == 0 {
		fetches := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("poll: %v", err)
		}
		if errs := fetches.Errors(); len(errs) > 0 {
			t.Fatalf("poll: %v", errs)
		}
		got = append(got, fetches.Records()...)
	}
	if string(got[0].Key) != "k1" || string(got[0].Value) != "hello" || len(got[0].Headers) != 1 {
		t.Fatalf("consumed %+v", got[0])
	}

	reg, err := sr.NewClient(sr.URLs(k.RegistryURL))
	if err != nil {
		t.Fatal(err)
	}
	schema := sr.Schema{Type: sr.TypeAvro, Schema: `{"type":"record","name":"Row","fields":[{"name":"id","type":"long"}]}`}
	created, err := reg.CreateSchema(ctx, topic+"-value", schema)
	if err != nil {
		t.Fatalf("register schema: %v", err)
	}
	byID, err := reg.SchemaByID(ctx, created.ID)
	if err != nil {
		t.Fatalf("schema by id: %v", err)
	}
	if !strings.Contains(byID.Schema, `"name":"Row"`) || created.Version != 1 {
		t.Fatalf("read back %q (version %d)", byID.Schema, created.Version)
	}
}
