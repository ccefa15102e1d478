package console

import (
	"slices"
	"strconv"
	"strings"

	"github.com/syncline/syncline/status"
	"github.com/syncline/syncline/task"
	"github.com/syncline/syncline/topics"
)

// View is what the page shows, as /api/task serves it.
type View struct {
	Task   string `json:"task"`
	Prefix string `json:"prefix"`
	// AtMillis is when the sample was taken.
	AtMillis int64 `json:"at_ms"`
	// Error is why (part of) the last sample failed; the rest is shown.
	Error       string           `json:"error,omitempty"`
	Capture     *CaptureView     `json:"capture"`
	Tables      []TableView      `json:"tables"`
	Groups      []GroupView      `json:"groups"`
	DeadLetters []DeadLetterView `json:"dead_letters"`
	// Objects is the running object list; nil when the task keeps none in
	// Kafka (a capture started with --tables).
	Objects *ObjectsView `json:"objects"`
	Series  Series       `json:"series"`
	// Changes says whether the page may change the task.
	Changes bool `json:"changes"`
	// Metrics says whether the components' metrics were read.
	Metrics        bool  `json:"metrics"`
	IntervalMillis int64 `json:"interval_ms"`
}

// CaptureView is capture's state.
type CaptureView struct {
	Name string `json:"name"`
	// Stage is "streaming" or "snapshotting".
	Stage    string `json:"stage"`
	Position string `json:"position"`
	GTID     string `json:"gtid,omitempty"`
	// DelaySeconds is nil when unknown.
	DelaySeconds *float64 `json:"delay_s"`
	AgeSeconds   float64  `json:"age_s"`
	Tables       int      `json:"tables"`
	Snapshotting int      `json:"snapshotting"`
	Parked       int      `json:"parked"`
	// Status is the status package's report of capture, whole.
	Status *status.Capture `json:"status"`
}

// TableView is one table.
type TableView struct {
	Name  string `json:"name"`
	Topic string `json:"topic"`
	// Stage is snapshot, streaming, parked, or "" when not captured.
	Stage        string `json:"stage"`
	Reason       string `json:"reason,omitempty"`
	SnapshotRows int64  `json:"snapshot_rows"`
	// EstimatedRows is the snapshot's estimate of the table's rows; 0 when
	// unknown.
	EstimatedRows int64 `json:"estimated_rows"`
	// ETASeconds is the snapshot's expected remaining time; nil when
	// unknown.
	ETASeconds *float64 `json:"eta_s"`
	// Offsets is the topic's end offset summed over partitions.
	Offsets int64 `json:"offsets"`
	// Rate is offsets per second since the previous sample.
	Rate *float64 `json:"rate"`
}

// GroupView is one apply consumer group.
type GroupView struct {
	Name    string `json:"name"`
	State   string `json:"state"`
	Members int    `json:"members"`
	Lag     int64  `json:"lag"`
	Exact   bool   `json:"exact"`
	// Rate is offsets committed per second since the previous sample.
	Rate *float64 `json:"rate"`
	// Error is why the group could not be described.
	Error string `json:"error,omitempty"`
	// Retries counts write retries (from the metrics); nil when unknown.
	Retries *float64 `json:"retries"`
	// DeadLetters counts records in the group's dead-letter topic.
	DeadLetters     int64  `json:"dead_letters"`
	DeadLetterTopic string `json:"dead_letter_topic"`
	// Tables has the group's lag per table, in the order of View.Tables.
	Tables []status.GroupTable `json:"tables"`
}

// DeadLetterView is one dead-letter topic.
type DeadLetterView struct {
	Group   string `json:"group"`
	Topic   string `json:"topic"`
	Records int64  `json:"records"`
}

// ObjectsView is the running object list from the task topic.
type ObjectsView struct {
	Revision int           `json:"revision"`
	Change   string        `json:"change"`
	TSMillis int64         `json:"ts_ms"`
	Objects  []task.Object `json:"objects"`
}

// view builds the page's state from a sample and the one before, and adds
// a point to the charts.
func (s *Server) view(sm, prev *sample) *View {
	v := &View{Task: s.cfg.Task, Prefix: s.cfg.Status.Prefix, AtMillis: sm.at.UnixMilli(), Objects: sm.objects,
		Metrics: sm.metrics != nil, Tables: []TableView{}, Groups: []GroupView{}, DeadLetters: []DeadLetterView{}}
	if sm.err != nil {
		v.Error = sm.err.Error()
	}
	rep := sm.report
	if rep == nil {
		if s.state != nil {
			// Keep showing the last good state under the error.
			old := *s.state
			old.Error = v.Error
			return &old
		}
		return v
	}
	var prep *status.Report
	dt := 0.0
	if prev != nil && prev.report != nil {
		prep = prev.report
		dt = rep.At.Sub(prep.At).Seconds()
	}
	rate := func(now, before int64) *float64 {
		if dt <= 0 {
			return nil
		}
		r := max(float64(now-before)/dt, 0)
		return &r
	}

	pt := point{t: sm.at.UnixMilli()}
	if c := rep.Capture; c != nil {
		cv := &CaptureView{Name: c.Name, Stage: "streaming", Position: c.Checkpoint.File + ":" + strconv.FormatUint(uint64(c.Checkpoint.Pos), 10),
			GTID: c.Checkpoint.GTIDSet, AgeSeconds: c.Age.Seconds(), Tables: len(c.Checkpoint.Tables),
			Snapshotting: c.Snapshotting(), Parked: c.Parked(), Status: c}
		if cv.Snapshotting > 0 {
			cv.Stage = "snapshotting"
		}
		if c.Checkpoint.SourceTSMillis > 0 {
			d := c.Delay.Seconds()
			cv.DelaySeconds = &d
		}
		v.Capture = cv
		pt.delay = cv.DelaySeconds
	}
	if pt.delay == nil && sm.metrics != nil && sm.metrics.hasDelay {
		d := sm.metrics.captureDelay
		pt.delay = &d
	}

	var total, prevTotal int64
	for _, t := range rep.Tables {
		tv := TableView{Name: t.Name, Topic: t.Topic, Stage: t.Stage, Reason: t.Reason, SnapshotRows: t.SnapshotRows, Offsets: t.End}
		var pt status.Table
		havePrev := false
		if prep != nil {
			for _, p := range prep.Tables {
				if p.Name == t.Name && p.Topic == t.Topic {
					pt, havePrev = p, true
				}
			}
		}
		if havePrev {
			tv.Rate = rate(t.End, pt.End)
		}
		if t.Stage == topics.StageSnapshot && sm.metrics != nil {
			tv.EstimatedRows = int64(sm.metrics.snapshotEstimate[t.Name])
			if r := rate(t.SnapshotRows, pt.SnapshotRows); havePrev && r != nil && *r > 0 && tv.EstimatedRows > t.SnapshotRows {
				eta := float64(tv.EstimatedRows-t.SnapshotRows) / *r
				tv.ETASeconds = &eta
			}
		}
		total += t.End
		if havePrev {
			prevTotal += pt.End
		} else {
			prevTotal += t.End
		}
		v.Tables = append(v.Tables, tv)
	}
	// Rows per second: capture's published rows when its metrics are at
	// hand, else the table topics' offsets.
	if sm.metrics != nil && prev != nil && prev.metrics != nil && dt > 0 {
		r := max((sm.metrics.captureRows-prev.metrics.captureRows)/dt, 0)
		b := max((sm.metrics.captureBytes-prev.metrics.captureBytes)/dt, 0)
		pt.rows, pt.bytes = &r, &b
	} else if prep != nil {
		pt.rows = rate(total, prevTotal)
	}

	for _, g := range rep.Groups {
		lag, exact := g.Lag()
		gv := GroupView{Name: g.Name, State: g.State, Members: g.Members, Lag: lag, Exact: exact, Tables: g.Tables}
		if g.Tables == nil {
			gv.Tables = []status.GroupTable{}
		}
		if g.Err != nil {
			gv.Error = g.Err.Error()
		}
		if prep != nil {
			for _, pg := range prep.Groups {
				if pg.Name == g.Name {
					gv.Rate = rate(committed(g), committed(pg))
				}
			}
		}
		if sm.metrics != nil {
			if r, ok := sm.metrics.applyRetries[g.Name]; ok {
				gv.Retries = &r
			}
		}
		if d, ok := sm.deadLetters[g.Name]; ok {
			gv.DeadLetters, gv.DeadLetterTopic = d.records, d.topic
		}
		v.Groups = append(v.Groups, gv)
	}
	for group, d := range sm.deadLetters {
		v.DeadLetters = append(v.DeadLetters, DeadLetterView{Group: group, Topic: d.topic, Records: d.records})
	}
	slices.SortFunc(v.DeadLetters, func(a, b DeadLetterView) int { return strings.Compare(a.Group, b.Group) })
	s.history.add(pt)
	return v
}

// committed sums a group's committed offsets.
func committed(g status.Group) int64 {
	var n int64
	for _, t := range g.Tables {
		n += t.Committed
	}
	return n
}
