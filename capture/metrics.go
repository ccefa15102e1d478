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
	}
	reg.MustRegister(m.rows, m.bytes, m.delay, m.snapshotRows, m.snapshotTotal, m.commits)
	return m
}

func (m *Metrics) event(table, op string, size int) {
	if m == nil {
		return
	}
	m.rows.WithLabelValues(table, op).Inc()
	m.bytes.WithLabelValues(table).Add(float64(size))
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
