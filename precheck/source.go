package precheck

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/go-mysql-org/go-mysql/client"
	"github.com/go-mysql-org/go-mysql/mysql"

	"github.com/syncline/syncline/endpoint"
	"github.com/syncline/syncline/internal/grants"
	mysqltarget "github.com/syncline/syncline/internal/target/mysql"
)

// Flavors of MySQL-compatible server.
const (
	flavorMySQL   = "MySQL"
	flavorMariaDB = "MariaDB"
)

// showSourceVariables reads the global variables the source checks use.
const showSourceVariables = "SHOW GLOBAL VARIABLES WHERE Variable_name IN (" +
	"'version', 'version_comment', 'server_id', " +
	"'log_bin', 'binlog_format', 'binlog_row_image', 'binlog_row_metadata', " +
	"'expire_logs_days', 'binlog_expire_logs_seconds', " +
	"'gtid_mode', 'enforce_gtid_consistency', 'gtid_strict_mode', 'gtid_binlog_pos')"

// sourceConn is the connection to the source and what was learnt about the
// server on connecting.
type sourceConn struct {
	conn    *client.Conn
	timeout time.Duration
	flavor  string
	version string // @@version as the server reports it
	major   int
	minor   int
	vars    map[string]string // the variables of showSourceVariables, by lower-case name
	user    string            // CURRENT_USER(), 'user'@'host'
	grants  grants.Set        // SHOW GRANTS, once checkReplicationPrivileges read it
}

// query runs q on a MySQL connection within timeout (and ctx) and returns
// its rows as strings, NULL as "" (mysql.QueryText: the source is MySQL or
// MariaDB, read as the MySQL target is).
func query(ctx context.Context, conn *client.Conn, timeout time.Duration, q string) ([][]string, error) {
	return mysqltarget.QueryText(ctx, conn, timeout, q)
}

// query runs q on the source.
func (s *sourceConn) query(ctx context.Context, q string) ([][]string, error) {
	return query(ctx, s.conn, s.timeout, q)
}

// mysqlErrorCode returns the server error code in err, or 0.
func mysqlErrorCode(err error) uint16 {
	var myErr *mysql.MyError
	if errors.As(err, &myErr) {
		return myErr.Code
	}
	return 0
}

// connectFix returns the fix of a connection error.
func connectFix(err error) string {
	var ce *endpoint.ConnectError
	if errors.As(err, &ce) && ce.Fix != "" {
		return ce.Fix
	}
	return "check the connection string"
}

// connectProblem returns the problem of a connection error without its fix.
func connectProblem(err error) string {
	var ce *endpoint.ConnectError
	if errors.As(err, &ce) {
		return ce.Problem
	}
	return err.Error()
}

// checkSourceConnect connects to the source and reads its version and
// variables.
func checkSourceConnect(ctx context.Context, r *run) []Result {
	const name = "source.connect"
	e := r.cfg.Source
	r.log.Debug("connecting to source", "endpoint", e.Redacted())
	conn, err := endpoint.DialMySQL(ctx, e, r.cfg.Timeout)
	if err != nil {
		return []Result{fail(name, connectFix(err), "%s", connectProblem(err))}
	}
	s := &sourceConn{conn: conn, timeout: r.cfg.Timeout, vars: make(map[string]string)}
	rows, err := s.query(ctx, showSourceVariables)
	if err != nil {
		_ = conn.Close()
		return []Result{fail(name, "check that the user may run SHOW GLOBAL VARIABLES", "%s at %s: cannot read server variables: %v", e.Kind, e.Addr(), err)}
	}
	for _, row := range rows {
		s.vars[strings.ToLower(row[0])] = row[1]
	}
	rows, err = s.query(ctx, "SELECT CURRENT_USER()")
	if err == nil && len(rows) == 1 {
		s.user = grants.QuoteAccount(rows[0][0])
	}
	s.version = s.vars["version"]
	s.flavor, s.major, s.minor = parseVersion(s.version, s.vars["version_comment"])
	r.source = s
	return []Result{pass(name, "connected to %s at %s as %s", e.Kind, e.Addr(), s.user)}
}

// parseVersion reads the flavor and the major and minor version from
// @@version (e.g. "10.11.6-MariaDB-0+deb12u1-log", "8.0.36") and
// @@version_comment.
func parseVersion(version, comment string) (flavor string, major, minor int) {
	flavor = flavorMySQL
	if strings.Contains(strings.ToLower(version+" "+comment), "mariadb") {
		flavor = flavorMariaDB
	}
	num := version
	if i := strings.IndexFunc(num, func(r rune) bool { return r != '.' && (r < '0' || r > '9') }); i >= 0 {
		num = num[:i]
	}
	parts := strings.Split(num, ".")
	if len(parts) >= 2 {
		major, _ = strconv.Atoi(parts[0])
		minor, _ = strconv.Atoi(parts[1])
	}
	return flavor, major, minor
}

// describe names the server: "MySQL 8.0.36", "10.11.6-MariaDB-log".
func (s *sourceConn) describe() string { return describeVersion(s.flavor, s.version) }

// describeVersion names a server by flavor and version string, without
// repeating the flavor when the version already says it.
func describeVersion(flavor, version string) string {
	if strings.Contains(version, flavor) {
		return version
	}
	return flavor + " " + version
}

// atLeast reports whether the source's version is at least major.minor.
func (s *sourceConn) atLeast(major, minor int) bool {
	return s.major > major || s.major == major && s.minor >= minor
}

// mariaDB reports whether the source is MariaDB.
func (s *sourceConn) mariaDB() bool { return s.flavor == flavorMariaDB }

// setGlobal is the fix for a dynamic variable: set it now and in the
// config file, so that a restart keeps it.
func (s *sourceConn) setGlobal(variable, value string) string {
	if !s.mariaDB() && s.atLeast(8, 0) {
		return fmt.Sprintf("SET PERSIST %s = %s", variable, value)
	}
	return fmt.Sprintf("SET GLOBAL %s = %s, and set %s=%s in the [mysqld] section of the server's config file so that a restart keeps it", variable, value, variable, strings.Trim(value, "'"))
}

// checkSourceVersion accepts MySQL 5.7 and later and MariaDB 10 and later.
func checkSourceVersion(_ context.Context, r *run) []Result {
	const name = "source.version"
	s := r.source
	if s == nil {
		return nil
	}
	desc := s.describe()
	switch {
	case s.major == 0:
		return []Result{warn(name, "use MySQL 5.7 or later, or MariaDB 10 or later", "cannot read the version from %q; assuming a recent %s", s.version, s.flavor)}
	case s.mariaDB() && s.major < 10, !s.mariaDB() && !s.atLeast(5, 7):
		return []Result{fail(name, "upgrade the source to MySQL 8.0 or later, or MariaDB 10.5 or later", "%s is too old; Syncline supports MySQL 5.7 and 8.x and MariaDB 10.x and 11.x", desc)}
	case s.mariaDB() && s.major > 11, !s.mariaDB() && s.major > 9:
		return []Result{warn(name, "report any problem; the checks below still apply", "%s is newer than the versions Syncline is tested with (MySQL 5.7 to 9.x, MariaDB 10.x and 11.x)", desc)}
	}
	return []Result{pass(name, "%s", desc)}
}

// checkLogBin requires the binary log.
func checkLogBin(_ context.Context, r *run) []Result {
	const name = "source.log_bin"
	s := r.source
	if s == nil {
		return nil
	}
	if v := s.vars["log_bin"]; !strings.EqualFold(v, "ON") && v != "1" {
		return []Result{fail(name,
			"add log_bin and a server_id to the [mysqld] section of the server's config file and restart it; the binary log cannot be turned on at runtime",
			"the binary log is off (log_bin=%s): capture reads changes from it", orNone(v))}
	}
	return []Result{pass(name, "the binary log is on")}
}

// checkBinlogFormat requires row-based logging.
func checkBinlogFormat(_ context.Context, r *run) []Result {
	const name = "source.binlog_format"
	s := r.source
	if s == nil {
		return nil
	}
	v := s.vars["binlog_format"]
	if !strings.EqualFold(v, "ROW") {
		return []Result{fail(name,
			s.setGlobal("binlog_format", "'ROW'")+"; sessions already connected keep the old format until they reconnect",
			"binlog_format is %s: capture needs ROW, the only format that logs the changed rows themselves", orNone(v))}
	}
	return []Result{pass(name, "binlog_format is ROW")}
}

// checkBinlogRowImage requires full row images.
func checkBinlogRowImage(_ context.Context, r *run) []Result {
	const name = "source.binlog_row_image"
	s := r.source
	if s == nil {
		return nil
	}
	v, ok := s.vars["binlog_row_image"]
	if !ok {
		// MySQL before 5.6 and MariaDB before 10.1 always log full images.
		return []Result{pass(name, "this server always logs full row images")}
	}
	if !strings.EqualFold(v, "FULL") {
		return []Result{fail(name,
			s.setGlobal("binlog_row_image", "'FULL'"),
			"binlog_row_image is %s: capture needs FULL, so that every change carries every column of the row before and after it", v)}
	}
	return []Result{pass(name, "binlog_row_image is FULL")}
}

// checkBinlogRowMetadata requires full row metadata: only FULL puts the
// column names (and on MariaDB the signedness, ENUM and SET labels and the
// primary key) into the binlog, and capture decodes rows with them.
func checkBinlogRowMetadata(_ context.Context, r *run) []Result {
	const name = "source.binlog_row_metadata"
	s := r.source
	if s == nil {
		return nil
	}
	v, ok := s.vars["binlog_row_metadata"]
	if !ok {
		return []Result{fail(name,
			"upgrade the source to MySQL 8.0 or later, or MariaDB 10.5 or later, and set binlog_row_metadata=FULL",
			"%s has no binlog_row_metadata: capture needs the column names in the binlog to decode rows written before a schema change, and this version cannot log them",
			s.describe())}
	}
	if !strings.EqualFold(v, "FULL") {
		return []Result{fail(name,
			s.setGlobal("binlog_row_metadata", "'FULL'"),
			"binlog_row_metadata is %s: capture needs FULL, the only setting that logs column names (and unsigned flags, ENUM and SET labels); without them rows cannot be decoded correctly across schema changes", v)}
	}
	return []Result{pass(name, "binlog_row_metadata is FULL")}
}

// checkBinlogRetention warns when binlogs expire in less than MinRetention.
func checkBinlogRetention(_ context.Context, r *run) []Result {
	const name = "source.binlog_retention"
	s := r.source
	if s == nil {
		return nil
	}
	retention, known := s.binlogRetention()
	if !known {
		return []Result{warn(name, "keep binary logs for at least 3 days (7 recommended)", "cannot read the binlog retention (neither binlog_expire_logs_seconds nor expire_logs_days is readable)")}
	}
	if retention == 0 {
		return []Result{pass(name, "binary logs never expire; purge them yourself once capture has read them")}
	}
	if retention < MinRetention {
		fix := "keep them 7 days: " + s.setGlobal("binlog_expire_logs_seconds", "604800")
		if _, ok := s.vars["binlog_expire_logs_seconds"]; !ok {
			fix = "keep them 7 days: " + s.setGlobal("expire_logs_days", "7")
		}
		return []Result{warn(name, fix,
			"binary logs expire after %s: a capture stopped for longer loses its position and needs a new snapshot; keep them at least 3 days", formatDuration(retention))}
	}
	return []Result{pass(name, "binary logs are kept for %s", formatDuration(retention))}
}

// binlogRetention returns how long binlogs are kept; 0 means forever.
func (s *sourceConn) binlogRetention() (time.Duration, bool) {
	secs, hasSecs := s.vars["binlog_expire_logs_seconds"]
	days, hasDays := s.vars["expire_logs_days"]
	if hasSecs {
		n, err := strconv.ParseInt(secs, 10, 64)
		if err == nil && n > 0 {
			return time.Duration(n) * time.Second, true
		}
		if err == nil && !hasDays {
			return 0, true
		}
	}
	if hasDays {
		d, err := strconv.ParseFloat(days, 64)
		if err == nil {
			return time.Duration(d * float64(24*time.Hour)), true
		}
	}
	return 0, false
}

// formatDuration prints whole days, or hours below a day.
func formatDuration(d time.Duration) string {
	if d >= 24*time.Hour && d%(24*time.Hour) == 0 {
		days := int(d / (24 * time.Hour))
		if days == 1 {
			return "1 day"
		}
		return strconv.Itoa(days) + " days"
	}
	return d.Round(time.Minute).String()
}

// checkGTID reports the GTID mode: MariaDB always logs GTIDs; on MySQL,
// without gtid_mode=ON capture resumes by file and position only.
func checkGTID(_ context.Context, r *run) []Result {
	const name = "source.gtid"
	s := r.source
	if s == nil {
		return nil
	}
	if s.mariaDB() {
		strict := "OFF"
		if v := s.vars["gtid_strict_mode"]; strings.EqualFold(v, "ON") || v == "1" {
			strict = "ON"
		}
		return []Result{pass(name, "MariaDB logs a GTID for every transaction (gtid_strict_mode=%s, gtid_binlog_pos=%s)", strict, orNone(s.vars["gtid_binlog_pos"]))}
	}
	v, ok := s.vars["gtid_mode"]
	if !ok {
		return []Result{warn(name,
			"upgrade to MySQL 5.7 or later and turn gtid_mode on",
			"this server has no GTIDs: capture resumes by binlog file and position, which do not carry over to another server after a failover")}
	}
	if !strings.EqualFold(v, "ON") {
		return []Result{warn(name,
			"SET PERSIST enforce_gtid_consistency = ON, then raise gtid_mode one step at a time: OFF_PERMISSIVE, ON_PERMISSIVE, ON",
			"gtid_mode is %s: capture resumes by binlog file and position, which do not carry over to another server after a failover", v)}
	}
	return []Result{pass(name, "gtid_mode is ON")}
}

// checkServerID makes sure capture's replica server id is not the
// source's own, nor that of another connected replica: the source
// disconnects one of two replicas that share a server id.
func checkServerID(ctx context.Context, r *run) []Result {
	const name = "source.server_id"
	s := r.source
	if s == nil {
		return nil
	}
	id := strconv.FormatUint(uint64(r.cfg.ServerID), 10)
	fix := "choose another --server-id, unique among the source's replicas and captures"
	if s.vars["server_id"] == id {
		return []Result{fail(name, fix, "server id %s is the source's own server_id: the source refuses a replica with its own id", id)}
	}
	stmt := "SHOW SLAVE HOSTS"
	if !s.mariaDB() && s.atLeast(8, 0) {
		// SHOW REPLICAS exists from 8.0.22; SHOW SLAVE HOSTS still works
		// on every 8.0 but is removed in 8.4.
		stmt = "SHOW REPLICAS"
	}
	rows, err := s.query(ctx, stmt)
	if err != nil && stmt == "SHOW REPLICAS" && mysqlErrorCode(err) == mysql.ER_PARSE_ERROR {
		rows, err = s.query(ctx, "SHOW SLAVE HOSTS")
	}
	if err != nil {
		priv := "REPLICATION SLAVE"
		if s.mariaDB() && s.atLeast(10, 5) {
			priv = "REPLICATION MASTER ADMIN"
		}
		why := err.Error()
		if mysqlErrorCode(err) == mysql.ER_SPECIFIC_ACCESS_DENIED_ERROR {
			why = fmt.Sprintf("%s needs %s", stmt, priv)
		}
		return []Result{warn(name,
			fmt.Sprintf("make sure no other replica or capture uses server id %s, or GRANT %s ON *.* TO %s so that precheck can list them", id, priv, s.user),
			"server id %s differs from the source's own (%s), but the replicas connected to the source cannot be listed (%s)", id, s.vars["server_id"], why)}
	}
	for _, row := range rows {
		// Server_id, Host, Port, Master_id on every version.
		if len(row) >= 2 && row[0] == id {
			host := row[1]
			if len(row) >= 3 {
				host += ":" + row[2]
			}
			return []Result{fail(name, fix, "server id %s is already used by a replica connected to the source (%s)", id, orNone(host))}
		}
	}
	return []Result{pass(name, "server id %s is free (source server_id %s, %d other replicas connected)", id, s.vars["server_id"], len(rows))}
}

// orNone prints an empty value as "(none)".
func orNone(v string) string {
	if v == "" {
		return "(none)"
	}
	return v
}
