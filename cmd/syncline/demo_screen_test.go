package main

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// sampleDemoState is a demo state with long values: a snapshot under way,
// large counts, a long position.
func sampleDemoState() demoState {
	return demoState{
		at: time.Date(2026, 12, 7, 18, 30, 5, 0, time.UTC), running: 3*time.Minute + 5*time.Second, done: 123456,
		stage: "snapshotting", capture: "snapshotting (1 of 3 tables left) at binlog.000012:123456789", delay: "2.4s", applying: true,
		tables: []demoTable{
			{name: "customers", stage: "streaming", source: "1,000,000", captured: "r1,000,000 +12,345 ~30,000 -2,000", kafka: "1,044,345", ch: "1,000,000", lag: "0"},
			{name: "products", stage: "streaming", source: "200", captured: "r200 ~15", kafka: "215", ch: "200", lag: "0"},
			{name: "orders", stage: "snapshot 1,234,567", source: "3,000,000", captured: "r1,234,567", kafka: "1,234,567", ch: "1,200,000", lag: "~34,567"},
		},
	}
}

// TestDemoScreenFits80Columns renders the demo's terminal screen at 80
// columns: every line fits, every table and its numbers are there; at
// 120 columns it shows every column.
func TestDemoScreenFits80Columns(t *testing.T) {
	st := sampleDemoState()
	var b strings.Builder
	st.writeScreen(&b, 80, "/home/someone/.local/state/syncline/demo/syncline.log")
	screen := b.String()
	for line := range strings.Lines(screen) {
		if n := utf8.RuneCountInString(strings.TrimSuffix(line, "\n")); n > 80 {
			t.Errorf("line of %d columns at width 80: %q", n, line)
		}
	}
	for _, want := range []string{"customers", "products", "orders", "snapshot 1,234,567", "3,000,000", "~34,567", "delay 2.4s", "CLICKHOUSE"} {
		if !strings.Contains(screen, want) {
			t.Errorf("80-column screen lacks %q:\n%s", want, screen)
		}
	}
	// The table itself is not cut.
	for line := range strings.Lines(screen) {
		if strings.Contains(line, "orders") && strings.HasSuffix(strings.TrimSpace(line), "…") {
			t.Errorf("the orders row is cut: %q", line)
		}
	}

	b.Reset()
	st.writeScreen(&b, 120, "/tmp/demo/syncline.log")
	for _, want := range []string{"CAPTURED THIS RUN", "shop.customers", "r1,000,000 +12,345 ~30,000 -2,000"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("120-column screen lacks %q:\n%s", want, b.String())
		}
	}
}

// TestDemoLine renders the demo's state for a pipe: one line per refresh,
// with every table's values.
func TestDemoLine(t *testing.T) {
	var b strings.Builder
	st := sampleDemoState()
	st.writeLine(&b)
	st.writeLine(&b)
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("two refreshes wrote %d lines:\n%s", len(lines), b.String())
	}
	want := "18:30:05 capture snapshotting delay 2.4s" +
		" | customers streaming source=1,000,000 kafka=1,044,345 clickhouse=1,000,000 lag=0 captured=r1,000,000+12,345~30,000-2,000" +
		" | products streaming source=200 kafka=215 clickhouse=200 lag=0 captured=r200~15" +
		" | orders snapshot:1,234,567 source=3,000,000 kafka=1,234,567 clickhouse=1,200,000 lag=~34,567 captured=r1,234,567"
	if lines[0] != want {
		t.Fatalf("line:\n%s\nwant:\n%s", lines[0], want)
	}
	if strings.Contains(b.String(), "\x1b") {
		t.Fatalf("the line holds terminal escapes: %q", b.String())
	}
}
