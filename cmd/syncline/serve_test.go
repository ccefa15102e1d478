package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
)

// TestReadyz checks that /readyz is ready only when the command set up and
// every part is ready, and names the part and reason when not.
func TestReadyz(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	obs := newObserver()
	port := freePorts(t, 1)[0]
	addr := "127.0.0.1:" + strconv.Itoa(port)
	if err := obs.serve(ctx, addr, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatal(err)
	}
	get := func() (int, string) {
		t.Helper()
		resp, err := http.Get("http://" + addr + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, strings.TrimSpace(string(b))
	}
	capt := obs.part("capture")
	app := obs.part("apply")
	if code, body := get(); code != http.StatusServiceUnavailable || body != "not ready: starting" {
		t.Errorf("before setup: %d %q", code, body)
	}
	obs.ready.Store(true)
	if code, body := get(); code != http.StatusServiceUnavailable || body != "not ready: capture: starting" {
		t.Errorf("parts starting: %d %q", code, body)
	}
	capt.Ready()
	app.NotReady("cannot reach the target\nretrying")
	if code, body := get(); code != http.StatusServiceUnavailable || body != "not ready: apply: cannot reach the target retrying" {
		t.Errorf("apply not ready: %d %q", code, body)
	}
	app.Ready()
	if code, body := get(); code != http.StatusOK || body != "ready" {
		t.Errorf("all ready: %d %q", code, body)
	}
}
