package capture

import (
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are capture's Prometheus figures.
type Metrics struct {
	rows          *prometheus.CounterVec
	bytes         *prometheus.CounterVec
	snapshotRows  *prometheus.GaugeVec
	snapshotTotal *prometheus.GaugeVec
	commits       prometheus.Counter
	parked        prometheus.Gauge
	refused       prometheus.Counter
	oversized     *prometheus.CounterVec
	checkpointTS  prometheus.Gauge
	retries       prometheus.Counter
	lastError     *prometheus.GaugeVec

	// sourceTS is the source time (Unix milliseconds) of the last change
	// committed; the delay is the clock minus it, so it grows while
	// capture cannot commit. 0 when unknown.
	sourceTS atomic.Int64
	// failingSince is when the current streak of failures began (Unix
	// nanoseconds); 0 when healthy.
	failingSince atomic.Int64
}

// NewMetrics creates capture's metrics and registers them with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		rows: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "syncline_capture_rows_total", Help: "Row change events published, by table and operation (c, u, d, r).",
		}, []string{"table", "op"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "syncline_capture_bytes_total", Help: "Bytes of change events published (key plus value), by table.",
		}, []string{"table"}),
		snapshotRows: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "syncline_capture_snapshot_rows", Help: "Rows read by the snapshot so far, by table.",
		}, []string{"table"}),
		snapshotTotal: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "syncline_capture_snapshot_rows_estimated", Help: "Estimated row count of each table being snapshotted.",
		}, []string{"table"}),
		commits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "syncline_capture_transactions_total", Help: "Kafka transactions committed.",
		}),
		parked: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "syncline_capture_tables_parked", Help: "Selected tables set aside because they cannot be captured (no usable key, a column type without a mapping); the others stream on. See the capture log or syncline status.",
		}),
		checkpointTS: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "syncline_capture_checkpoint_timestamp_seconds", Help: "Unix time of the last checkpoint committed to Kafka (every heartbeat on an idle source); 0 before the first.",
		}),
		retries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "syncline_capture_retries_total", Help: "Failures after which capture restarted from its last checkpoint.",
		}),
		lastError: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "syncline_capture_last_error_class", Help: "1 for the class (source, kafka, registry, auth, other) and table (empty unless the error is one table's) of the error of the current streak of failures; no series while healthy.",
		}, []string{"class", "table"}),
	}
	m.refused = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "syncline_capture_task_revisions_refused_total", Help: "Revisions of the task's object list that did not fit the source; capture went on with the previous list.",
	})
	m.oversized = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "syncline_capture_oversized_rows_total", Help: "Row changes larger than a Kafka record may be, published without their large columns (--oversized skip-columns), by table.",
	}, []string{"table"})
	delay := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "syncline_capture_delay_seconds", Help: "Now minus the source commit time of the last committed change; advances with heartbeats on an idle source and grows while capture cannot commit.",
	}, func() float64 {
		ts := m.sourceTS.Load()
		if ts == 0 {
			return 0
		}
		return max(time.Since(time.UnixMilli(ts)).Seconds(), 0)
	})
	failing := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "syncline_capture_failing_seconds", Help: "Seconds since the first failure of the current streak of failures; 0 while healthy (a commit ends a streak).",
	}, func() float64 {
		since := m.failingSince.Load()
		if since == 0 {
			return 0
		}
		return max(time.Since(time.Unix(0, since)).Seconds(), 0)
	})
	reg.MustRegister(m.rows, m.bytes, delay, m.snapshotRows, m.snapshotTotal, m.commits, m.checkpointTS, m.retries, failing, m.lastError,
		m.parked, m.refused, m.oversized)
	return m
}

// eventTally counts consecutive events of one table and operation, so that
// a batch looks its metrics' label values up once per run rather than once
// per event.
type eventTally struct {
	table, op string
	events    int
	bytes     int
}

// add counts one event of size bytes, first flushing the run of another
// table or operation.
func (t *eventTally) add(m *Metrics, table, op string, size int) {
	if t.events > 0 && (t.table != table || t.op != op) {
		t.flush(m)
	}
	t.table, t.op = table, op
	t.events++
	t.bytes += size
}

// flush adds the counted run to m.
func (t *eventTally) flush(m *Metrics) {
	if m != nil && t.events > 0 {
		m.rows.WithLabelValues(t.table, t.op).Add(float64(t.events))
		m.bytes.WithLabelValues(t.table).Add(float64(t.bytes))
	}
	t.events, t.bytes = 0, 0
}

func (m *Metrics) committed(sourceTS time.Time) {
	if m == nil {
		return
	}
	m.commits.Inc()
	m.checkpointTS.Set(float64(time.Now().UnixMilli()) / 1000)
	m.restored(sourceTS)
}

// restored sets the source time the delay counts from: a commit's, or at
// start the stored checkpoint's.
func (m *Metrics) restored(sourceTS time.Time) {
	if m != nil && !sourceTS.IsZero() {
		m.sourceTS.Store(sourceTS.UnixMilli())
	}
}

// failing records a failure of a streak that began at since.
func (m *Metrics) failing(since time.Time, class, table string) {
	if m == nil {
		return
	}
	m.failingSince.Store(since.UnixNano())
	m.lastError.Reset()
	m.lastError.WithLabelValues(class, table).Set(1)
}

// retried counts a restart after a failure.
func (m *Metrics) retried() {
	if m != nil {
		m.retries.Inc()
	}
}

// healthy ends a streak of failures.
func (m *Metrics) healthy() {
	if m == nil {
		return
	}
	m.failingSince.Store(0)
	m.lastError.Reset()
}

func (m *Metrics) snapshot(table string, rows, estimate int64) {
	if m == nil {
		return
	}
	m.snapshotRows.WithLabelValues(table).Set(float64(rows))
	if estimate > 0 {
		m.snapshotTotal.WithLabelValues(table).Set(float64(estimate))
	}
}

// tablesParked sets the number of parked tables.
func (m *Metrics) tablesParked(n int) {
	if m == nil {
		return
	}
	m.parked.Set(float64(n))
}

// revisionRefused counts a task revision capture did not take.
func (m *Metrics) revisionRefused() {
	if m != nil {
		m.refused.Inc()
	}
}

// oversizedRow counts a row published without its large columns.
func (m *Metrics) oversizedRow(table string) {
	if m != nil {
		m.oversized.WithLabelValues(table).Inc()
	}
}
