package verify

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/syncline/syncline/internal/words"
)

// Report is the result of a verification, table by table.
type Report struct {
	// Source and Target are the redacted URLs.
	Source string `json:"source"`
	Target string `json:"target"`
	// Started is when the verification began; Seconds how long it took.
	Started time.Time `json:"started"`
	Seconds float64   `json:"seconds"`
	// Tables holds one entry per selected source table, in name order.
	Tables  []TableReport `json:"tables"`
	Summary Summary       `json:"summary"`
}

// Results of a table.
const (
	ResultEqual     = "equal"     // no difference remains
	ResultDifferent = "different" // differences remain
	ResultError     = "error"     // the table could not be compared
)

// TableReport is the result of one table.
type TableReport struct {
	Database string `json:"database"`
	Table    string `json:"table"`
	// TargetDatabase and TargetTable name the table in the target.
	TargetDatabase string `json:"target_database"`
	TargetTable    string `json:"target_table"`
	// Result is ResultEqual, ResultDifferent or ResultError.
	Result string `json:"result"`
	// Rows is the number of source rows compared (after the mapping's
	// row filter), Chunks the number of chunks they were read in.
	Rows   int64 `json:"rows"`
	Chunks int   `json:"chunks"`
	// Missing, Extra and Different count the rows that differ after the
	// rechecks: in the source but not the target, in the target but not
	// the source, and in both with different values.
	Missing   int64 `json:"missing"`
	Extra     int64 `json:"extra"`
	Different int64 `json:"different"`
	// Repaired counts the rows --repair rewrote (upserted or deleted).
	Repaired int64 `json:"repaired"`
	// Differences lists the first differences (Config.MaxExamples).
	Differences []Difference `json:"differences,omitempty"`
	// Error says why the table could not be compared.
	Error string `json:"error,omitempty"`
}

// Kinds of Difference.
const (
	KindMissing   = "missing"   // the source row is not in the target
	KindExtra     = "extra"     // the target row is not in the source
	KindDifferent = "different" // the row differs in Columns
)

// Difference is one row that differs.
type Difference struct {
	Kind string      `json:"kind"`
	Key  []KeyColumn `json:"key"`
	// Columns names the source columns whose values differ (KindDifferent).
	Columns []string `json:"columns,omitempty"`
}

// KeyColumn is one column of a row's key, its value as text (strings
// quoted, bytes in hex).
type KeyColumn struct {
	Column string `json:"column"`
	Value  string `json:"value"`
}

// Summary totals the tables.
type Summary struct {
	Tables          int   `json:"tables"`
	EqualTables     int   `json:"equal_tables"`
	DifferentTables int   `json:"different_tables"`
	FailedTables    int   `json:"failed_tables"`
	Rows            int64 `json:"rows"`
	Missing         int64 `json:"missing"`
	Extra           int64 `json:"extra"`
	Different       int64 `json:"different"`
	Repaired        int64 `json:"repaired"`
}

// Equal reports whether every table was compared and found equal.
func (r *Report) Equal() bool {
	return r.Summary.DifferentTables == 0 && r.Summary.FailedTables == 0
}

// Differences returns the number of differing rows of every table.
func (s Summary) Differences() int64 { return s.Missing + s.Extra + s.Different }

// summarize fills in the summary and each table's result.
func (r *Report) summarize() {
	s := Summary{Tables: len(r.Tables)}
	for i := range r.Tables {
		t := &r.Tables[i]
		switch {
		case t.Error != "":
			t.Result = ResultError
			s.FailedTables++
		case t.Missing+t.Extra+t.Different > 0:
			t.Result = ResultDifferent
			s.DifferentTables++
		default:
			t.Result = ResultEqual
			s.EqualTables++
		}
		s.Rows += t.Rows
		s.Missing += t.Missing
		s.Extra += t.Extra
		s.Different += t.Different
		s.Repaired += t.Repaired
	}
	r.Summary = s
}

// String renders a difference on one line: kind, key and columns.
func (d Difference) String() string {
	parts := make([]string, len(d.Key))
	for i, k := range d.Key {
		parts[i] = k.Column + "=" + k.Value
	}
	s := d.Kind + " " + strings.Join(parts, ", ")
	if len(d.Columns) > 0 {
		s += ": " + strings.Join(d.Columns, ", ")
	}
	return s
}

// WriteJSON writes the report as one indented JSON document.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes the report as a table, one line per table followed by
// its listed differences or error, and a summary line.
func (r *Report) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "TABLE\tTARGET\tROWS\tCHUNKS\tMISSING\tEXTRA\tDIFFERENT\tREPAIRED\tRESULT\n")
	for _, t := range r.Tables {
		target := t.TargetDatabase + "." + t.TargetTable
		fmt.Fprintf(tw, "%s.%s\t%s\t%d\t%d\t%d\t%d\t%d\t%d\t%s\n",
			t.Database, t.Table, target, t.Rows, t.Chunks, t.Missing, t.Extra, t.Different, t.Repaired, t.Result)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, t := range r.Tables {
		if t.Error == "" && len(t.Differences) == 0 {
			continue
		}
		fmt.Fprintf(w, "\n%s.%s:\n", t.Database, t.Table)
		if t.Error != "" {
			fmt.Fprintf(w, "  error: %s\n", t.Error)
		}
		for _, d := range t.Differences {
			fmt.Fprintf(w, "  %s\n", d)
		}
		if n := t.Missing + t.Extra + t.Different; n > int64(len(t.Differences)) {
			fmt.Fprintf(w, "  ... and %d more\n", n-int64(len(t.Differences)))
		}
	}
	s := r.Summary
	verdict := "EQUAL"
	if !r.Equal() {
		verdict = "NOT EQUAL"
	}
	line := fmt.Sprintf("\n%s: %s (%d equal, %d different, %d failed), %s compared, %s (%d missing, %d extra, %d different)",
		verdict, words.Plural(s.Tables, "table", "tables"), s.EqualTables, s.DifferentTables, s.FailedTables, words.Plural(s.Rows, "row", "rows"),
		words.Plural(s.Differences(), "difference", "differences"), s.Missing, s.Extra, s.Different)
	if s.Repaired > 0 {
		line += fmt.Sprintf(", %s repaired", words.Plural(s.Repaired, "row", "rows"))
	}
	_, err := fmt.Fprintf(w, "%s in %.1fs\n", line, r.Seconds)
	return err
}
