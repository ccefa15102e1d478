// Package embedded runs, inside the syncline process, the two services a task
// needs besides its databases: a Kafka-protocol broker (franz-go's kfake) and
// a Confluent-compatible schema registry (franz-go's srfake). syncline dev
// and syncline demo use them so that a task runs on one machine with no Kafka
// and no registry installed.
//
// Both listen on 127.0.0.1 only and keep their state in one directory, so a
// restart on the same ports continues where the last run stopped: the broker
// persists its topics, transactions and consumer-group offsets (kfake's
// DataDir), and the registry replays a log of its registrations so every
// schema keeps its id (see Registry).
//
// This is for one machine: one broker, no replication, no authentication.
// Production uses a real Kafka cluster and registry (deploy/).
package embedded

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
)

// Default ports of the embedded services. They differ from Kafka's and the
// registry's usual ports (9092, 8081) so that they do not clash with real
// services on a developer's machine.
const (
	DefaultKafkaPort    = 19092
	DefaultRegistryPort = 18081
)

// host is the only address the services listen on.
const host = "127.0.0.1"

// Config configures the embedded services. Dir is required; the zero value
// of every other field is usable.
type Config struct {
	// Dir holds the broker's data (Dir/kafka) and the registry's log
	// (Dir/registry.log). It is created if missing.
	Dir string
	// KafkaPort is the broker's port on 127.0.0.1; 0 picks a free port
	// (then a restart gets another address).
	KafkaPort int
	// RegistryPort is the registry's port on 127.0.0.1; 0 picks a free one.
	RegistryPort int
	// Logger receives the services' warnings and errors; slog.Default()
	// when nil.
	Logger *slog.Logger
}

// Validate checks the configuration without I/O.
func (c *Config) Validate() error {
	var errs []error
	if c.Dir == "" {
		errs = append(errs, errors.New("dir: a data directory is required"))
	}
	for _, p := range []struct {
		name string
		port int
	}{{"kafka-port", c.KafkaPort}, {"registry-port", c.RegistryPort}} {
		if p.port < 0 || p.port > 65535 {
			errs = append(errs, fmt.Errorf("%s: %d is not a port (0-65535)", p.name, p.port))
		}
	}
	if c.KafkaPort != 0 && c.KafkaPort == c.RegistryPort {
		errs = append(errs, fmt.Errorf("kafka-port and registry-port: both are %d", c.KafkaPort))
	}
	return errors.Join(errs...)
}

// Services are the running broker and registry. Start returns them; Close
// stops them.
type Services struct {
	// Brokers are the broker addresses, "127.0.0.1:port".
	Brokers []string
	// RegistryURL is the registry's base URL, "http://127.0.0.1:port".
	RegistryURL string

	cluster  *kfake.Cluster
	registry *Registry
	server   *http.Server
	served   chan struct{}
	lock     *os.File
	closed   bool
}

// Start starts the broker and the registry with their state in cfg.Dir.
// A port that is taken is an error that names it: another syncline dev may
// be running on the same ports.
func Start(cfg Config) (*Services, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	dir, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}

	// Listen for the registry first: it is quick to undo.
	ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(cfg.RegistryPort)))
	if err != nil {
		_ = lock.Close()
		return nil, fmt.Errorf("schema registry port %d: %w", cfg.RegistryPort, err)
	}
	reg, err := OpenRegistry(filepath.Join(dir, "registry.log"))
	if err != nil {
		_ = ln.Close()
		_ = lock.Close()
		return nil, err
	}
	cluster, err := kfake.NewCluster(
		kfake.NumBrokers(1),
		kfake.Ports(cfg.KafkaPort),
		kfake.DataDir(filepath.Join(dir, "kafka")),
		kfake.ClusterID("syncline-embedded"),
		kfake.WithLogger(kfakeLogger{log: log.With("component", "kafka")}),
	)
	if err != nil {
		_ = ln.Close()
		_ = reg.Close()
		_ = lock.Close()
		return nil, fmt.Errorf("kafka broker on port %d: %w", cfg.KafkaPort, err)
	}
	s := &Services{
		Brokers:     cluster.ListenAddrs(),
		RegistryURL: "http://" + ln.Addr().String(),
		cluster:     cluster,
		registry:    reg,
		server:      &http.Server{Handler: reg.Handler(), ReadHeaderTimeout: 10 * time.Second},
		served:      make(chan struct{}),
		lock:        lock,
	}
	go func() {
		defer close(s.served)
		if err := s.server.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("schema registry stopped", "component", "registry", "err", err)
		}
	}()
	log.Info("embedded kafka and schema registry started", "brokers", s.Brokers[0], "registry", s.RegistryURL,
		"dir", dir, "schemas", reg.Len())
	return s, nil
}

// Close stops the registry and the broker; the broker writes its state to
// disk first. Calling it again does nothing. Close is not safe for
// concurrent use.
func (s *Services) Close() error {
	if s.closed {
		return nil
	}
	s.closed = true
	// Let requests in flight finish, then drop the connections left (a
	// client's fresh connection that never sent a request would otherwise
	// hold Shutdown for 5 s).
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_ = s.server.Shutdown(ctx)
	_ = s.server.Close()
	<-s.served
	s.cluster.Close()
	err := s.registry.Close()
	if lerr := s.lock.Close(); err == nil {
		err = lerr
	}
	return err
}

// lockDir takes an exclusive lock on dir/lock, held until the returned file
// is closed: two processes must not share one broker's files.
func lockDir(dir string) (*os.File, error) {
	path := filepath.Join(dir, "lock")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("data directory %s is in use by another process (another syncline dev or demo?)", dir)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return f, nil
}

// kfakeLogger sends kfake's warnings and errors to slog. Its info and debug
// messages describe every request and are dropped.
type kfakeLogger struct{ log *slog.Logger }

func (l kfakeLogger) Logf(level kfake.LogLevel, format string, args ...any) {
	switch level {
	case kfake.LogLevelError:
		l.log.Error(fmt.Sprintf(format, args...))
	case kfake.LogLevelWarn:
		l.log.Warn(fmt.Sprintf(format, args...))
	}
}
