package console

import (
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// metricSums are the components' metrics the console uses, summed.
type metricSums struct {
	captureRows, captureBytes float64
	captureDelay              float64
	hasDelay                  bool
	// snapshotEstimate is the estimated row count of each table being
	// snapshotted, by "db.table".
	snapshotEstimate map[string]float64
	// applyRows, applyRetries and applyDeadLetters are by group (the
	// target label dev and demo give each apply).
	applyRows, applyRetries, applyDeadLetters map[string]float64
}

// gatherSums reads the metrics from g; nil when they cannot be gathered.
func gatherSums(g prometheus.Gatherer) *metricSums {
	families, err := g.Gather()
	if err != nil && len(families) == 0 {
		return nil
	}
	m := &metricSums{
		snapshotEstimate: map[string]float64{},
		applyRows:        map[string]float64{}, applyRetries: map[string]float64{}, applyDeadLetters: map[string]float64{},
	}
	for _, f := range families {
		for _, x := range f.GetMetric() {
			v := x.GetCounter().GetValue() + x.GetGauge().GetValue()
			switch f.GetName() {
			case "syncline_capture_rows_total":
				m.captureRows += v
			case "syncline_capture_bytes_total":
				m.captureBytes += v
			case "syncline_capture_delay_seconds":
				m.captureDelay, m.hasDelay = v, true
			case "syncline_capture_snapshot_rows_estimated":
				m.snapshotEstimate[label(x, "table")] = v
			case "syncline_apply_rows_total":
				m.applyRows[label(x, "target")] += v
			case "syncline_apply_retries_total":
				m.applyRetries[label(x, "target")] += v
			case "syncline_apply_dead_letters_total":
				m.applyDeadLetters[label(x, "target")] += v
			}
		}
	}
	return m
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}
