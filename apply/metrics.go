package apply

import (
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are apply's Prometheus figures. A nil *Metrics records nothing.
type Metrics struct {
	delay       prometheus.GaugeFunc
	rows        *prometheus.CounterVec
	batchRows   prometheus.Histogram
	writeTime   prometheus.Histogram
	retries     prometheus.Counter
	deadLetters prometheus.Counter
	ddl         prometheus.Counter
	failingFor  prometheus.GaugeFunc
	lastClass   *prometheus.GaugeVec

	// What the delay figure is computed from when it is read.
	newest    atomic.Int64 // unix nanoseconds of the newest source commit applied
	lastDelay atomic.Int64 // the delay, in nanoseconds, when newest was applied
	unapplied atomic.Int64 // records read and not yet written and committed
	// failingSince is the unix nanoseconds of the first failure of the
	// current failure streak, 0 when healthy.
	failingSince atomic.Int64
}

// NewMetrics creates apply's metrics and registers them with reg; a nil reg
// registers nothing.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
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
			Help: "Operations retried after a transient error of Kafka, the schema registry or the target.",
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
	m.delay = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "syncline_apply_delay_seconds",
		Help: "While changes read from Kafka wait to be written, now minus the source commit time of the newest change applied to the target (it grows while the target refuses or stalls writes); once all are written, that difference when the newest was applied.",
	}, m.delaySeconds)
	m.failingFor = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "syncline_apply_failing_seconds",
		Help: "Seconds since the first failure of the current streak of failures of Kafka, the registry or the target that apply retries; 0 when healthy.",
	}, m.failingSeconds)
	m.lastClass = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "syncline_apply_last_error_class",
		Help: "1 for the class of the last error apply met (kafka, registry, target, auth, record), 0 for the others; all 0 before any error.",
	}, []string{"class"})
	for _, c := range errorClasses() {
		m.lastClass.WithLabelValues(string(c)).Set(0)
	}
	if reg != nil {
		reg.MustRegister(m.delay, m.rows, m.batchRows, m.writeTime, m.retries, m.deadLetters, m.ddl, m.failingFor, m.lastClass)
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
	if n := newest.UnixNano(); n > m.newest.Load() {
		m.newest.Store(n)
	}
	m.lastDelay.Store(int64(max(time.Since(newest), 0)))
}

// consuming starts the count of records read and not yet written: a new
// consumer reads again whatever an earlier one read and did not commit.
func (m *Metrics) consuming() {
	if m != nil {
		m.unapplied.Store(0)
	}
}

// read counts records read from Kafka, which wait until flushed counts
// them as written and committed.
func (m *Metrics) read(records int) {
	if m != nil {
		m.unapplied.Add(int64(records))
	}
}

// flushed counts records written to the target and committed.
func (m *Metrics) flushed(records int) {
	if m != nil {
		m.unapplied.Add(-int64(records))
	}
}

// delaySeconds is the delay figure when it is read: while records wait to
// be written it grows with the clock, so that a stalled target shows as a
// growing delay; once none wait, the source is idle or apply caught up,
// and it stays what it was when the newest change was applied.
func (m *Metrics) delaySeconds() float64 {
	newest := m.newest.Load()
	if newest == 0 {
		return 0
	}
	if m.unapplied.Load() > 0 {
		return max(time.Since(time.Unix(0, newest)), 0).Seconds()
	}
	return time.Duration(m.lastDelay.Load()).Seconds()
}

// failure records an error of class: the last error class, a retry when
// apply retries it, and the start of the failure streak (zero: none).
func (m *Metrics) failure(class errorClass, retrying bool, since time.Time) {
	if m == nil {
		return
	}
	for _, c := range errorClasses() {
		v := 0.0
		if c == class {
			v = 1
		}
		m.lastClass.WithLabelValues(string(c)).Set(v)
	}
	if retrying {
		m.retries.Inc()
	}
	m.failing(since)
}

// failing sets the start of the failure streak; zero ends it.
func (m *Metrics) failing(since time.Time) {
	if m == nil {
		return
	}
	if since.IsZero() {
		m.failingSince.Store(0)
		return
	}
	m.failingSince.Store(since.UnixNano())
}

func (m *Metrics) failingSeconds() float64 {
	t := m.failingSince.Load()
	if t == 0 {
		return 0
	}
	return max(time.Since(time.Unix(0, t)), 0).Seconds()
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
