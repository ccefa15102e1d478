// Package endpoint parses the connection strings Syncline accepts for its
// sources and targets and keeps their passwords out of every log line and
// error.
//
// One URL form serves every endpoint; the scheme picks the kind:
//
//	mysql://user:pass@host:3306/db?tls=true      MySQL and MariaDB
//	postgres://user:pass@host:5432/db?sslmode=disable
//	clickhouse://user:pass@host:9000/db
//
// A password may also come from a file or an environment variable (see
// Endpoint.WithPasswordFrom), so that it never has to be written on a command
// line.
package endpoint

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
)

// Kind is the type of server an endpoint points at.
type Kind string

// The kinds of endpoint Syncline understands.
const (
	MySQL      Kind = "mysql"
	Postgres   Kind = "postgres"
	ClickHouse Kind = "clickhouse"
)

// DefaultPort returns the port used when a URL of this kind names none.
func (k Kind) DefaultPort() int {
	switch k {
	case MySQL:
		return 3306
	case Postgres:
		return 5432
	case ClickHouse:
		return 9000
	}
	return 0
}

// ErrBadURL is wrapped by every error about a malformed connection string.
var ErrBadURL = errors.New("bad connection string")

// Secret holds a password. Its String and GoString methods never reveal it,
// so a Secret printed by mistake through fmt or slog stays hidden.
type Secret string

// String returns a placeholder instead of the secret.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "xxxxx"
}

// GoString returns a placeholder instead of the secret.
func (s Secret) GoString() string { return `"xxxxx"` }

// Reveal returns the secret itself, for handing to a driver.
func (s Secret) Reveal() string { return string(s) }

// Endpoint is a parsed connection string.
type Endpoint struct {
	Kind     Kind
	Host     string
	Port     int
	User     string
	Password Secret
	// Database is the database (ClickHouse, PostgreSQL) or default schema
	// (MySQL) named in the path; it may be empty.
	Database string
	// Params holds the query parameters, e.g. tls or sslmode.
	Params url.Values
}

// Parse parses a connection string. Its errors never contain the password.
func Parse(raw string) (Endpoint, error) {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return Endpoint{}, fmt.Errorf("%w: %q has no scheme; write it as mysql://, postgres:// or clickhouse://", ErrBadURL, redactRaw(raw))
	}
	var kind Kind
	switch strings.ToLower(scheme) {
	case "mysql", "mariadb":
		kind = MySQL
	case "postgres", "postgresql":
		kind = Postgres
	case "clickhouse":
		kind = ClickHouse
	default:
		return Endpoint{}, fmt.Errorf("%w: unknown scheme %q in %q; use mysql://, postgres:// or clickhouse://", ErrBadURL, scheme, redactRaw(raw))
	}
	u, err := url.Parse(kind.scheme() + "://" + rest)
	if err != nil {
		// url's own error repeats the whole string, password included.
		return Endpoint{}, fmt.Errorf("%w: %q is not a valid URL (check for unescaped characters such as @ / ? # in the user or password; percent-encode them)", ErrBadURL, redactRaw(raw))
	}
	e := Endpoint{Kind: kind, Host: u.Hostname(), Params: u.Query()}
	if u.User != nil {
		e.User = u.User.Username()
		if p, ok := u.User.Password(); ok {
			e.Password = Secret(p)
		}
	}
	if e.Host == "" {
		return Endpoint{}, fmt.Errorf("%w: %q names no host", ErrBadURL, e.Redacted())
	}
	e.Port = kind.DefaultPort()
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n <= 0 || n > 65535 {
			return Endpoint{}, fmt.Errorf("%w: port %q in %q is not a number from 1 to 65535", ErrBadURL, p, e.Redacted())
		}
		e.Port = n
	}
	e.Database = strings.Trim(u.Path, "/")
	if strings.Contains(e.Database, "/") {
		return Endpoint{}, fmt.Errorf("%w: path %q in %q must be a single database name", ErrBadURL, u.Path, e.Redacted())
	}
	if e.User == "" {
		e.User = kind.defaultUser()
	}
	return e, nil
}

// WithPasswordFrom returns e with its password read from a file or an
// environment variable when the URL carries none. An empty file or name
// means "not given".
func (e Endpoint) WithPasswordFrom(file, envVar string) (Endpoint, error) {
	if e.Password != "" {
		if file != "" || envVar != "" {
			return e, fmt.Errorf("%w: %s has a password in the URL and also a password file or variable; give only one", ErrBadURL, e.Redacted())
		}
		return e, nil
	}
	switch {
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return e, fmt.Errorf("read password file for %s: %w", e.Redacted(), err)
		}
		e.Password = Secret(strings.TrimRight(string(b), "\r\n"))
	case envVar != "":
		v, ok := os.LookupEnv(envVar)
		if !ok {
			return e, fmt.Errorf("password variable %s for %s is not set", envVar, e.Redacted())
		}
		e.Password = Secret(v)
	}
	return e, nil
}

// Addr returns host:port.
func (e Endpoint) Addr() string { return net.JoinHostPort(e.Host, strconv.Itoa(e.Port)) }

// Redacted returns the URL with the password replaced by xxxxx, for logs and
// error messages.
func (e Endpoint) Redacted() string { return e.url(e.Password.String()) }

// String returns the redacted URL, so an Endpoint is safe to print.
func (e Endpoint) String() string { return e.Redacted() }

// URL returns the full URL, password included, for handing to a driver.
func (e Endpoint) URL() string { return e.url(e.Password.Reveal()) }

func (e Endpoint) url(password string) string {
	u := url.URL{Scheme: e.Kind.scheme(), Host: e.Addr(), Path: "/" + e.Database}
	if e.User != "" || password != "" {
		if password != "" {
			u.User = url.UserPassword(e.User, password)
		} else {
			u.User = url.User(e.User)
		}
	}
	if len(e.Params) > 0 {
		u.RawQuery = e.Params.Encode()
	}
	return u.String()
}

func (k Kind) scheme() string { return string(k) }

func (k Kind) defaultUser() string {
	switch k {
	case ClickHouse:
		return "default"
	case Postgres:
		return "postgres"
	}
	return "root"
}

// redactRaw hides whatever stands between the scheme's "://" user part's
// colon and the last @ of a connection string that could not be parsed.
func redactRaw(raw string) string {
	start := strings.Index(raw, "://")
	if start < 0 {
		start = 0
	} else {
		start += 3
	}
	at := strings.LastIndex(raw, "@")
	if at < start {
		return raw
	}
	colon := strings.Index(raw[start:at], ":")
	if colon < 0 {
		return raw
	}
	return raw[:start+colon+1] + "xxxxx" + raw[at:]
}

// LogValue keeps the secret out of slog output, whatever the handler.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalJSON keeps the secret out of JSON output.
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }
