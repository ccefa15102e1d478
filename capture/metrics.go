package capture

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are capture's Prometheus figures.
type Metrics struct {
	rows          *prometheus.CounterVec
	bytes         *prometheus.CounterVec
	delay         prometheus.Gauge
	snapshotRows  *prometheus.GaugeVec
	snapshotTotal *prometheus.GaugeVec
	commits       prometheus.Counter
	parked        prometheus.Gauge
	refused       prometheus.Counter
	oversized     *prometheus.CounterVec
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
		delay: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "syncline_capture_delay_seconds", Help: "Now minus the source commit time of the last captured change; advances with heartbeats on an idle source.",
		}),
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
	}
	m.refused = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "syncline_capture_task_revisions_refused_total", Help: "Revisions of the task's object list that did not fit the source; capture went on with the previous list.",
	})
	m.oversized = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "syncline_capture_oversized_rows_total", Help: "Row changes larger than a Kafka record may be, published without their large columns (--oversized skip-columns), by table.",
	}, []string{"table"})
	reg.MustRegister(m.rows, m.bytes, m.delay, m.snapshotRows, m.snapshotTotal, m.commits, m.parked, m.refused, m.oversized)
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
	if !sourceTS.IsZero() {
		m.delay.Set(max(time.Since(sourceTS).Seconds(), 0))
	}
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
