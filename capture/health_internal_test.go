package capture

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// gathered returns the sum of a metric's series in reg and their count.
func gathered(t *testing.T, reg *prometheus.Registry, name string) (sum float64, n int) {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			n++
			sum += m.GetGauge().GetValue() + m.GetCounter().GetValue()
		}
	}
	return sum, n
}

// TestStreakLogsRateLimited: a streak of failures logs its first failure at
// once and then at most one line per failLogEvery, each with the time in
// failure; the commit that ends it logs the recovery once.
func TestStreakLogsRateLimited(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	s := &streak{log: log, metrics: m}
	kafkaDown := inClass(ClassKafka, errors.New("kafka 127.0.0.1:9: unable to dial"))
	for range 20 {
		s.failure(kafkaDown, time.Second)
	}
	if n := strings.Count(buf.String(), "capture failing"); n != 1 {
		t.Fatalf("20 failures in a row logged %d lines, want 1:\n%s", n, buf.String())
	}
	if got, _ := gathered(t, reg, "syncline_capture_retries_total"); got != 20 {
		t.Errorf("retries_total %v, want 20", got)
	}
	// Half a minute later (the streak began earlier), the next failure logs.
	s.Since = s.Since.Add(-failLogEvery)
	s.lastLog = s.lastLog.Add(-failLogEvery)
	s.failure(kafkaDown, 2*time.Second)
	if n := strings.Count(buf.String(), "capture failing"); n != 2 || !strings.Contains(buf.String(), "failing_for=30s") {
		t.Fatalf("after %s: want a second line with failing_for=30s:\n%s", failLogEvery, buf.String())
	}
	if got, n := gathered(t, reg, "syncline_capture_last_error_class"); got != 1 || n != 1 {
		t.Errorf("last_error_class: %d series summing to %v, want one at 1", n, got)
	}
	s.committed()
	s.committed()
	if n := strings.Count(buf.String(), "capture recovered"); n != 1 || !strings.Contains(buf.String(), "retries=21") {
		t.Fatalf("recovery logged %d times, want once with retries=21:\n%s", n, buf.String())
	}
	if _, n := gathered(t, reg, "syncline_capture_last_error_class"); n != 0 {
		t.Errorf("healthy capture has %d last_error_class series", n)
	}
}

// TestErrorClass checks the classes of the errors capture meets.
func TestErrorClass(t *testing.T) {
	for _, tc := range []struct {
		err          error
		class, table string
	}{
		{inClass(ClassKafka, errors.New("x")), ClassKafka, ""},
		{fmt.Errorf("run: %w", tableError(ClassRegistry, "shop.orders", errors.New("x"))), ClassRegistry, "shop.orders"},
		{inClass(ClassSource, fmt.Errorf("%w: x", errPrivilege)), ClassAuth, ""},
		{errors.New("x"), ClassOther, ""},
	} {
		if c, tb := errorClass(tc.err); c != tc.class || tb != tc.table {
			t.Errorf("%v: class %q table %q, want %q %q", tc.err, c, tb, tc.class, tc.table)
		}
	}
}
