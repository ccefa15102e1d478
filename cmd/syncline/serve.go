package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// observer serves a component's /metrics, /healthz and /readyz.
//
// /readyz answers 200 once ready is set and every part registered with
// part reports ready; else 503 with one line naming the first part that is
// not and why.
type observer struct {
	reg   *prometheus.Registry
	ready atomic.Bool // the command has set up its components

	mu    sync.Mutex
	parts []*readiness
}

// readiness is whether one part of a process (capture, an apply) does its
// job, with the reason when it does not. Its methods are safe for
// concurrent use; capture.Health and apply's reporter are satisfied by it.
type readiness struct {
	name string

	mu     sync.Mutex
	ready  bool
	reason string
}

// Ready reports that the part does its job.
func (r *readiness) Ready() {
	r.mu.Lock()
	r.ready, r.reason = true, ""
	r.mu.Unlock()
}

// NotReady reports that the part cannot do its job, and why (one line).
func (r *readiness) NotReady(reason string) {
	r.mu.Lock()
	r.ready, r.reason = false, oneLine(reason)
	r.mu.Unlock()
}

// state returns whether the part is ready, and if not why.
func (r *readiness) state() (bool, string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ready, r.reason
}

func newObserver() *observer {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return &observer{reg: reg}
}

// part registers a part whose readiness /readyz reports. It starts not
// ready ("starting").
func (o *observer) part(name string) *readiness {
	r := &readiness{name: name, reason: "starting"}
	o.mu.Lock()
	o.parts = append(o.parts, r)
	o.mu.Unlock()
	return r
}

// readiness returns whether the process is ready, and if not why.
func (o *observer) readiness() (bool, string) {
	if !o.ready.Load() {
		return false, "starting"
	}
	o.mu.Lock()
	parts := o.parts
	o.mu.Unlock()
	for _, p := range parts {
		if ok, reason := p.state(); !ok {
			return false, p.name + ": " + reason
		}
	}
	return true, ""
}

// serve listens on addr until ctx is done; an empty addr serves nothing.
func (o *observer) serve(ctx context.Context, addr string, log *slog.Logger) error {
	if addr == "" {
		return nil
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(o.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if ok, reason := o.readiness(); !ok {
			http.Error(w, "not ready: "+reason, http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	log.Info("serving metrics", "addr", ln.Addr().String())
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics server stopped", "err", err)
		}
	}()
	return nil
}
