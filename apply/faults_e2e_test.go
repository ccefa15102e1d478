package apply_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/syncline/syncline/testenv"
)

// child is an apply process (the test binary as apply), with its stderr.
type child struct {
	cmd    *exec.Cmd
	mu     sync.Mutex
	stderr strings.Builder
	done   chan struct{}
	err    error // Wait's, once done is closed
}

func (c *child) Write(b []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stderr.Write(b)
}

// output returns what the child wrote to stderr so far.
func (c *child) output() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stderr.String()
}

// exited reports whether the child ended.
func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// startChild starts apply as configured by spec in a child process, killed
// when the test ends.
func startChild(t *testing.T, spec applySpec) *child {
	t.Helper()
	raw, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: exec.Command(self, "-test.run=^$"), done: make(chan struct{})}
	c.cmd.Env = append(os.Environ(), childEnv+"="+string(raw))
	c.cmd.Stderr = c
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		c.err = c.cmd.Wait()
		close(c.done)
	}()
	t.Cleanup(func() {
		_ = c.cmd.Process.Kill()
		<-c.done
	})
	return c
}

// TestBrokerRestartsUnderLoad stops and starts the Kafka broker five times
// while capture publishes a write load and two apply processes (one group)
// write it, with nothing to restart them: both applies and capture stay up
// through every restart, and the target ends equal to the source.
func TestBrokerRestartsUnderLoad(t *testing.T) {
	k := testenv.NewRestartableKafka(t)
	p := newPipeline(t)
	p.kafka = &testenv.KafkaCluster{Brokers: k.Brokers, RegistryURL: k.RegistryURL, Registry: k.Registry}
	p.spec.Brokers, p.spec.Registry = k.Brokers, k.RegistryURL
	tgt := testenv.Target(t)
	p.spec.Target = tgt.URL("")
	p.spec.BatchRows = 500
	t.Cleanup(func() { tgt.Exec(t, "DROP DATABASE IF EXISTS `"+p.db+"`") })
	p.createLoadTables()
	p.startCapture()
	applies := []*child{startChild(t, p.spec), startChild(t, p.spec)}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	l := startLoad(ctx, t, p.srcDB, 2, 7)
	alive := func(when string) {
		t.Helper()
		for i, c := range applies {
			if c.exited() {
				t.Fatalf("%s: apply %d exited (%v): %s", when, i, c.err, c.output())
			}
		}
	}
	for i := range 5 {
		time.Sleep(2 * time.Second)
		k.Stop()
		time.Sleep(time.Duration(1+i%3) * time.Second)
		if err := k.Start(); err != nil {
			t.Fatal(err)
		}
		alive("after broker restart " + string(rune('1'+i)))
	}
	time.Sleep(2 * time.Second)
	cancel()
	ops := l.wait(t)
	began := time.Now()
	waitEqual(t, 90*time.Second, []string{"orders", "items"}, mysqlCompare(t, p, tgt))
	alive("at the end")
	t.Logf("%d source transactions over 5 broker restarts; target equal %s after the load stopped", ops, time.Since(began).Round(time.Millisecond))
}
