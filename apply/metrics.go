package apply

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are apply's Prometheus figures. A nil *Metrics records nothing.
type Metrics struct {
	delay       prometheus.Gauge
	rows        *prometheus.CounterVec
	batchRows   prometheus.Histogram
	writeTime   prometheus.Histogram
	retries     prometheus.Counter
	deadLetters prometheus.Counter
	ddl         prometheus.Counter
}

// NewMetrics creates apply's metrics and registers them with reg; a nil reg
// registers nothing.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		delay: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "syncline_apply_delay_seconds",
			Help: "Now minus the source commit time of the newest change applied to the target.",
		}),
		rows: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "syncline_apply_rows_total",
			Help: "Row changes written to the target, by table and operation (upsert, delete), after collapsing changes of the same key within a batch.",
		}, []string{"table", "op"}),
		batchRows: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "syncline_apply_batch_rows",
			Help:    "Changes per table batch written in one target transaction.",
			Buckets: prometheus.ExponentialBuckets(1, 4, 10),
		}),
		writeTime: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "syncline_apply_write_seconds",
			Help:    "Time to write one table batch to the target, commit included.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 14),
		}),
		retries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "syncline_apply_retries_total",
			Help: "Target operations retried after a retryable error.",
		}),
		deadLetters: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "syncline_apply_dead_letters_total",
			Help: "Records written to the dead-letter topic.",
		}),
		ddl: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "syncline_apply_schema_changes_total",
			Help: "Schema-change events applied to the target.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.delay, m.rows, m.batchRows, m.writeTime, m.retries, m.deadLetters, m.ddl)
	}
	return m
}

func (m *Metrics) wrote(table string, upserts, deletes int, took time.Duration, newest time.Time) {
	if m == nil {
		return
	}
	if upserts > 0 {
		m.rows.WithLabelValues(table, Upsert.String()).Add(float64(upserts))
	}
	if deletes > 0 {
		m.rows.WithLabelValues(table, Delete.String()).Add(float64(deletes))
	}
	m.batchRows.Observe(float64(upserts + deletes))
	m.writeTime.Observe(took.Seconds())
	m.applied(newest)
}

// applied moves the delay figure to the newest source time applied.
func (m *Metrics) applied(newest time.Time) {
	if m == nil || newest.IsZero() {
		return
	}
	m.delay.Set(max(time.Since(newest).Seconds(), 0))
}

func (m *Metrics) retry() {
	if m != nil {
		m.retries.Inc()
	}
}

func (m *Metrics) deadLetter() {
	if m != nil {
		m.deadLetters.Inc()
	}
}

func (m *Metrics) schemaChange() {
	if m != nil {
		m.ddl.Inc()
	}
}
