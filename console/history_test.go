package console

import "testing"

// TestHistoryIsBounded keeps more points than the ring holds: the series
// hold the newest ones, oldest first, and never more than the ring's size.
func TestHistoryIsBounded(t *testing.T) {
	h := newHistory(5)
	if s := h.series(); len(s.T) != 0 {
		t.Fatalf("an empty history has %d points", len(s.T))
	}
	for i := range 12 {
		v := float64(i)
		h.add(point{t: int64(i), delay: &v})
	}
	s := h.series()
	if len(s.T) != 5 || len(s.Delay) != 5 || len(s.Rows) != 5 || len(s.Bytes) != 5 {
		t.Fatalf("series of %d/%d/%d/%d points, want 5 each", len(s.T), len(s.Delay), len(s.Rows), len(s.Bytes))
	}
	for i, ts := range s.T {
		if want := int64(7 + i); ts != want || *s.Delay[i] != float64(want) || s.Rows[i] != nil {
			t.Fatalf("point %d: t %d, want %d", i, ts, want)
		}
	}
}
