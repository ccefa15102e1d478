package console

// point is one sample of the charts; a nil value is unknown.
type point struct {
	t                  int64
	delay, rows, bytes *float64
}

// history keeps the last points in a bounded ring.
type history struct {
	ring []point
	next int
	full bool
}

func newHistory(n int) *history { return &history{ring: make([]point, max(n, 2))} }

// add keeps p, dropping the oldest point when the ring is full.
func (h *history) add(p point) {
	h.ring[h.next] = p
	h.next++
	if h.next == len(h.ring) {
		h.next, h.full = 0, true
	}
}

// Series are the charts' points, oldest first: times in Unix milliseconds,
// delay in seconds, rows and bytes per second (null where unknown).
type Series struct {
	T     []int64    `json:"t"`
	Delay []*float64 `json:"delay"`
	Rows  []*float64 `json:"rows"`
	Bytes []*float64 `json:"bytes"`
}

func (h *history) series() Series {
	s := Series{T: []int64{}, Delay: []*float64{}, Rows: []*float64{}, Bytes: []*float64{}}
	add := func(p point) {
		s.T = append(s.T, p.t)
		s.Delay = append(s.Delay, p.delay)
		s.Rows = append(s.Rows, p.rows)
		s.Bytes = append(s.Bytes, p.bytes)
	}
	if h.full {
		for _, p := range h.ring[h.next:] {
			add(p)
		}
	}
	for _, p := range h.ring[:h.next] {
		add(p)
	}
	return s
}
