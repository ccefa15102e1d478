// Package testenv is the testing layer over package internal/servers: it
// gives tests real servers, MariaDB (a binlog source and a MySQL-compatible
// target), PostgreSQL, ClickHouse, and an in-process Kafka cluster (kfake)
// with a Confluent-compatible schema registry (srfake), and helpers that
// fail the test instead of returning errors.
//
// Wire the package into TestMain and ask for servers by name:
//
//	func TestMain(m *testing.M) { os.Exit(testenv.Run(m)) }
//
//	func TestX(t *testing.T) {
//		src := testenv.Source(t)
//		db := src.NewDatabase(t)
//		src.Exec(t, "CREATE TABLE "+db+".t (id INT PRIMARY KEY)")
//	}
//
// Source, Target, Postgres, ClickHouse and Kafka return servers shared by
// every test of the package: each starts on first use, at most once per test
// binary, and Run stops them and removes their directories when the tests
// end. Tests keep out of each other's way by working in their own database
// (NewDatabase) and their own topics. StartMariaDB and NewKafka start private
// servers that are stopped when the test ends.
//
// StartChild re-runs the test binary as a child process that runs the
// package's ChildMain function with a spec, for tests that kill a real
// process (SIGKILL) or read its exit status. WaitFor and Background are the
// polling and background-run helpers the packages' tests share.
//
// A missing server binary fails the test with the name of the Debian package
// to install; tests never skip. Programs other than tests (the demo, the
// benchmarks) use internal/servers directly: this package imports testing
// and must stay out of the syncline binary.
package testenv

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/syncline/syncline/internal/servers"
)

// maxDBNameBase is the longest sanitized test name used in database names.
const maxDBNameBase = 50

// environment is the package's only mutable state: the servers shared by the
// tests of one test binary and the database name counter.
type environment struct {
	mu      sync.Mutex
	running bool             // Run is active; shared servers may be started
	slots   map[string]*slot // shared servers by name
	order   []*slot          // shared servers in start order
	dbSeq   int              // last suffix used by uniqueName
}

// slot holds one shared server once its start has finished.
type slot struct {
	name  string
	ready chan struct{} // closed when val or err is set
	val   any
	err   error
	close func() error
}

// env is the package's only mutable state; see environment.
var env environment

// Run runs the tests of m, then stops every shared server the tests started
// and removes its directory. Call it from TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(testenv.Run(m)) }
//
// Run returns m.Run's exit code, or 1 if the tests passed but a server failed
// to stop cleanly.
func Run(m *testing.M) int {
	servers.RemoveStaleDirs()
	env.mu.Lock()
	env.running = true
	env.mu.Unlock()

	code := m.Run()

	env.mu.Lock()
	env.running = false
	slots := env.order
	env.order = nil
	env.slots = nil
	env.mu.Unlock()

	errs := make([]error, len(slots))
	var wg sync.WaitGroup
	for i, s := range slots {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-s.ready
			if s.close != nil {
				if err := s.close(); err != nil {
					errs[i] = fmt.Errorf("stop shared %s: %w", s.name, err)
				}
			}
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		fmt.Fprintln(os.Stderr, "testenv:", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// shared returns the shared server called name, starting it with launch on
// first use. launch returns the server and the function that stops it and
// removes its files.
func shared[T any](t testing.TB, name string, launch func(ctx context.Context) (T, func() error, error)) T {
	t.Helper()
	env.mu.Lock()
	if !env.running {
		env.mu.Unlock()
		t.Fatalf("testenv: shared %s requested outside testenv.Run; add func TestMain(m *testing.M) { os.Exit(testenv.Run(m)) } to the package", name)
	}
	if env.slots == nil {
		env.slots = make(map[string]*slot)
	}
	s, ok := env.slots[name]
	if !ok {
		s = &slot{name: name, ready: make(chan struct{})}
		env.slots[name] = s
		env.order = append(env.order, s)
	}
	env.mu.Unlock()

	if !ok {
		ctx, cancel := context.WithTimeout(context.Background(), 2*servers.StartTimeout)
		began := time.Now()
		val, closeFn, err := launch(ctx)
		cancel()
		s.val, s.close, s.err = val, closeFn, err
		close(s.ready)
		if err == nil {
			t.Logf("testenv: started shared %s in %s", name, time.Since(began).Round(time.Millisecond))
		}
	}
	<-s.ready
	if s.err != nil {
		t.Fatalf("testenv: start shared %s: %v", name, s.err)
	}
	return s.val.(T)
}

// uniqueName returns a database name made from a test name: "t_", the name
// lowercased with every run of characters outside [a-z0-9_] turned into one
// underscore and cut to 50 characters, then "_" and a counter unique within
// the process.
func uniqueName(testName string) string {
	env.mu.Lock()
	env.dbSeq++
	n := env.dbSeq
	env.mu.Unlock()
	return fmt.Sprintf("t_%s_%d", sanitizeName(testName), n)
}

// sanitizeName lowercases s, maps every run of characters outside [a-z0-9_]
// to one underscore, trims underscores at both ends and cuts the result to
// maxDBNameBase characters.
func sanitizeName(s string) string {
	var b strings.Builder
	lastUnderscore := false
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
			lastUnderscore = false
		case !lastUnderscore:
			b.WriteByte('_')
			lastUnderscore = true
		}
	}
	out := strings.Trim(b.String(), "_")
	if len(out) > maxDBNameBase {
		out = strings.TrimRight(out[:maxDBNameBase], "_")
	}
	if out == "" {
		out = "test"
	}
	return out
}
