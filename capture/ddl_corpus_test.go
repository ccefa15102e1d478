package capture_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/syncline/syncline/capture"
	"github.com/syncline/syncline/fault"
	"github.com/syncline/syncline/testenv/ddlcorpus"
)

// corpusStatement is one statement of testdata/ddl_corpus.sql and what
// capture must do with it.
type corpusStatement struct {
	line   int
	sql    string
	expect string
}

// readCorpus reads testdata/ddl_corpus.sql with its placeholders filled.
func readCorpus(t *testing.T, fill *strings.Replacer) []corpusStatement {
	t.Helper()
	stmts, err := ddlcorpus.Read("testdata/ddl_corpus.sql", fill)
	if err != nil {
		t.Fatal(err)
	}
	out := make([]corpusStatement, len(stmts))
	for i, s := range stmts {
		out[i] = corpusStatement{line: s.Line, sql: s.SQL, expect: s.Expect}
	}
	return out
}

// wantChange is one schema-change event a corpus statement must publish.
type wantChange struct {
	line                    int
	kind, db, table, newTab string
	cols                    []string // nil: not checked; empty: none
	renamed                 map[string]string
}

// parseExpect reads a corpus expectation of events.
func parseExpect(t *testing.T, s corpusStatement, capDB, otherDB string) []wantChange {
	t.Helper()
	var out []wantChange
	for _, part := range strings.Split(s.expect, " | ") {
		f := strings.Fields(strings.ReplaceAll(part, "{other}", otherDB))
		if len(f) < 2 {
			t.Fatalf("ddl_corpus.sql:%d: bad expectation %q", s.line, s.expect)
		}
		w := wantChange{line: s.line, kind: f[0], db: capDB, renamed: map[string]string{}}
		name, newName, renamed := f[1], "", false
		name, newName, renamed = strings.Cut(name, ">")
		if db, tbl, ok := strings.Cut(name, "."); ok {
			w.db, name = db, tbl
		}
		w.table = name
		if renamed {
			ndb, ntbl := capDB, newName
			if db, tbl, ok := strings.Cut(newName, "."); ok {
				ndb, ntbl = db, tbl
			}
			w.newTab = ntbl
			if ndb != w.db {
				w.newTab = ndb + "." + ntbl
			}
		}
		for _, x := range f[2:] {
			switch {
			case strings.HasPrefix(x, "{"):
				for _, r := range strings.Split(strings.Trim(x, "{}"), ",") {
					o, n, _ := strings.Cut(r, ">")
					w.renamed[o] = n
				}
			case x == "-":
				w.cols = []string{}
			default:
				w.cols = strings.Split(x, ",")
			}
		}
		out = append(out, w)
	}
	return out
}

// check compares a published schema-change event with what is wanted.
func (w wantChange) check(ev map[string]any) error {
	var problems []string
	if got := norm(ev["kind"]); got != w.kind {
		problems = append(problems, fmt.Sprintf("kind %v, want %s", got, w.kind))
	}
	if got := norm(ev["db"]); got != w.db {
		problems = append(problems, fmt.Sprintf("db %v, want %s", got, w.db))
	}
	if got := norm(ev["table"]); got != w.table {
		problems = append(problems, fmt.Sprintf("table %v, want %s", got, w.table))
	}
	if got, _ := norm(ev["new_table"]).(string); got != w.newTab {
		problems = append(problems, fmt.Sprintf("new_table %q, want %q", got, w.newTab))
	}
	renamed := map[string]string{}
	if m, ok := ev["renamed_columns"].(map[string]any); ok {
		for o, n := range m {
			renamed[o] = fmt.Sprint(norm(n))
		}
	}
	if fmt.Sprint(renamed) != fmt.Sprint(w.renamed) {
		problems = append(problems, fmt.Sprintf("renamed_columns %v, want %v", renamed, w.renamed))
	}
	if w.cols != nil {
		var cols []struct{ Name, Type string }
		if s, ok := norm(ev["columns"]).(string); ok {
			if err := json.Unmarshal([]byte(s), &cols); err != nil {
				return err
			}
		}
		var got []string
		ok := len(cols) == len(w.cols)
		for i, c := range cols {
			got = append(got, c.Name+":"+c.Type)
			if ok {
				name, typ, _ := strings.Cut(w.cols[i], ":")
				ok = c.Name == name && strings.HasPrefix(c.Type, typ)
			}
		}
		if !ok {
			problems = append(problems, fmt.Sprintf("columns %v, want %v", got, w.cols))
		}
	}
	if problems != nil {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestDDLCorpus runs every statement of testdata/ddl_corpus.sql on the
// source while capture streams, on tables of the captured database and of
// one it does not capture. After each statement capture has published
// exactly the schema-change events the corpus names (kind, tables,
// columns as the live table has them, renamed columns), or stopped on the
// statement the corpus says it cannot follow, naming the table; it never
// stops on anything else, and rows written after the corpus arrive.
func TestDDLCorpus(t *testing.T) {
	p := newPipeline(t)
	other := p.src.NewDatabase(t)
	third := p.db + "_third"
	user := "'u_" + p.db + "'@'localhost'"
	t.Cleanup(func() {
		db := p.src.DB(t, "")
		_, _ = db.Exec("DROP DATABASE IF EXISTS `" + third + "`")
		_, _ = db.Exec("DROP USER IF EXISTS " + user)
	})
	fill := strings.NewReplacer("{other}", "`"+other+"`", "{cap}", "`"+p.db+"`", "{third}", "`"+third+"`", "{user}", user)
	corpus := readCorpus(t, fill)

	ctx := context.Background()
	conn, err := p.src.DB(t, p.db).Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, q := range []string{"CREATE TABLE seed (id INT PRIMARY KEY)", "CREATE TABLE `" + other + "`.statement_rows (id INT PRIMARY KEY)"} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}

	logs := &syncBuffer{}
	var skip []string
	var done chan error
	var cancel context.CancelFunc
	start := func() {
		cfg, err := p.spec.config()
		if err != nil {
			t.Fatal(err)
		}
		cfg.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		cfg.SkipDDLAt = slices.Clone(skip)
		c, err := capture.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		var rctx context.Context
		rctx, cancel = context.WithCancel(ctx)
		done = make(chan error, 1)
		go func() { done <- c.Run(rctx) }()
	}
	start()
	defer func() {
		cancel()
		<-done
	}()
	waitFor(t, 30*time.Second, "capture to start", func() bool { return p.checkpoint() != nil })

	cl, err := kgo.NewClient(kgo.SeedBrokers(p.kafka.Brokers...), kgo.ConsumeTopics(p.prefix),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.MetadataMinAge(100*time.Millisecond), kgo.MetadataMaxAge(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	dec := newDecoder(t, p.kafka.RegistryURL)
	var got []map[string]any
	var want []wantChange
	// caughtUp reads the schema-change topic until it holds as many
	// events as wanted so far, and checks them.
	caughtUp := func(s corpusStatement) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for len(got) < len(want) {
			select {
			case err := <-done:
				t.Fatalf("ddl_corpus.sql:%d: capture stopped: %v\n%s", s.line, err, s.sql)
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("ddl_corpus.sql:%d: %d schema changes published, want %d\n%s", s.line, len(got), len(want), s.sql)
			}
			pctx, pcancel := context.WithTimeout(ctx, 200*time.Millisecond)
			fs := cl.PollFetches(pctx)
			pcancel()
			fs.EachRecord(func(r *kgo.Record) {
				v, err := dec.decode(r.Value)
				if err != nil {
					t.Fatalf("decode schema change: %v", err)
				}
				got = append(got, v)
			})
		}
	}
	checked := 0
	checkNew := func(s corpusStatement) {
		t.Helper()
		for ; checked < len(got); checked++ {
			if checked >= len(want) {
				t.Fatalf("after ddl_corpus.sql:%d: unexpected schema change %v", s.line, got[checked])
			}
			if err := want[checked].check(got[checked]); err != nil {
				t.Errorf("ddl_corpus.sql:%d: %s: %v\n%s", want[checked].line, norm(got[checked]["ddl"]), err, s.sql)
			}
		}
	}

	for _, s := range corpus {
		if _, err := conn.ExecContext(ctx, s.sql); err != nil {
			t.Fatalf("ddl_corpus.sql:%d: the source refused it: %v\n%s", s.line, err, s.sql)
		}
		switch {
		case s.expect == "pass":
			select {
			case err := <-done:
				t.Fatalf("ddl_corpus.sql:%d: capture stopped: %v\n%s", s.line, err, s.sql)
			default:
			}
		case strings.HasPrefix(s.expect, "stop "):
			table := p.db + "." + strings.TrimPrefix(s.expect, "stop ")
			var err error
			select {
			case err = <-done:
			case <-time.After(30 * time.Second):
				t.Fatalf("ddl_corpus.sql:%d: capture did not stop\n%s", s.line, s.sql)
			}
			msg := fmt.Sprint(err)
			i := strings.LastIndex(msg, "--skip-ddl-at ")
			if !errors.Is(err, capture.ErrUnparsedDDL) || !fault.IsPermanent(err) || !strings.Contains(msg, " on "+table+" ") || i < 0 {
				t.Fatalf("ddl_corpus.sql:%d: got %v, want a permanent ErrUnparsedDDL naming %s and --skip-ddl-at\n%s", s.line, err, table, s.sql)
			}
			at, _, _ := strings.Cut(msg[i+len("--skip-ddl-at "):], " ")
			skip = append(skip, at)
			start()
		default:
			want = append(want, parseExpect(t, s, p.db, other)...)
			caughtUp(s)
			checkNew(s)
		}
	}

	// Rows written after the corpus arrive, and capture is still running.
	if _, err := conn.ExecContext(ctx, "INSERT INTO by_hash VALUES (7, 7)"); err != nil {
		t.Fatal(err)
	}
	topic := p.prefix + "." + p.db + ".by_hash"
	waitFor(t, 30*time.Second, "the row written after the corpus", func() bool {
		for _, ev := range p.readAll(topic) {
			if ev.Op == "c" && toInt(ev.After["id"]) == 7 {
				return true
			}
		}
		return false
	})
	select {
	case err := <-done:
		t.Fatalf("capture stopped: %v", err)
	default:
	}
	last := corpusStatement{line: len(corpus), sql: "(end of corpus)"}
	pctx, pcancel := context.WithTimeout(ctx, time.Second)
	cl.PollFetches(pctx).EachRecord(func(r *kgo.Record) {
		v, err := dec.decode(r.Value)
		if err != nil {
			t.Fatalf("decode schema change: %v", err)
		}
		got = append(got, v)
	})
	pcancel()
	checkNew(last)
	if len(got) != len(want) {
		t.Errorf("%d schema changes published, want %d", len(got), len(want))
	}
	if strings.Contains(logs.String(), "corpus-secret") {
		t.Errorf("capture's log shows a password of an account statement")
	}
	if !strings.Contains(logs.String(), "passing by a statement on tables outside the capture") {
		t.Errorf("capture's debug log does not show statements passed by")
	}
}
