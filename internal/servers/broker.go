package servers

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/sr/srfake"
)

// RestartableKafka is a Kafka broker (kfake) whose log, transactions and
// consumer groups live on disk, so it can be stopped and started again on
// the same 127.0.0.1 port, as an operator restarts a broker; the schema
// registry beside it keeps running. LaunchRestartableKafka returns one.
type RestartableKafka struct {
	// Brokers is the broker's address ("127.0.0.1:port"), the same across
	// restarts.
	Brokers []string
	// RegistryURL is the schema registry's base URL.
	RegistryURL string
	// Registry is the fake schema registry (memory only, never restarted).
	Registry *srfake.Registry

	dir  string
	port int

	mu      sync.Mutex
	cluster *kfake.Cluster // nil while stopped
}

// LaunchRestartableKafka starts a broker persisting to dir, on a free port,
// and a schema registry.
func LaunchRestartableKafka(dir string) (*RestartableKafka, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	k := &RestartableKafka{dir: dir, port: port, Brokers: []string{net.JoinHostPort("127.0.0.1", strconv.Itoa(port))}}
	if err := k.Start(); err != nil {
		return nil, err
	}
	k.Registry = srfake.New()
	k.RegistryURL = k.Registry.URL()
	return k, nil
}

// BrokersString returns the broker addresses joined by commas.
func (k *RestartableKafka) BrokersString() string { return k.Brokers[0] }

// Start starts the broker again on its port with its data; it does nothing
// when the broker runs.
func (k *RestartableKafka) Start() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.cluster != nil {
		return nil
	}
	var (
		cl  *kfake.Cluster
		err error
	)
	// The port was just freed: retry a bind that the kernel still refuses.
	for range 50 {
		cl, err = kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(k.port), kfake.DataDir(k.dir), kfake.ClusterID("testenv-restartable"))
		if err == nil || !errors.Is(err, syscall.EADDRINUSE) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		return fmt.Errorf("start kfake on port %d: %w", k.port, err)
	}
	k.cluster = cl
	return nil
}

// Stop stops the broker: its connections are closed and its port refuses
// connections until Start. Its state is saved to disk first.
func (k *RestartableKafka) Stop() {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.cluster != nil {
		k.cluster.Close()
		k.cluster = nil
	}
}

// Restart stops and starts the broker.
func (k *RestartableKafka) Restart() error {
	k.Stop()
	return k.Start()
}

// Close stops the broker and the registry.
func (k *RestartableKafka) Close() error {
	k.Stop()
	k.Registry.Close()
	return nil
}
