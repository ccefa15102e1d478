package embedded

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
)

// freePort returns a port of 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func schemaOf(name string) sr.Schema {
	return sr.Schema{Type: sr.TypeAvro, Schema: `{"type":"record","name":"` + name + `","fields":[{"name":"id","type":"int"}]}`}
}

// TestRestartKeepsState runs the services, writes a transaction, a group
// offset and schemas, restarts them on the same ports and checks that all
// of it is still there and that new schemas get new ids.
func TestRestartKeepsState(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cfg := Config{Dir: t.TempDir(), KafkaPort: freePort(t), RegistryPort: freePort(t)}

	s, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if want := "127.0.0.1:" + strconv.Itoa(cfg.KafkaPort); s.Brokers[0] != want {
		t.Fatalf("brokers %v, want %s", s.Brokers, want)
	}
	rc, err := sr.NewClient(sr.URLs(s.RegistryURL))
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]int{}
	for _, subject := range []string{"a-value", "b-value", "c-value"} {
		ss, err := rc.CreateSchema(ctx, subject, schemaOf(subject[:1]))
		if err != nil {
			t.Fatal(err)
		}
		ids[subject] = ss.ID
	}
	// The same schema under a second subject reuses its id; registering
	// it again changes nothing.
	if ss, err := rc.CreateSchema(ctx, "a2-value", schemaOf("a")); err != nil || ss.ID != ids["a-value"] {
		t.Fatalf("a2-value: id %d, err %v; want id %d", ss.ID, err, ids["a-value"])
	}
	if _, err := rc.CreateSchema(ctx, "a-value", schemaOf("a")); err != nil {
		t.Fatal(err)
	}
	if _, err := rc.DeleteSubject(ctx, "c-value", sr.SoftDelete); err != nil {
		t.Fatal(err)
	}

	cl, err := kgo.NewClient(kgo.SeedBrokers(s.Brokers...), kgo.TransactionalID("t1"))
	if err != nil {
		t.Fatal(err)
	}
	adm := kadm.NewClient(cl)
	if _, err := adm.CreateTopic(ctx, 1, -1, nil, "events"); err != nil {
		t.Fatal(err)
	}
	if err := cl.BeginTransaction(); err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "events", Value: []byte(strconv.Itoa(i))}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	if err := cl.EndTransaction(ctx, kgo.TryCommit); err != nil {
		t.Fatal(err)
	}
	offsets := kadm.Offsets{}
	offsets.AddOffset("events", 0, 4, -1)
	if _, err := adm.CommitOffsets(ctx, "g1", offsets); err != nil {
		t.Fatal(err)
	}
	cl.Close()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}

	s, err = Start(cfg)
	if err != nil {
		t.Fatalf("restart: %v", err)
	}
	defer s.Close()
	rc, err = sr.NewClient(sr.URLs(s.RegistryURL))
	if err != nil {
		t.Fatal(err)
	}
	for _, subject := range []string{"a-value", "b-value"} {
		ss, err := rc.SchemaByVersion(ctx, subject, -1)
		if err != nil || ss.ID != ids[subject] {
			t.Fatalf("%s after restart: id %d, err %v; want id %d", subject, ss.ID, err, ids[subject])
		}
	}
	if _, err := rc.SchemaByVersion(ctx, "c-value", -1); err == nil {
		t.Fatal("c-value was deleted but is back after the restart")
	}
	ss, err := rc.CreateSchema(ctx, "d-value", schemaOf("d"))
	if err != nil {
		t.Fatal(err)
	}
	for subject, id := range ids {
		if ss.ID == id {
			t.Fatalf("new schema got id %d, already used by %s", id, subject)
		}
	}

	cl, err = kgo.NewClient(kgo.SeedBrokers(s.Brokers...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm = kadm.NewClient(cl)
	ends, err := adm.ListCommittedOffsets(ctx, "events")
	if err != nil {
		t.Fatal(err)
	}
	if end, _ := ends.Lookup("events", 0); end.Offset != 11 { // 10 records and the commit marker
		t.Fatalf("committed end offset after restart %d, want 11", end.Offset)
	}
	committed, err := adm.FetchOffsets(ctx, "g1")
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := committed.Lookup("events", 0); o.At != 4 {
		t.Fatalf("group offset after restart %d, want 4", o.At)
	}
}

// TestRegistryTornLog checks that a log whose last line was cut short by a
// crash opens without it.
func TestRegistryTornLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "registry.log")
	good := `{"method":"POST","path":"/subjects/x-value/versions","body":"{\"schema\":\"\\\"int\\\"\"}","id":1}` + "\n"
	if err := os.WriteFile(path, []byte(good+`{"method":"POST","pa`), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := OpenRegistry(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.Len() != 1 {
		t.Fatalf("entries %d, want 1", r.Len())
	}
	if data, _ := os.ReadFile(path); string(data) != good {
		t.Fatalf("log not truncated to its whole lines: %q", data)
	}

	// A log that gives other ids than it recorded is refused.
	bad := `{"method":"POST","path":"/subjects/x-value/versions","body":"{\"schema\":\"\\\"int\\\"\"}","id":7}` + "\n"
	if err := os.WriteFile(path+".bad", []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenRegistry(path + ".bad"); err == nil {
		t.Fatal("a log whose ids do not replay was accepted")
	}
}

func TestConfigValidate(t *testing.T) {
	for _, c := range []Config{{}, {Dir: "x", KafkaPort: -1}, {Dir: "x", KafkaPort: 70000}, {Dir: "x", KafkaPort: 5, RegistryPort: 5}} {
		if err := c.Validate(); err == nil {
			t.Errorf("%+v: no error", c)
		}
	}
	s, err := Start(Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	// A second instance on the same ports fails and says which.
	_, port, _ := net.SplitHostPort(s.Brokers[0])
	p, _ := strconv.Atoi(port)
	if _, err := Start(Config{Dir: t.TempDir(), KafkaPort: p}); err == nil || !strings.Contains(err.Error(), port) {
		t.Fatalf("second broker on port %d: err %v, want one naming the port", p, err)
	}
}

// TestDirLocked checks that two instances cannot share a data directory.
func TestDirLocked(t *testing.T) {
	dir := t.TempDir()
	s, err := Start(Config{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Start(Config{Dir: dir}); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Fatalf("second instance on one directory: err %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Start(Config{Dir: dir})
	if err != nil {
		t.Fatalf("after Close: %v", err)
	}
	_ = s.Close()
}
