package servers

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// clickhouseStopTimeout bounds a clean ClickHouse shutdown before SIGKILL.
const clickhouseStopTimeout = 20 * time.Second

// ClickHouseServer is a running private clickhouse-server. The user "default" has
// an empty password on 127.0.0.1, the server time zone is UTC, and the
// default profile allows LowCardinality types (needed on 18.16).
// LaunchClickHouse and LaunchClickHouseInTemp return one.
type ClickHouseServer struct {
	// Host is the address the server listens on, always "127.0.0.1".
	Host string
	// Port is the native protocol TCP port.
	Port int
	// HTTPPort is the HTTP interface port.
	HTTPPort int
	// User is "default", with an empty password.
	User string
	// Dir holds the config files, the logs and the data (Dir/data).
	Dir string

	proc *process
}

// LaunchClickHouseInTemp launches clickhouse-server in a new temporary
// directory (see TempDir) and returns a function that stops it and removes
// the directory.
func LaunchClickHouseInTemp(ctx context.Context) (*ClickHouseServer, func() error, error) {
	return launchInTemp("clickhouse", func(dir string) (*ClickHouseServer, error) { return LaunchClickHouse(ctx, dir) })
}

// LaunchClickHouse writes a config under dir (created if missing), starts
// clickhouse-server with its data in dir/data on free 127.0.0.1 ports, and
// waits until it answers on the native protocol. The caller owns dir: Close
// stops the server but leaves the files. A missing binary is reported with
// the Debian package to install (clickhouse-server).
func LaunchClickHouse(ctx context.Context, dir string) (*ClickHouseServer, error) {
	bin, err := findBinary("clickhouse-server", []string{"clickhouse-server", "clickhouse"}, "/usr/sbin", "/usr/bin", "/usr/local/bin")
	if err != nil {
		return nil, err
	}
	dir, err = filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	for _, sub := range []string{"data", "tmp", "user_files", "format_schemas"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			return nil, fmt.Errorf("clickhouse dir: %w", err)
		}
	}
	ch := &ClickHouseServer{Host: localhost, User: "default", Dir: dir}
	usersFile := filepath.Join(dir, "users.xml")
	if err := os.WriteFile(usersFile, []byte(clickhouseUsers), 0o644); err != nil {
		return nil, fmt.Errorf("clickhouse users file: %w", err)
	}
	configFile := filepath.Join(dir, "config.xml")
	var args []string
	if filepath.Base(bin) == "clickhouse" {
		args = append(args, "server")
	}
	args = append(args, "--config-file="+configFile)
	logFile := filepath.Join(dir, "clickhouse-server.log")
	errLogFile := filepath.Join(dir, "clickhouse-server.err.log")
	outFile := filepath.Join(dir, "clickhouse-server.out")
	ch.proc = &process{
		name:        "clickhouse-server",
		path:        bin,
		args:        args,
		outPath:     outFile,
		logPaths:    []string{errLogFile, outFile},
		stopSignal:  syscall.SIGTERM,
		stopTimeout: clickhouseStopTimeout,
	}
	for attempt := 0; ; attempt++ {
		if ch.Port, err = freePort(); err != nil {
			return nil, err
		}
		if ch.HTTPPort, err = freePort(); err != nil {
			return nil, err
		}
		if err := os.WriteFile(configFile, []byte(ch.config(usersFile, logFile, errLogFile)), 0o644); err != nil {
			return nil, fmt.Errorf("clickhouse config: %w", err)
		}
		err = ch.proc.startAndWait(ctx, ch.probe)
		if err == nil {
			return ch, nil
		}
		if attempt > 0 || !isPortClash(err.Error()) {
			return nil, err
		}
	}
}

// clickhouseUsers is the users file: "default" without a password, reachable
// from the loopback addresses only.
const clickhouseUsers = `<?xml version="1.0"?>
<yandex>
  <profiles>
    <default>
      <allow_experimental_low_cardinality_type>1</allow_experimental_low_cardinality_type>
    </default>
  </profiles>
  <users>
    <default>
      <password></password>
      <networks>
        <ip>127.0.0.1</ip>
        <ip>::1</ip>
      </networks>
      <profile>default</profile>
      <quota>default</quota>
    </default>
  </users>
  <quotas>
    <default></default>
  </quotas>
</yandex>
`

// config renders the server config for the current ports. The root element
// <yandex> is what 18.16 requires; newer servers still accept it.
func (ch *ClickHouseServer) config(usersFile, logFile, errLogFile string) string {
	slash := func(p string) string { return xmlEscape(p + string(filepath.Separator)) }
	return `<?xml version="1.0"?>
<yandex>
  <logger>
    <level>warning</level>
    <log>` + xmlEscape(logFile) + `</log>
    <errorlog>` + xmlEscape(errLogFile) + `</errorlog>
    <console>0</console>
  </logger>
  <listen_host>` + localhost + `</listen_host>
  <tcp_port>` + strconv.Itoa(ch.Port) + `</tcp_port>
  <http_port>` + strconv.Itoa(ch.HTTPPort) + `</http_port>
  <path>` + slash(filepath.Join(ch.Dir, "data")) + `</path>
  <tmp_path>` + slash(filepath.Join(ch.Dir, "tmp")) + `</tmp_path>
  <user_files_path>` + slash(filepath.Join(ch.Dir, "user_files")) + `</user_files_path>
  <format_schema_path>` + slash(filepath.Join(ch.Dir, "format_schemas")) + `</format_schema_path>
  <users_config>` + xmlEscape(usersFile) + `</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <mark_cache_size>268435456</mark_cache_size>
  <max_concurrent_queries>100</max_concurrent_queries>
</yandex>
`
}

// xmlEscape escapes s for use as XML text.
func xmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// probe succeeds once the server answers a ping on the native protocol.
func (ch *ClickHouseServer) probe(ctx context.Context) error {
	conn, err := ch.Open("default")
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Ping(ctx)
}

// Open returns a native-protocol connection pool on db.
func (ch *ClickHouseServer) Open(db string) (driver.Conn, error) {
	return clickhouse.Open(&clickhouse.Options{
		Addr:        []string{ch.Addr()},
		Auth:        clickhouse.Auth{Database: db, Username: ch.User},
		DialTimeout: 2 * time.Second,
	})
}

// Addr returns "127.0.0.1:port" of the native protocol.
func (ch *ClickHouseServer) Addr() string { return net.JoinHostPort(ch.Host, strconv.Itoa(ch.Port)) }

// URL returns clickhouse://default@127.0.0.1:port/db (native protocol port);
// an empty db means "default".
func (ch *ClickHouseServer) URL(db string) string {
	if db == "" {
		db = "default"
	}
	u := url.URL{Scheme: "clickhouse", User: url.User(ch.User), Host: ch.Addr(), Path: "/" + db}
	return u.String()
}

// ExecRoot runs one statement as "default" on a short-lived connection. It
// gives up after a minute.
func (ch *ClickHouseServer) ExecRoot(ctx context.Context, query string) error {
	conn, err := ch.Open("default")
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	return conn.Exec(ctx, query)
}

// Stop shuts the server down (SIGTERM, then SIGKILL after 20 s). The data
// and ports are kept, so Start brings the same server back. Stopping a
// stopped server does nothing.
func (ch *ClickHouseServer) Stop() error { return ch.proc.stop() }

// Start starts a stopped server again with the same config and data and
// waits until it answers on the native protocol.
func (ch *ClickHouseServer) Start() error {
	return ch.proc.startAndWait(context.Background(), ch.probe)
}

// Close stops the server; the files in Dir are left for the caller.
func (ch *ClickHouseServer) Close() error { return ch.Stop() }
