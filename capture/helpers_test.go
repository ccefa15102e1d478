package capture_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime/pprof"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"

	"github.com/syncline/syncline/capture"
	"github.com/syncline/syncline/endpoint"
	"github.com/syncline/syncline/filter"
	eventfmt "github.com/syncline/syncline/internal/event"
	"github.com/syncline/syncline/testenv"
	"github.com/syncline/syncline/topics"
)

func TestMain(m *testing.M) {
	testenv.ChildMain(runChild)
	os.Exit(testenv.Run(m))
}

// childSpec is the configuration handed to a capture child process
// (testenv.StartChild), so tests can kill a real process.
type childSpec struct {
	Source    string
	Brokers   []string
	Registry  string
	Prefix    string
	Tables    string
	ChunkRows int
	BatchRows int
}

// runChild runs capture as configured by s until ctx ends.
func runChild(ctx context.Context, s childSpec) int {
	cfg, err := s.config()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	if f := os.Getenv("SYNCLINE_TEST_CPUPROFILE"); f != "" {
		out, err := os.Create(f)
		if err == nil {
			_ = pprof.StartCPUProfile(out)
			defer pprof.StopCPUProfile()
		}
	}
	c, err := capture.New(cfg)
	if err == nil {
		err = c.Run(ctx)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "capture:", err)
		return 1
	}
	return 0
}

func (s childSpec) config() (capture.Config, error) {
	src, err := endpoint.Parse(s.Source)
	if err != nil {
		return capture.Config{}, err
	}
	sel, err := filter.Parse(s.Tables, "")
	if err != nil {
		return capture.Config{}, err
	}
	return capture.Config{
		Source: src, Kafka: topics.Kafka{Brokers: s.Brokers}, RegistryURL: s.Registry,
		Prefix: s.Prefix, Tables: sel, ChunkRows: s.ChunkRows, BatchRows: s.BatchRows,
		FlushInterval: 20 * time.Millisecond, Heartbeat: 200 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	}, nil
}

// pipeline is one test's source database, Kafka and capture settings.
type pipeline struct {
	t      *testing.T
	src    *testenv.MySQL
	kafka  *testenv.KafkaCluster
	db     string
	prefix string
	spec   childSpec
}

func newPipeline(t *testing.T) *pipeline {
	t.Helper()
	src := testenv.Source(t)
	k := testenv.Kafka(t)
	db := src.NewDatabase(t)
	prefix := strings.ReplaceAll(db, ".", "_")
	return &pipeline{t: t, src: src, kafka: k, db: db, prefix: prefix, spec: childSpec{
		Source: src.URL(""), Brokers: k.Brokers, Registry: k.RegistryURL, Prefix: prefix,
		Tables: db + ".*", ChunkRows: 1000, BatchRows: 5000,
	}}
}

// start runs capture in this process until the returned stop is called.
func (p *pipeline) start() (stop func() error) {
	p.t.Helper()
	return p.startWith(func(*capture.Config) {})
}

// startWith is start with the configuration changed by edit first.
func (p *pipeline) startWith(edit func(*capture.Config)) (stop func() error) {
	p.t.Helper()
	cfg, err := p.spec.config()
	if err != nil {
		p.t.Fatal(err)
	}
	edit(&cfg)
	c, err := capture.New(cfg)
	if err != nil {
		p.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	var once sync.Once
	var runErr error
	stop = func() error {
		once.Do(func() {
			cancel()
			runErr = <-done
		})
		return runErr
	}
	p.t.Cleanup(func() { _ = stop() })
	return stop
}

// noEdit leaves a configuration as it is.
func noEdit(*capture.Config) {}

// captureUntil runs capture until topic holds n records, then stops it,
// and returns the topic's events.
func (p *pipeline) captureUntil(topic string, n int, edit func(*capture.Config)) []event {
	p.t.Helper()
	stop := p.startWith(edit)
	waitFor(p.t, 60*time.Second, fmt.Sprintf("%d records in %s", n, topic), func() bool { return len(p.readAll(topic)) >= n })
	if err := stop(); err != nil {
		p.t.Fatalf("capture: %v", err)
	}
	return p.readAll(topic)
}

// event is a decoded change event.
type event struct {
	Topic   string
	Offset  int64
	Key     map[string]any
	Op      string
	Before  map[string]any
	After   map[string]any
	Source  map[string]any
	Tomb    bool
	Version int64
	// SchemaID is the registry id of the value's schema.
	SchemaID int
}

// decoder decodes Confluent-framed Avro with schemas from the registry.
type decoder struct {
	reg *eventfmt.Registry
}

func newDecoder(t *testing.T, url string) *decoder {
	cl, err := sr.NewClient(sr.URLs(url))
	if err != nil {
		t.Fatal(err)
	}
	return &decoder{reg: eventfmt.NewRegistry(cl)}
}

func (d *decoder) decode(b []byte) (map[string]any, error) {
	id, body, err := eventfmt.ParseFrame(b)
	if err != nil {
		return nil, err
	}
	c, err := d.reg.Codec(context.Background(), id)
	if err != nil {
		return nil, err
	}
	var out any
	if err := c.Unmarshal(body, &out); err != nil {
		return nil, err
	}
	m, ok := out.(map[string]any)
	if !ok {
		return map[string]any{"": out}, nil
	}
	return m, nil
}

func asRecord(v any) map[string]any {
	switch x := v.(type) {
	case nil:
		return nil
	case map[string]any:
		// A union value decoded into any may come wrapped by its type name.
		if len(x) == 1 {
			for k, inner := range x {
				if m, ok := inner.(map[string]any); ok && strings.HasSuffix(k, "Value") {
					return m
				}
			}
		}
		return x
	}
	panic(fmt.Sprintf("unexpected record %T", v))
}

// readAll reads every committed record of the topics matching pattern,
// until the committed end offsets seen at the call.
func (p *pipeline) readAll(topicPattern string) []event {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	adm, err := kgo.NewClient(kgo.SeedBrokers(p.kafka.Brokers...))
	if err != nil {
		p.t.Fatal(err)
	}
	defer adm.Close()
	ka := kadm.NewClient(adm)
	tds, err := ka.ListTopics(ctx)
	if err != nil {
		p.t.Fatal(err)
	}
	var names []string
	for _, n := range tds.Names() {
		if strings.HasPrefix(n, topicPattern) && !strings.HasSuffix(n, "__checkpoint") && n != p.prefix {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return nil
	}
	ends, err := ka.ListCommittedOffsets(ctx, names...)
	if err != nil {
		p.t.Fatal(err)
	}
	want := map[string]map[int32]int64{}
	remaining := 0
	ends.Each(func(o kadm.ListedOffset) {
		if o.Offset > 0 {
			if want[o.Topic] == nil {
				want[o.Topic] = map[int32]int64{}
			}
			want[o.Topic][o.Partition] = o.Offset
			remaining++
		}
	})
	if remaining == 0 {
		return nil
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(p.kafka.Brokers...), kgo.ConsumeTopics(names...),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		p.t.Fatal(err)
	}
	defer cl.Close()
	dec := newDecoder(p.t, p.kafka.RegistryURL)
	var out []event
	for remaining > 0 {
		pctx, pcancel := context.WithTimeout(ctx, 3*time.Second)
		fs := cl.PollFetches(pctx)
		pcancel()
		if ctx.Err() != nil {
			p.t.Fatalf("timed out reading %v: %d partitions not read to the end", names, remaining)
		}
		if errors.Is(pctx.Err(), context.DeadlineExceeded) && fs.NumRecords() == 0 {
			// Offsets before end that hold only transaction markers.
			break
		}
		fs.EachRecord(func(r *kgo.Record) {
			end := want[r.Topic][r.Partition]
			if r.Offset >= end {
				return
			}
			ev := event{Topic: r.Topic, Offset: r.Offset}
			k, err := dec.decode(r.Key)
			if err != nil {
				p.t.Fatalf("decode key at %s/%d/%d: %v", r.Topic, r.Partition, r.Offset, err)
			}
			ev.Key = k
			if r.Value == nil {
				ev.Tomb = true
			} else {
				ev.SchemaID, _, _ = eventfmt.ParseFrame(r.Value)
				v, err := dec.decode(r.Value)
				if err != nil {
					p.t.Fatalf("decode value at %s/%d/%d: %v", r.Topic, r.Partition, r.Offset, err)
				}
				ev.Op = v["op"].(string)
				ev.Before = asRecord(v["before"])
				ev.After = asRecord(v["after"])
				ev.Source = asRecord(v["source"])
				ev.Version = ev.Source["version"].(int64)
			}
			out = append(out, ev)
			if r.Offset >= end-2 {
				delete(want[r.Topic], r.Partition)
				remaining--
			}
		})
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Topic != out[j].Topic {
			return out[i].Topic < out[j].Topic
		}
		return out[i].Offset < out[j].Offset
	})
	return out
}

// waitFor polls until cond holds or the time is up.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	testenv.WaitFor(t, d, what, cond)
}

// readSchemaChanges decodes the schema-change topic.
func (p *pipeline) readSchemaChanges() []map[string]any {
	p.t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(p.kafka.Brokers...), kgo.ConsumeTopics(p.prefix),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		p.t.Fatal(err)
	}
	defer cl.Close()
	dec := newDecoder(p.t, p.kafka.RegistryURL)
	var out []map[string]any
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		fs := cl.PollFetches(ctx)
		cancel()
		if fs.NumRecords() == 0 {
			return out
		}
		fs.EachRecord(func(r *kgo.Record) {
			v, err := dec.decode(r.Value)
			if err != nil {
				p.t.Fatalf("decode schema change: %v", err)
			}
			out = append(out, v)
		})
	}
}
