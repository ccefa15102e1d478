package apply

import (
	"encoding/json"
	"fmt"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/syncline/syncline/internal/event"
)

// omittedColumns returns the columns a record names in its
// event.OmittedColumnsHeader: capture published the row without their
// values because it was too large for a Kafka record (--oversized
// skip-columns).
func omittedColumns(rec *kgo.Record) ([]string, error) {
	for _, h := range rec.Headers {
		if h.Key != event.OmittedColumnsHeader {
			continue
		}
		var names []string
		if err := json.Unmarshal(h.Value, &names); err != nil {
			return nil, fmt.Errorf("header %s: %w", event.OmittedColumnsHeader, err)
		}
		return names, nil
	}
	return nil, nil
}

// withoutColumns returns row without the columns named, so that an upsert
// leaves the target's values of those columns as they are (a Sink keeps
// the value of a column a row lacks on update).
func withoutColumns(row map[string]any, names []string) map[string]any {
	out := make(map[string]any, len(row))
	for k, v := range row {
		out[k] = v
	}
	for _, n := range names {
		delete(out, n)
	}
	return out
}
