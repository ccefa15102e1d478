package servers

import (
	"context"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// postgresStopTimeout bounds a fast PostgreSQL shutdown before SIGKILL.
const postgresStopTimeout = 20 * time.Second

// PostgresServer is a running private PostgreSQL cluster reachable over TCP as the
// superuser "postgres" with a password. LaunchPostgres and
// LaunchPostgresInTemp return one.
type PostgresServer struct {
	// Host is the address the server listens on, always "127.0.0.1".
	Host string
	// Port is the server's TCP port.
	Port int
	// User is the superuser, "postgres".
	User string
	// Password is User's password, generated at start.
	Password string
	// DataDir is the cluster's data directory.
	DataDir string
	// Dir holds DataDir, the server log and the unix socket.
	Dir string

	proc *process
}

// LaunchPostgresInTemp launches PostgreSQL in a new temporary directory
// (see TempDir) and returns a function that stops it and removes the
// directory.
func LaunchPostgresInTemp(ctx context.Context) (*PostgresServer, func() error, error) {
	return launchInTemp("postgres", func(dir string) (*PostgresServer, error) { return LaunchPostgres(ctx, dir) })
}

// LaunchPostgres runs initdb in dir/data (dir is created if missing; dir/data
// must not exist yet), starts
// postgres on a free 127.0.0.1 port with fsync off, and waits until the
// superuser can log in over TCP. The caller owns dir: Close stops the server
// but leaves the files.
//
// PostgreSQL refuses to run as root. When this process is root, initdb and
// postgres run as the system user "postgres" (or "nobody" if there is none)
// and dir is given to that user; every parent of dir must then be searchable
// by it (the system temporary directory is).
//
// postgres is started directly rather than through pg_ctl, which would
// detach it: as a direct child it dies with this process. A missing binary is
// reported with the Debian package to install (postgresql).
func LaunchPostgres(ctx context.Context, dir string) (*PostgresServer, error) {
	initdb, err := findBinary("postgresql", []string{"initdb"}, globDirs("/usr/lib/postgresql/*/bin")...)
	if err != nil {
		return nil, err
	}
	binDir := filepath.Dir(initdb)
	if resolved, err := filepath.EvalSymlinks(initdb); err == nil {
		binDir = filepath.Dir(resolved)
	}
	postgres := filepath.Join(binDir, "postgres")
	if _, err := os.Stat(postgres); err != nil {
		return nil, fmt.Errorf("postgres not found next to %s: install the Debian package postgresql (apt-get install postgresql)", initdb)
	}
	dir, password, err := prepareDir("postgres", dir)
	if err != nil {
		return nil, err
	}
	pg := &PostgresServer{
		Host:     localhost,
		User:     "postgres",
		Password: password,
		DataDir:  filepath.Join(dir, "data"),
		Dir:      dir,
	}

	if _, err := os.Stat(pg.DataDir); err == nil {
		return nil, fmt.Errorf("postgres data directory %s already exists: launch in an empty directory", pg.DataDir)
	}
	pwFile := filepath.Join(dir, "pwfile")
	if err := os.WriteFile(pwFile, []byte(password+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("postgres password file: %w", err)
	}
	defer os.Remove(pwFile)
	var cred *syscall.Credential
	if runningAsRoot() {
		if cred, err = unprivilegedUser(); err != nil {
			return nil, err
		}
		if err := chownTree(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return nil, fmt.Errorf("give %s to the postgres user: %w", dir, err)
		}
	}

	initCmd := exec.CommandContext(ctx, initdb,
		"--pgdata="+pg.DataDir,
		"--username="+pg.User,
		"--pwfile="+pwFile,
		"--auth-local=trust",
		"--auth-host=scram-sha-256",
		"--encoding=UTF8",
		"--no-locale",
		"--no-sync",
	)
	initCmd.Dir = dir
	initCmd.Env = append(os.Environ(), "LC_ALL=C")
	initCmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: cred}
	if out, err := initCmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %w\n%s", err, tailString(string(out)))
	}

	logFile := filepath.Join(dir, "postgres.log")
	for attempt := 0; ; attempt++ {
		if pg.Port, err = freePort(); err != nil {
			return nil, err
		}
		pg.proc = &process{
			name: "postgres",
			path: postgres,
			args: []string{
				"-D", pg.DataDir,
				"-c", "port=" + strconv.Itoa(pg.Port),
				"-c", "listen_addresses=" + localhost,
				"-c", "unix_socket_directories=" + dir,
				"-c", "fsync=off",
				"-c", "synchronous_commit=off",
				"-c", "full_page_writes=off",
				"-c", "shared_buffers=64MB",
				"-c", "max_connections=200",
				"-c", "TimeZone=UTC",
				"-c", "logging_collector=off",
			},
			cred:     cred,
			outPath:  logFile,
			logPaths: []string{logFile},
			// SIGINT is PostgreSQL's fast shutdown: it ends open sessions.
			// SIGTERM (smart shutdown) would wait for every client pool.
			stopSignal:  syscall.SIGINT,
			stopTimeout: postgresStopTimeout,
		}
		err = pg.proc.startAndWait(ctx, pg.probe)
		if err == nil {
			return pg, nil
		}
		if attempt > 0 || !isPortClash(err.Error()) {
			return nil, err
		}
	}
}

// unprivilegedUser returns the credentials postgres runs under when this
// process is root.
func unprivilegedUser() (*syscall.Credential, error) {
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err1 != nil || err2 != nil {
			continue
		}
		return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}, nil
	}
	return nil, fmt.Errorf("running as root and neither a postgres nor a nobody user exists to run PostgreSQL as (install the Debian package postgresql, which creates the postgres user)")
}

// chownTree gives dir and everything in it to uid:gid.
func chownTree(dir string, uid, gid int) error {
	return filepath.WalkDir(dir, func(path string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, uid, gid)
	})
}

// probe succeeds once the superuser can log in over TCP.
func (pg *PostgresServer) probe(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, pg.URL("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	return conn.Ping(ctx)
}

// Addr returns "127.0.0.1:port".
func (pg *PostgresServer) Addr() string { return net.JoinHostPort(pg.Host, strconv.Itoa(pg.Port)) }

// URL returns postgres://postgres:password@127.0.0.1:port/db?sslmode=disable;
// an empty db means the "postgres" database.
func (pg *PostgresServer) URL(db string) string {
	if db == "" {
		db = "postgres"
	}
	u := url.URL{
		Scheme:   "postgres",
		User:     url.UserPassword(pg.User, pg.Password),
		Host:     pg.Addr(),
		Path:     "/" + db,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// Connect opens a pgx connection to db (empty for "postgres").
func (pg *PostgresServer) Connect(ctx context.Context, db string) (*pgx.Conn, error) {
	conn, err := pgx.Connect(ctx, pg.URL(db))
	if err != nil {
		return nil, fmt.Errorf("connect to postgres %s/%s: %w", pg.Addr(), db, err)
	}
	return conn, nil
}

// ExecRoot runs one statement as the superuser in the "postgres" database,
// on a connection of its own. It gives up after a minute.
func (pg *PostgresServer) ExecRoot(ctx context.Context, query string) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, pg.URL("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, query)
	return err
}

// Stop shuts the server down (fast shutdown, then SIGKILL after 20 s). The
// data directory and port are kept, so Start brings the same server back.
// Stopping a stopped server does nothing.
func (pg *PostgresServer) Stop() error { return pg.proc.stop() }

// Start starts a stopped server again on the same port and data directory
// and waits until it accepts connections.
func (pg *PostgresServer) Start() error {
	return pg.proc.startAndWait(context.Background(), pg.probe)
}

// Close stops the server; the files in Dir are left for the caller.
func (pg *PostgresServer) Close() error { return pg.Stop() }
