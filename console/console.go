// Package console serves a task's web console: one page that shows where a
// task stands (each table's stage with snapshot progress, capture's position
// and delay, each apply group's lag, rate and errors, dead letters, the
// running object list) with live charts of the last hour's delay and
// throughput. Everything it shows is read from Kafka with package status and
// the task's store (package task), sampled every few seconds; inside
// syncline dev or demo it also reads the components' metrics.
//
// The page is plain HTML, CSS and JavaScript embedded in the binary. It is
// read-only unless Config.Changes is set; then it can add and remove tables
// and stop the task, through POSTs that carry a per-process token and must
// come from the page's own origin.
package console

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/syncline/syncline/status"
	"github.com/syncline/syncline/task"
)

// Defaults of Config.
const (
	// DefaultInterval is how often the console samples the task.
	DefaultInterval = 5 * time.Second
	// DefaultHistory is how much of the past the charts keep.
	DefaultHistory = time.Hour
)

// Changer makes the changes the console offers with Config.Changes. Each
// method returns a sentence for the user; its errors are shown as they are.
type Changer interface {
	// AddTables adds "db.table" tables to the task, after the same checks
	// as syncline task add-tables.
	AddTables(ctx context.Context, tables []string) (string, error)
	// RemoveTables removes "db.table" tables from the task.
	RemoveTables(ctx context.Context, tables []string) (string, error)
	// Stop asks the task to stop cleanly.
	Stop(ctx context.Context) (string, error)
}

// Config says what task the console shows.
type Config struct {
	// Status says where the task is; the console reads it as syncline
	// status does.
	Status status.Config
	// Task is the task's name, the key of its object list in the task
	// topic; the prefix when empty.
	Task string
	// Metrics, when set, are the running components' metrics (syncline dev
	// and demo): they add bytes/s, snapshot estimates and apply errors.
	Metrics prometheus.Gatherer
	// Changes, when set, lets the page change the task; nil is read-only.
	Changes Changer
	// Interval is the time between two samples (DefaultInterval).
	Interval time.Duration
	// History is how far back the charts go (DefaultHistory).
	History time.Duration
	// Logger receives the console's warnings; slog.Default() when nil.
	Logger *slog.Logger
}

// Server is a running console: it samples the task and serves the page.
type Server struct {
	cfg   Config
	mon   *status.Monitor
	cl    *kgo.Client
	store *task.Store
	token string
	log   *slog.Logger

	mu      sync.Mutex
	state   *View
	history *history
	prev    *sample
	kick    chan struct{}
}

// New validates cfg and returns a Server; it connects on first use.
func New(cfg Config) (*Server, error) {
	if cfg.Interval == 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.History == 0 {
		cfg.History = DefaultHistory
	}
	if cfg.Interval < 0 || cfg.History < cfg.Interval {
		return nil, fmt.Errorf("console: interval %s and history %s: both positive, history at least the interval", cfg.Interval, cfg.History)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if err := cfg.Status.Validate(); err != nil {
		return nil, err
	}
	if cfg.Task == "" {
		cfg.Task = cfg.Status.Prefix
	}
	mon, err := status.New(cfg.Status)
	if err != nil {
		return nil, err
	}
	opts, err := cfg.Status.Kafka.Opts()
	if err != nil {
		mon.Close()
		return nil, err
	}
	cl, err := kgo.NewClient(append(slices.Clip(opts), kgo.MetadataMinAge(time.Second))...)
	if err != nil {
		mon.Close()
		return nil, fmt.Errorf("kafka %s: %w", cfg.Status.Kafka, err)
	}
	tok := make([]byte, 16)
	_, _ = rand.Read(tok)
	n := int(cfg.History/cfg.Interval) + 1
	return &Server{
		cfg: cfg, mon: mon, cl: cl, store: task.NewStore(opts, cfg.Status.Prefix, cfg.Task),
		token: hex.EncodeToString(tok), log: cfg.Logger.With("component", "console"),
		history: newHistory(n), kick: make(chan struct{}, 1),
	}, nil
}

// Listen opens addr for Serve and returns the listener and the console's
// URL.
func Listen(addr string) (net.Listener, string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", fmt.Errorf("console %s: %w", addr, err)
	}
	return ln, "http://" + ln.Addr().String() + "/", nil
}

// Serve samples the task and serves the console on ln until ctx ends; then
// it closes its Kafka clients.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	defer s.cl.Close()
	defer s.mon.Close()
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 5 * time.Second}
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	wg.Go(func() { s.sampleLoop(ctx) })
	wg.Go(func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	})
	err := srv.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// sampleLoop samples the task every interval (and at once after a change)
// until ctx ends.
func (s *Server) sampleLoop(ctx context.Context) {
	tick := time.NewTicker(s.cfg.Interval)
	defer tick.Stop()
	for {
		s.sampleOnce(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-s.kick:
		}
	}
}

// sampleOnce collects one sample and updates the view.
func (s *Server) sampleOnce(ctx context.Context) {
	cctx, cancel := context.WithTimeout(ctx, max(5*s.cfg.Interval, 30*time.Second))
	defer cancel()
	sm := s.collect(cctx)
	if ctx.Err() != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state = s.view(sm, s.prev)
	if sm.report != nil {
		s.prev = sm
	}
}

// current returns the latest view, with the charts.
func (s *Server) current() View {
	s.mu.Lock()
	defer s.mu.Unlock()
	var v View
	if s.state != nil {
		v = *s.state
	} else {
		v = View{Task: s.cfg.Task, Prefix: s.cfg.Status.Prefix, Error: "first sample not taken yet"}
	}
	v.Series = s.history.series()
	v.Changes = s.cfg.Changes != nil
	v.IntervalMillis = s.cfg.Interval.Milliseconds()
	return v
}

// listTopics returns the names of the cluster's topics.
func (s *Server) listTopics(ctx context.Context) ([]string, error) {
	listed, err := kadm.NewClient(s.cl).ListTopics(ctx)
	if err != nil {
		return nil, err
	}
	return listed.Names(), nil
}

// Task returns the name of the task the console shows.
func (s *Server) Task() string { return s.cfg.Task }
