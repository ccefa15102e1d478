// Package precheck checks, before a task starts, that its source, targets
// and Kafka cluster are ready for it: every endpoint answers, the source's
// binlog is configured for row-based capture, the users have the privileges
// they need, and the selected tables can be captured.
//
// Each check is a small function of the same shape, run in a fixed order
// (see checks), so that a failure is always reported the same way. A check
// whose prerequisite failed (say, the source is unreachable) reports
// nothing rather than a second, derived failure.
//
//	report := precheck.Run(ctx, cfg)
//	report.WriteText(os.Stdout)
//	if report.Failed() { ... }
package precheck

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/syncline/syncline/endpoint"
	"github.com/syncline/syncline/internal/target"
	"github.com/syncline/syncline/internal/target/targetcheck"
	"github.com/syncline/syncline/internal/words"
)

// Defaults of Config's optional fields.
const (
	// DefaultTopicPrefix is the topic prefix when Config.TopicPrefix is empty.
	DefaultTopicPrefix = "syncline"
	// DefaultServerID is the capture's replica server id when
	// Config.ServerID is 0.
	DefaultServerID uint32 = 1001
	// DefaultTimeout bounds each connection and query when Config.Timeout
	// is 0.
	DefaultTimeout = 5 * time.Second
	// MinRetention is the binlog retention below which precheck warns: a
	// capture stopped over a long weekend must still find its position.
	MinRetention = 3 * 24 * time.Hour
)

// maxTopicPrefix keeps <prefix>.<db>.<table> and the scratch topic within
// Kafka's 249-character limit for ordinary names.
const maxTopicPrefix = 200

// validTopicPrefix reports whether s is made of the characters of topic
// names, [A-Za-z0-9._-] (docs/events.md).
func validTopicPrefix(s string) bool {
	return s != "" && strings.Trim(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == ""
}

// Selection chooses source tables.
type Selection interface {
	Match(db, table string) bool
	String() string
}

// Config says what to check. Only Source and Tables are required.
type Config struct {
	// Source is the MySQL or MariaDB server capture reads. Required.
	Source endpoint.Endpoint
	// Targets are the servers apply writes to (MySQL, PostgreSQL,
	// ClickHouse). Optional: without them no target is checked.
	Targets []endpoint.Endpoint
	// Brokers are the Kafka seed brokers, host:port. Optional: without
	// them Kafka is reported as not checked (a warning).
	Brokers []string
	// RegistryURL is the schema registry's http:// or https:// URL.
	// Optional: without it the registry is reported as not checked.
	RegistryURL string
	// TopicPrefix is the prefix of every topic; "" means DefaultTopicPrefix.
	TopicPrefix string
	// Tables selects the source tables: a *filter.Filter, or a task's
	// *task.Objects. Required.
	Tables Selection
	// ServerID is the replica server id capture will use; 0 means
	// DefaultServerID.
	ServerID uint32
	// Timeout bounds each connection attempt and each query, per
	// endpoint; 0 means DefaultTimeout.
	Timeout time.Duration
	// Logger receives debug logs of what is being checked; nil discards.
	Logger *slog.Logger
}

// FieldError is a Config field that is missing or invalid.
type FieldError struct {
	// Field is the Config field's name, e.g. "Source" or "Targets[1]".
	Field string
	// Problem says what is wrong with it.
	Problem string
}

// Error returns "Field: Problem".
func (e *FieldError) Error() string { return e.Field + ": " + e.Problem }

// Validate checks the Config without any I/O. Its error is a *FieldError
// naming the first invalid field.
func (c Config) Validate() error {
	c = c.withDefaults()
	if c.Source.Kind == "" {
		return &FieldError{"Source", "required"}
	}
	if c.Source.Kind != endpoint.MySQL {
		return &FieldError{"Source", fmt.Sprintf("%s is a %s endpoint; the source must be mysql://", c.Source.Redacted(), c.Source.Kind)}
	}
	if c.Source.Host == "" {
		return &FieldError{"Source", "names no host"}
	}
	for i, t := range c.Targets {
		if !target.Serves(t.Kind) {
			return &FieldError{fmt.Sprintf("Targets[%d]", i), fmt.Sprintf("unknown kind %q; use %s", t.Kind, target.Schemes())}
		}
		if t.Host == "" {
			return &FieldError{fmt.Sprintf("Targets[%d]", i), "names no host"}
		}
	}
	for i, b := range c.Brokers {
		host, port, err := net.SplitHostPort(b)
		if err != nil || host == "" {
			return &FieldError{fmt.Sprintf("Brokers[%d]", i), fmt.Sprintf("%q is not host:port", b)}
		}
		if n, err := strconv.Atoi(port); err != nil || n <= 0 || n > 65535 {
			return &FieldError{fmt.Sprintf("Brokers[%d]", i), fmt.Sprintf("port %q is not a number from 1 to 65535", port)}
		}
	}
	if c.RegistryURL != "" {
		u, err := url.Parse(c.RegistryURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return &FieldError{"RegistryURL", fmt.Sprintf("%q is not an http:// or https:// URL such as http://registry:8081", c.RegistryURL)}
		}
	}
	if !validTopicPrefix(c.TopicPrefix) {
		return &FieldError{"TopicPrefix", fmt.Sprintf("%q may contain only A-Z, a-z, 0-9, '.', '_' and '-'", c.TopicPrefix)}
	}
	if len(c.TopicPrefix) > maxTopicPrefix {
		return &FieldError{"TopicPrefix", fmt.Sprintf("is %d characters long; at most %d", len(c.TopicPrefix), maxTopicPrefix)}
	}
	if c.Tables == nil {
		return &FieldError{"Tables", "required"}
	}
	if c.Timeout < 0 {
		return &FieldError{"Timeout", fmt.Sprintf("%s is negative", c.Timeout)}
	}
	return nil
}

// withDefaults fills the optional fields.
func (c Config) withDefaults() Config {
	if c.TopicPrefix == "" {
		c.TopicPrefix = DefaultTopicPrefix
	}
	if c.ServerID == 0 {
		c.ServerID = DefaultServerID
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Status is the verdict of one check.
type Status int

// The verdicts, from best to worst.
const (
	// Pass: ready.
	Pass Status = iota
	// Warn: the task can run, but something deserves attention.
	Warn
	// Fail: the task cannot run, or would lose or corrupt data.
	Fail
)

// String returns "pass", "warn" or "fail".
func (s Status) String() string {
	switch s {
	case Pass:
		return "pass"
	case Warn:
		return "warn"
	case Fail:
		return "fail"
	}
	return "status(" + strconv.Itoa(int(s)) + ")"
}

// Result is the outcome of one check, or of one part of it (one table, one
// target).
type Result struct {
	// Check names the check, e.g. "source.binlog_format".
	Check string
	// Status is the verdict.
	Status Status
	// Message says what was found, on one line.
	Message string
	// Fix says what to do about a warning or failure; empty for a pass.
	Fix string
}

// Report is the outcome of every check, in the order they ran.
type Report struct {
	Results []Result
}

// Failed reports whether any check failed.
func (r Report) Failed() bool { return r.Worst() == Fail }

// Worst returns the worst status of the report; Pass when it is empty.
func (r Report) Worst() Status {
	worst := Pass
	for _, res := range r.Results {
		worst = max(worst, res.Status)
	}
	return worst
}

// Count returns how many results have the status.
func (r Report) Count(status Status) int {
	n := 0
	for _, res := range r.Results {
		if res.Status == status {
			n++
		}
	}
	return n
}

// Find returns the results of one check.
func (r Report) Find(check string) []Result {
	var out []Result
	for _, res := range r.Results {
		if res.Check == check {
			out = append(out, res)
		}
	}
	return out
}

// WriteText writes the report as an aligned table, STATUS CHECK MESSAGE,
// with a "fix:" line under every warning and failure, and a summary line.
func (r Report) WriteText(w io.Writer) error {
	const header1, header2 = "STATUS", "CHECK"
	statusWidth, checkWidth := len(header1), len(header2)
	for _, res := range r.Results {
		statusWidth = max(statusWidth, len(res.Status.String()))
		checkWidth = max(checkWidth, len(res.Check))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%-*s  %-*s  %s\n", statusWidth, header1, checkWidth, header2, "MESSAGE")
	indent := strings.Repeat(" ", statusWidth+2+checkWidth+2)
	for _, res := range r.Results {
		fmt.Fprintf(&b, "%-*s  %-*s  %s\n", statusWidth, res.Status, checkWidth, res.Check, targetcheck.OneLine(res.Message))
		if res.Status != Pass && res.Fix != "" {
			fmt.Fprintf(&b, "%sfix: %s\n", indent, targetcheck.OneLine(res.Fix))
		}
	}
	fmt.Fprintf(&b, "\n%d passed, %s, %d failed\n", r.Count(Pass), words.Plural(r.Count(Warn), "warning", "warnings"), r.Count(Fail))
	_, err := io.WriteString(w, b.String())
	return err
}

// check is the shape of every check: it reads and fills the shared state of
// the run and returns its results (none when a prerequisite failed).
type check func(ctx context.Context, r *run) []Result

// checks returns every check in the order they run. A check may rely on the
// state filled by those before it.
func checks() []check {
	return []check{
		// source.go
		checkSourceConnect,
		checkSourceVersion,
		checkLogBin,
		checkBinlogFormat,
		checkBinlogRowImage,
		checkBinlogRowMetadata,
		checkBinlogRetention,
		checkGTID,
		checkServerID,
		// privileges.go
		checkReplicationPrivileges,
		// tables.go
		checkTablesSelected,
		// privileges.go
		checkSelectPrivilege,
		// tables.go
		checkTableDefinitions,
		checkTableEngines,
		checkTableKeys,
		checkColumnTypes,
		checkTableRules,
		// targets.go
		checkTargetConnect,
		// privileges.go
		checkTargetPrivileges,
		// targets.go
		checkTargetTables,
		// kafka.go
		checkKafkaBrokers,
		checkKafkaCreateTopic,
		checkRegistry,
	}
}

// Run runs every check and returns the report. It never returns early: a
// failed check is a result, and so is an invalid Config (check "config").
// Every connection it opens is closed before it returns.
func Run(ctx context.Context, cfg Config) Report {
	if err := cfg.Validate(); err != nil {
		return Report{Results: []Result{{Check: "config", Status: Fail, Message: err.Error(), Fix: "correct the configuration"}}}
	}
	r := &run{cfg: cfg.withDefaults()}
	r.log = r.cfg.Logger
	defer r.close()
	var rep Report
	for _, c := range checks() {
		if ctx.Err() != nil {
			rep.Results = append(rep.Results, Result{Check: "precheck", Status: Fail, Message: "interrupted: " + ctx.Err().Error(), Fix: "run precheck again"})
			break
		}
		rep.Results = append(rep.Results, c(ctx, r)...)
	}
	return rep
}

// run is the state the checks share.
type run struct {
	cfg Config
	log *slog.Logger

	source  *sourceConn // nil until connected, and if the connection failed
	tables  []sourceTable
	targets []*targetConn // one per cfg.Targets, nil where the connection failed
	kafka   *kafkaConn    // nil when no brokers are given or they did not answer
}

// close closes every connection of the run.
func (r *run) close() {
	if r.source != nil {
		_ = r.source.conn.Close()
	}
	for _, t := range r.targets {
		if t != nil {
			t.close()
		}
	}
	if r.kafka != nil {
		r.kafka.close()
	}
}

// pass, warn and fail build results.
func pass(check, format string, args ...any) Result {
	return Result{Check: check, Status: Pass, Message: fmt.Sprintf(format, args...)}
}

func warn(check, fix, format string, args ...any) Result {
	return Result{Check: check, Status: Warn, Message: fmt.Sprintf(format, args...), Fix: fix}
}

func fail(check, fix, format string, args ...any) Result {
	return Result{Check: check, Status: Fail, Message: fmt.Sprintf(format, args...), Fix: fix}
}

// tablesSelected says "1 selected table" or "n selected tables".
func tablesSelected(n int) string {
	if n == 1 {
		return "1 selected table"
	}
	return strconv.Itoa(n) + " selected tables"
}
