package endpoint_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/syncline/syncline/endpoint"
	"github.com/syncline/syncline/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.Run(m)) }

const secret = "s3cr3t-Pa55"

func TestParse(t *testing.T) {
	tests := []struct {
		raw  string
		want endpoint.Endpoint
	}{
		{"mysql://capture:" + secret + "@db.example:3307/shop?tls=true", endpoint.Endpoint{
			Kind: endpoint.MySQL, Host: "db.example", Port: 3307, User: "capture", Password: secret, Database: "shop"}},
		{"mariadb://db.example", endpoint.Endpoint{Kind: endpoint.MySQL, Host: "db.example", Port: 3306, User: "root"}},
		{"postgresql://u@[::1]/app?sslmode=disable", endpoint.Endpoint{Kind: endpoint.Postgres, Host: "::1", Port: 5432, User: "u", Database: "app"}},
		{"clickhouse://ch:9440/analytics", endpoint.Endpoint{Kind: endpoint.ClickHouse, Host: "ch", Port: 9440, User: "default", Database: "analytics"}},
		{"mysql://u:p%40ss@h/", endpoint.Endpoint{Kind: endpoint.MySQL, Host: "h", Port: 3306, User: "u", Password: "p@ss"}},
	}
	for _, tt := range tests {
		got, err := endpoint.Parse(tt.raw)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.raw, err)
			continue
		}
		if got.Kind != tt.want.Kind || got.Host != tt.want.Host || got.Port != tt.want.Port ||
			got.User != tt.want.User || got.Password != tt.want.Password || got.Database != tt.want.Database {
			t.Errorf("Parse(%q) = %#v, want %#v", tt.raw, got, tt.want)
		}
	}
	e, err := endpoint.Parse("mysql://capture:" + secret + "@db.example:3307/shop?tls=true")
	if err != nil {
		t.Fatal(err)
	}
	if got := e.Params.Get("tls"); got != "true" {
		t.Errorf("Params tls = %q, want true", got)
	}
	if got, want := e.Addr(), "db.example:3307"; got != want {
		t.Errorf("Addr() = %q, want %q", got, want)
	}
	if got := e.URL(); !strings.Contains(got, secret) {
		t.Errorf("URL() = %q lacks the password", got)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ raw, want string }{
		{"db.example:3306", "has no scheme"},
		{"oracle://u:" + secret + "@h/", `unknown scheme "oracle"`},
		{"mysql://u:" + secret + "@/db", "names no host"},
		{"mysql://u:" + secret + "@h:99999/", "not a number from 1 to 65535"},
		{"mysql://u:" + secret + "@h/a/b", "single database name"},
		{"mysql://u:" + secret + "@h:port/", "not a valid URL"},
		{"mysql://u:" + secret + "%zz@h/", "not a valid URL"},
	}
	for _, tt := range tests {
		_, err := endpoint.Parse(tt.raw)
		if err == nil {
			t.Errorf("Parse(%q) succeeded, want an error containing %q", tt.raw, tt.want)
			continue
		}
		if !errors.Is(err, endpoint.ErrBadURL) {
			t.Errorf("Parse(%q) error %v does not wrap ErrBadURL", tt.raw, err)
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Parse(%q) error %q does not contain %q", tt.raw, err, tt.want)
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("Parse(%q) error %q contains the password", tt.raw, err)
		}
	}
}

func TestRedaction(t *testing.T) {
	e, err := endpoint.Parse("postgres://app:" + secret + "@h:5433/db?sslmode=require")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := e.Redacted(), "postgres://app:xxxxx@h:5433/db?sslmode=require"; got != want {
		t.Errorf("Redacted() = %q, want %q", got, want)
	}
	var log strings.Builder
	slog.New(slog.NewTextHandler(&log, nil)).Info("x", "endpoint", e, "password", e.Password)
	for _, s := range []string{
		e.String(),
		fmt.Sprint(e), fmt.Sprintf("%v %+v %#v %s", e, e, e, e),
		fmt.Sprint(e.Password), fmt.Sprintf("%#v", e.Password),
		log.String(),
	} {
		if strings.Contains(s, secret) {
			t.Errorf("printed endpoint %q contains the password", s)
		}
	}
	noPass, _ := endpoint.Parse("clickhouse://h/db")
	if got, want := noPass.Redacted(), "clickhouse://default@h:9000/db"; got != want {
		t.Errorf("Redacted() = %q, want %q", got, want)
	}
}

func TestWithPasswordFrom(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "pw")
	if err := os.WriteFile(file, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	bare, _ := endpoint.Parse("mysql://capture@h/")

	e, err := bare.WithPasswordFrom(file, "")
	if err != nil || e.Password.Reveal() != secret {
		t.Errorf("from file: password %q, err %v; want %q", e.Password.Reveal(), err, secret)
	}
	t.Setenv("TEST_SYNCLINE_PW", secret)
	e, err = bare.WithPasswordFrom("", "TEST_SYNCLINE_PW")
	if err != nil || e.Password.Reveal() != secret {
		t.Errorf("from env: password %q, err %v; want %q", e.Password.Reveal(), err, secret)
	}
	e, err = bare.WithPasswordFrom("", "")
	if err != nil || e.Password != "" {
		t.Errorf("from nothing: password %q, err %v; want none", e.Password.Reveal(), err)
	}
	if _, err := bare.WithPasswordFrom(filepath.Join(dir, "missing"), ""); err == nil {
		t.Error("missing file: no error")
	}
	if _, err := bare.WithPasswordFrom("", "TEST_SYNCLINE_UNSET_VARIABLE"); err == nil {
		t.Error("unset variable: no error")
	}
	withPass, _ := endpoint.Parse("mysql://capture:" + secret + "@h/")
	_, err = withPass.WithPasswordFrom(file, "")
	if !errors.Is(err, endpoint.ErrBadURL) || strings.Contains(err.Error(), secret) {
		t.Errorf("password twice: err %v, want ErrBadURL without the password", err)
	}
}

func mustParse(t *testing.T, raw string) endpoint.Endpoint {
	t.Helper()
	e, err := endpoint.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// dialAll connects to e with the helper of its kind.
func dialAll(ctx context.Context, e endpoint.Endpoint, timeout time.Duration) error {
	switch e.Kind {
	case endpoint.MySQL:
		c, err := endpoint.DialMySQL(ctx, e, timeout)
		if err == nil {
			_ = c.Close()
		}
		return err
	case endpoint.Postgres:
		c, err := endpoint.ConnectPostgres(ctx, e, timeout)
		if err == nil {
			_ = c.Close(ctx)
		}
		return err
	default:
		c, err := endpoint.OpenClickHouse(ctx, e, timeout)
		if err == nil {
			_ = c.Close()
		}
		return err
	}
}

func TestDialUnreachable(t *testing.T) {
	ctx := context.Background()
	for _, scheme := range []string{"mysql", "postgres", "clickhouse"} {
		port := testenv.ClosedPort(t)
		e := mustParse(t, fmt.Sprintf("%s://u:%s@127.0.0.1:%d/db", scheme, secret, port))
		err := dialAll(ctx, e, 2*time.Second)
		if !errors.Is(err, endpoint.ErrUnreachable) {
			t.Errorf("%s closed port: err %v, want ErrUnreachable", scheme, err)
			continue
		}
		want := fmt.Sprintf("cannot reach %s at 127.0.0.1:%d: connection refused; check host, port and firewall", scheme, port)
		if err.Error() != want {
			t.Errorf("%s closed port: err %q, want %q", scheme, err, want)
		}
	}
}

func TestDialTimeout(t *testing.T) {
	ctx := context.Background()
	const timeout = 300 * time.Millisecond
	for _, scheme := range []string{"mysql", "postgres", "clickhouse"} {
		port := testenv.SilentServer(t)
		e := mustParse(t, fmt.Sprintf("%s://u:%s@127.0.0.1:%d/db", scheme, secret, port))
		began := time.Now()
		err := dialAll(ctx, e, timeout)
		took := time.Since(began)
		if !errors.Is(err, endpoint.ErrTimeout) || !errors.Is(err, endpoint.ErrUnreachable) {
			t.Errorf("%s silent server: err %v, want ErrTimeout and ErrUnreachable", scheme, err)
		}
		if took > timeout+2*time.Second {
			t.Errorf("%s silent server: gave up after %s, timeout %s", scheme, took, timeout)
		}
		if err != nil && !strings.Contains(err.Error(), "no answer within 300ms") {
			t.Errorf("%s silent server: err %q does not say it timed out", scheme, err)
		}
	}
}

func TestDialCanceled(t *testing.T) {
	port := testenv.SilentServer(t)
	e := mustParse(t, fmt.Sprintf("mysql://u@127.0.0.1:%d/", port))
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	began := time.Now()
	_, err := endpoint.DialMySQL(ctx, e, time.Minute)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err %v, want context.Canceled", err)
	}
	if took := time.Since(began); took > 5*time.Second {
		t.Errorf("DialMySQL returned %s after the context ended", took)
	}
}

func TestDialMySQL(t *testing.T) {
	src := testenv.Source(t)
	db := src.NewDatabase(t)
	ctx := context.Background()

	conn, err := endpoint.DialMySQL(ctx, mustParse(t, src.URL(db)), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	res, err := conn.Execute("SELECT @@character_set_client, DATABASE()")
	if err != nil {
		t.Fatal(err)
	}
	if cs, _ := res.GetString(0, 0); cs != "utf8mb4" {
		t.Errorf("character_set_client = %q, want utf8mb4", cs)
	}
	if got, _ := res.GetString(0, 1); got != db {
		t.Errorf("DATABASE() = %q, want %q", got, db)
	}

	pool := endpoint.OpenMySQL(mustParse(t, src.URL(db)))
	defer pool.Close()
	var cs string
	if err := pool.QueryRowContext(ctx, "SELECT @@character_set_connection").Scan(&cs); err != nil || cs != "utf8mb4" {
		t.Errorf("OpenMySQL: charset %q, err %v", cs, err)
	}
}

func TestDialWrongPassword(t *testing.T) {
	src := testenv.Source(t)
	pg := testenv.Postgres(t)
	ctx := context.Background()
	const wrong = "Wr0ng-Pa55w0rd"
	for _, raw := range []string{
		fmt.Sprintf("mysql://%s:%s@%s/", src.User, wrong, src.Addr()),
		fmt.Sprintf("postgres://%s:%s@%s/postgres?sslmode=disable", pg.User, wrong, pg.Addr()),
	} {
		e := mustParse(t, raw)
		err := dialAll(ctx, e, 5*time.Second)
		if !errors.Is(err, endpoint.ErrAuth) {
			t.Errorf("%s: err %v, want ErrAuth", e.Redacted(), err)
			continue
		}
		if strings.Contains(err.Error(), wrong) {
			t.Errorf("%s: error %q contains the password", e.Redacted(), err)
		}
		want := fmt.Sprintf("%s at %s: user %q was refused; check the password", e.Kind, e.Addr(), e.User)
		if err.Error() != want {
			t.Errorf("%s: err %q, want %q", e.Redacted(), err, want)
		}
	}
}

func TestDialUnknownDatabase(t *testing.T) {
	src := testenv.Source(t)
	pg := testenv.Postgres(t)
	ch := testenv.ClickHouse(t)
	ctx := context.Background()
	for _, raw := range []string{src.URL("no_such_db"), pg.URL("no_such_db"), ch.URL("no_such_db")} {
		e := mustParse(t, raw)
		err := dialAll(ctx, e, 5*time.Second)
		if !errors.Is(err, endpoint.ErrUnknownDatabase) {
			t.Errorf("%s: err %v, want ErrUnknownDatabase", e.Redacted(), err)
			continue
		}
		if !strings.Contains(err.Error(), `database "no_such_db" does not exist`) {
			t.Errorf("%s: err %q does not name the database", e.Redacted(), err)
		}
	}
}

func TestConnectPostgresAndClickHouse(t *testing.T) {
	pg := testenv.Postgres(t)
	ch := testenv.ClickHouse(t)
	ctx := context.Background()
	pconn, err := endpoint.ConnectPostgres(ctx, mustParse(t, pg.URL("")), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var one int
	if err := pconn.QueryRow(ctx, "SELECT 1").Scan(&one); err != nil || one != 1 {
		t.Errorf("postgres SELECT 1 = %d, %v", one, err)
	}
	_ = pconn.Close(ctx)

	cconn, err := endpoint.OpenClickHouse(ctx, mustParse(t, ch.URL("")), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer cconn.Close()
	if err := cconn.Ping(ctx); err != nil {
		t.Error(err)
	}
}

func TestBadTLSParam(t *testing.T) {
	e := mustParse(t, "mysql://u@127.0.0.1:1/?tls=maybe")
	_, err := endpoint.DialMySQL(context.Background(), e, time.Second)
	if !errors.Is(err, endpoint.ErrBadURL) || !strings.Contains(err.Error(), `tls="maybe"`) {
		t.Errorf("err %v, want ErrBadURL naming tls", err)
	}
}

func TestSecretStaysHiddenInStructuredLogs(t *testing.T) {
	e, err := endpoint.Parse("mysql://u:s3cret-pw@db:3306/x")
	if err != nil {
		t.Fatal(err)
	}
	var buf strings.Builder
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "endpoint", e, "password", e.Password)
	b, _ := json.Marshal(e)
	for _, out := range []string{buf.String(), string(b), fmt.Sprintf("%v %+v %#v", e, e, e)} {
		if strings.Contains(out, "s3cret-pw") {
			t.Fatalf("password printed: %s", out)
		}
	}
}
