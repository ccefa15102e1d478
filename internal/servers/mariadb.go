package servers

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/go-mysql-org/go-mysql/client"
	// The "mysql" database/sql driver, for MySQL.ExecRoot and the DSN users.
	_ "github.com/go-mysql-org/go-mysql/driver"
)

const (
	// mariadbStopTimeout bounds a clean MariaDB shutdown before SIGKILL.
	mariadbStopTimeout = 30 * time.Second
	// mariadbSocketMax is the longest unix socket path we hand to mariadbd.
	mariadbSocketMax = 100
)

// MariaDBOptions configures a MariaDB server started by LaunchMariaDB or
// LaunchMariaDBInTemp. The zero value is a correctly configured CDC source: row
// binlog with full row images and full row metadata, GTID strict mode,
// server_id 1. Set fields to create misconfigured sources for prechecks.
type MariaDBOptions struct {
	// BinlogFormat is binlog_format: "" means ROW; "STATEMENT" and "MIXED"
	// are the misconfigurations a precheck must catch.
	BinlogFormat string
	// RowImage is binlog_row_image: "" means FULL; "MINIMAL" or "NOBLOB"
	// are misconfigurations.
	RowImage string
	// RowMetadata is binlog_row_metadata: "" means FULL; "MINIMAL" or
	// "NO_LOG" (MariaDB's own default) are misconfigurations.
	RowMetadata string
	// NoBinlog turns the binary log off; the binlog settings above are then
	// not written. Default false.
	NoBinlog bool
	// ServerID is server_id; 0 means 1.
	ServerID uint32
	// ExtraConfig holds raw "key=value" (or bare "key") lines appended to
	// the [mariadbd] section after every other setting, so they override
	// the defaults. Default none.
	ExtraConfig []string
}

// validate rejects options that would corrupt the generated config file.
func (o MariaDBOptions) validate() error {
	for _, v := range []string{o.BinlogFormat, o.RowImage, o.RowMetadata} {
		if strings.ContainsAny(v, "\r\n") {
			return fmt.Errorf("mariadb option %q contains a line break", v)
		}
	}
	for _, line := range o.ExtraConfig {
		if strings.ContainsAny(line, "\r\n") {
			return fmt.Errorf("mariadb ExtraConfig line %q contains a line break", line)
		}
	}
	return nil
}

// MySQL is a running MariaDB server reachable over TCP as root with a
// password. LaunchMariaDB and LaunchMariaDBInTemp return one.
type MySQL struct {
	// Host is the address the server listens on, always "127.0.0.1".
	Host string
	// Port is the server's TCP port.
	Port int
	// User is the administrative user, "root".
	User string
	// Password is User's password, generated at start.
	Password string
	// DataDir is the server's data directory (binlogs live there too).
	DataDir string
	// Dir holds the config file, the error log and DataDir.
	Dir string

	proc *process

	mu    sync.Mutex
	admin *sql.DB // pool of ExecRoot, opened on first use
}

// LaunchMariaDBInTemp launches MariaDB in a new temporary directory (see
// TempDir) and returns a function that stops it and removes the directory.
func LaunchMariaDBInTemp(ctx context.Context, name string, opts MariaDBOptions) (*MySQL, func() error, error) {
	return launchInTemp(name, func(dir string) (*MySQL, error) { return LaunchMariaDB(ctx, dir, opts) })
}

// LaunchMariaDB creates a MariaDB data directory in dir/data (dir is created
// if missing; a data directory left there by an earlier LaunchMariaDB is
// reused with a new root password), starts mariadbd on a free 127.0.0.1 port
// and waits until root can log in over TCP. The caller owns dir: Close stops
// the server but leaves the files. A missing binary is reported with the
// Debian package to install (mariadb-server).
func LaunchMariaDB(ctx context.Context, dir string, opts MariaDBOptions) (*MySQL, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	mariadbd, err := findBinary("mariadb-server", []string{"mariadbd", "mysqld"}, "/usr/sbin", "/usr/local/sbin", "/usr/libexec")
	if err != nil {
		return nil, err
	}
	installDB, err := findBinary("mariadb-server", []string{"mariadb-install-db", "mysql_install_db"}, "/usr/bin", "/usr/local/bin", "/usr/scripts")
	if err != nil {
		return nil, err
	}
	dir, password, err := prepareDir("mariadb", dir)
	if err != nil {
		return nil, err
	}
	s := &MySQL{
		Host:     localhost,
		User:     "root",
		Password: password,
		DataDir:  filepath.Join(dir, "data"),
		Dir:      dir,
	}

	// Each instance needs its own tmpdir: a starting mariadbd deletes the
	// #sql* temporary files it finds there, including those of every other
	// server sharing the directory (concurrent mariadb-install-db runs in /tmp
	// fail with "Can't find file: '/tmp/#sql-temptable-...MAI'").
	if err := os.MkdirAll(s.tmpDir(), 0o755); err != nil {
		return nil, fmt.Errorf("mariadb tmpdir: %w", err)
	}
	// A data directory left by an earlier LaunchMariaDB in dir is reused:
	// the init file below gives root the new password.
	if _, err := os.Stat(filepath.Join(s.DataDir, "mysql")); err == nil {
		return s.launch(ctx, mariadbd, opts)
	}
	installArgs := []string{
		"--no-defaults",
		"--datadir=" + s.DataDir,
		"--tmpdir=" + s.tmpDir(),
		"--auth-root-authentication-method=normal",
		"--skip-test-db",
	}
	if runningAsRoot() {
		installArgs = append(installArgs, "--user=root")
	}
	install := exec.CommandContext(ctx, installDB, installArgs...)
	install.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if out, err := install.CombinedOutput(); err != nil {
		// The cause comes first; the script ends with boilerplate advice.
		return nil, fmt.Errorf("%s: %w\n%s", filepath.Base(installDB), err, headString(string(out)))
	}
	return s.launch(ctx, mariadbd, opts)
}

// launch starts mariadbd on an installed data directory, setting the root
// password on the way, and waits until root can log in.
func (s *MySQL) launch(ctx context.Context, mariadbd string, opts MariaDBOptions) (*MySQL, error) {
	dir, password := s.Dir, s.Password
	// The init file sets the root password on this start only; Start reuses
	// the password stored in the data directory.
	initFile := filepath.Join(dir, "init.sql")
	quoted := strings.ReplaceAll(password, "'", "''")
	var initSQL strings.Builder
	for _, host := range []string{"localhost", "127.0.0.1", "::1"} {
		fmt.Fprintf(&initSQL, "ALTER USER IF EXISTS 'root'@'%s' IDENTIFIED BY '%s';\n", host, quoted)
	}
	if err := os.WriteFile(initFile, []byte(initSQL.String()), 0o600); err != nil {
		return nil, fmt.Errorf("mariadb init file: %w", err)
	}
	defer os.Remove(initFile)

	configFile := filepath.Join(dir, "my.cnf")
	errorLog := filepath.Join(dir, "error.log")
	s.proc = &process{
		name:        "mariadbd",
		path:        mariadbd,
		args:        []string{"--defaults-file=" + configFile},
		outPath:     filepath.Join(dir, "mariadbd.out"),
		logPaths:    []string{errorLog, filepath.Join(dir, "mariadbd.out")},
		stopSignal:  syscall.SIGTERM,
		stopTimeout: mariadbStopTimeout,
	}
	for attempt := 0; ; attempt++ {
		var err error
		if s.Port, err = freePort(); err != nil {
			return nil, err
		}
		if err := os.WriteFile(configFile, []byte(s.config(opts, errorLog)), 0o644); err != nil {
			return nil, fmt.Errorf("mariadb config: %w", err)
		}
		err = s.proc.startAndWait(ctx, s.probe, "--init-file="+initFile)
		if err == nil {
			return s, nil
		}
		if attempt > 0 || !isPortClash(err.Error()) {
			return nil, err
		}
	}
}

// config renders the [mariadbd] section for the current port.
func (s *MySQL) config(opts MariaDBOptions, errorLog string) string {
	socket := filepath.Join(s.Dir, "mariadbd.sock")
	if len(socket) > mariadbSocketMax {
		socket = filepath.Join(os.TempDir(), "syncline-testenv-mariadbd-"+strconv.Itoa(s.Port)+".sock")
	}
	serverID := opts.ServerID
	if serverID == 0 {
		serverID = 1
	}
	lines := []string{
		"[mariadbd]",
		"datadir=" + s.DataDir,
		"socket=" + socket,
		"pid_file=" + filepath.Join(s.Dir, "mariadbd.pid"),
		"tmpdir=" + s.tmpDir(),
		"log_error=" + errorLog,
		"port=" + strconv.Itoa(s.Port),
		"bind_address=" + localhost,
		"skip_name_resolve",
		"server_id=" + strconv.FormatUint(uint64(serverID), 10),
		"character_set_server=utf8mb4",
		"default_time_zone=+00:00",
		"max_allowed_packet=64M",
		"innodb_buffer_pool_size=128M",
		"innodb_flush_log_at_trx_commit=2",
		"sync_binlog=0",
	}
	if runningAsRoot() {
		lines = append(lines, "user=root")
	}
	if !opts.NoBinlog {
		lines = append(lines,
			"log_bin="+filepath.Join(s.DataDir, "binlog"),
			"binlog_format="+orDefault(opts.BinlogFormat, "ROW"),
			"binlog_row_image="+orDefault(opts.RowImage, "FULL"),
			"binlog_row_metadata="+orDefault(opts.RowMetadata, "FULL"),
			"gtid_strict_mode=1",
			"expire_logs_days=7",
		)
	}
	lines = append(lines, opts.ExtraConfig...)
	return strings.Join(lines, "\n") + "\n"
}

// tmpDir is the server's private temporary directory.
func (s *MySQL) tmpDir() string { return filepath.Join(s.Dir, "tmp") }

// probe succeeds once root can log in over TCP with the password.
func (s *MySQL) probe(ctx context.Context) error {
	conn, err := client.ConnectWithContext(ctx, s.Addr(), s.User, s.Password, "", 2*time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Ping()
}

// Addr returns "127.0.0.1:port".
func (s *MySQL) Addr() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) }

// URL returns mysql://root:password@127.0.0.1:port/db; db may be empty.
func (s *MySQL) URL(db string) string {
	u := url.URL{Scheme: "mysql", User: url.UserPassword(s.User, s.Password), Host: s.Addr(), Path: "/" + db}
	return u.String()
}

// DSN returns the data source name of the "mysql" database/sql driver of
// github.com/go-mysql-org/go-mysql/driver: root:password@127.0.0.1:port/db.
// With an empty db, the connection has no default database.
func (s *MySQL) DSN(db string) string {
	return s.User + ":" + s.Password + "@" + s.Addr() + "/" + db
}

// ExecRoot runs query as root, without a default database (qualify table
// names), on a pool opened on first use and closed by Stop. It gives up
// after a minute.
func (s *MySQL) ExecRoot(ctx context.Context, query string, args ...any) error {
	s.mu.Lock()
	if s.admin == nil {
		pool, err := sql.Open("mysql", s.DSN(""))
		if err != nil {
			s.mu.Unlock()
			return err
		}
		pool.SetMaxIdleConns(2)
		s.admin = pool
	}
	pool := s.admin
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	_, err := pool.ExecContext(ctx, query, args...)
	return err
}

// Stop shuts the server down (SIGTERM, then SIGKILL after 30 s). The data
// directory and port are kept, so Start brings the same server back.
// Stopping a stopped server does nothing.
func (s *MySQL) Stop() error {
	s.mu.Lock()
	if s.admin != nil {
		_ = s.admin.Close()
		s.admin = nil
	}
	s.mu.Unlock()
	return s.proc.stop()
}

// Start starts a stopped server again on the same port and data directory
// and waits until it accepts connections.
func (s *MySQL) Start() error {
	return s.proc.startAndWait(context.Background(), s.probe)
}

// Close stops the server; the files in Dir are left for the caller.
func (s *MySQL) Close() error { return s.Stop() }

// orDefault returns v, or def when v is empty.
func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// headString returns the first 30 lines of s.
func headString(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > 30 {
		lines = lines[:30]
	}
	return strings.Join(lines, "\n")
}

// tailString returns the last 30 lines of s.
func tailString(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > 30 {
		lines = lines[len(lines)-30:]
	}
	return strings.Join(lines, "\n")
}
