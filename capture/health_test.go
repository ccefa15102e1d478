package capture_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sr/srfake"

	"github.com/syncline/syncline/capture"
	"github.com/syncline/syncline/fault"
	"github.com/syncline/syncline/internal/servers"
	"github.com/syncline/syncline/testenv"
)

// healthRecorder is a capture.Health that keeps the last report.
type healthRecorder struct {
	mu     sync.Mutex
	ready  bool
	reason string
}

func (h *healthRecorder) Ready() {
	h.mu.Lock()
	h.ready, h.reason = true, ""
	h.mu.Unlock()
}

func (h *healthRecorder) NotReady(reason string) {
	h.mu.Lock()
	h.ready, h.reason = false, reason
	h.mu.Unlock()
}

func (h *healthRecorder) state() (bool, string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.ready, h.reason
}

// watched is a capture's health and metrics.
type watched struct {
	health *healthRecorder
	reg    *prometheus.Registry
}

// watch makes edit give capture a health recorder, a metrics registry and a
// short Kafka timeout.
func watch() (*watched, func(*capture.Config)) {
	w := &watched{health: &healthRecorder{}, reg: prometheus.NewRegistry()}
	return w, func(cfg *capture.Config) {
		cfg.Health = w.health
		cfg.Metrics = capture.NewMetrics(w.reg)
		cfg.KafkaTimeout = 3 * time.Second
	}
}

// metric returns the value of a metric without labels, or of the series
// with the given label values.
func (w *watched) metric(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	families, err := w.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	series:
		for _, m := range f.GetMetric() {
			for i, l := range m.GetLabel() {
				if i >= len(labels) || l.GetValue() != labels[i] {
					continue series
				}
			}
			switch {
			case m.Gauge != nil:
				return m.Gauge.GetValue()
			case m.Counter != nil:
				return m.Counter.GetValue()
			}
		}
	}
	return 0
}

// breakable makes the cluster drop every connection while down is set,
// like a broker that died.
func breakable(k *testenv.KafkaCluster) *atomic.Bool {
	var down atomic.Bool
	k.Cluster.ControlKey(-1, func(kmsg.Request) (kmsg.Response, error, bool) {
		k.Cluster.KeepControl()
		if down.Load() {
			return nil, errors.New("broker down"), true
		}
		return nil, nil, false
	})
	return &down
}

// TestKafkaDownMidRun stops Kafka under a running capture: /readyz's
// reporter says not ready and why, the retry and failing metrics rise, the
// delay grows, and when Kafka returns capture recovers with no row lost. A
// capture restarted while Kafka is down (it has a checkpoint) retries too.
func TestKafkaDownMidRun(t *testing.T) {
	p := newPipeline(t)
	p.kafka = testenv.NewKafka(t)
	p.spec.Brokers, p.spec.Registry = p.kafka.Brokers, p.kafka.RegistryURL
	down := breakable(p.kafka)
	db := p.src.DB(t, p.db)
	mustExec(t, db, "CREATE TABLE t (id BIGINT PRIMARY KEY, n BIGINT NOT NULL)")
	insert := func(from, to int) {
		t.Helper()
		for i := from; i <= to; i++ {
			mustExec(t, db, "INSERT INTO t VALUES (?, 0)", i)
		}
	}
	insert(1, 50)
	topic := p.prefix + "." + p.db + ".t"

	w, edit := watch()
	stop := p.startWith(edit)
	waitFor(t, 30*time.Second, "capture ready", func() bool { ok, _ := w.health.state(); return ok })
	waitFor(t, 30*time.Second, "the snapshot in Kafka", func() bool { return len(p.readAll(topic)) >= 50 })
	if v := w.metric(t, "syncline_capture_failing_seconds"); v != 0 {
		t.Errorf("healthy capture: failing %v s", v)
	}

	down.Store(true)
	insert(51, 60) // read while Kafka is down
	waitFor(t, 30*time.Second, "capture not ready", func() bool { ok, _ := w.health.state(); return !ok })
	waitFor(t, 30*time.Second, "a retry", func() bool { return w.metric(t, "syncline_capture_retries_total") >= 1 })
	_, reason := w.health.state()
	if !strings.Contains(reason, "retrying (kafka)") {
		t.Errorf("not-ready reason %q does not say capture retries after a Kafka failure", reason)
	}
	if v := w.metric(t, "syncline_capture_last_error_class", "kafka", ""); v != 1 {
		t.Errorf("last_error_class{class=kafka} = %v, want 1", v)
	}
	d1 := w.metric(t, "syncline_capture_delay_seconds")
	f1 := w.metric(t, "syncline_capture_failing_seconds")
	time.Sleep(2 * time.Second)
	if d2 := w.metric(t, "syncline_capture_delay_seconds"); d2 < d1+1.5 {
		t.Errorf("delay went from %.1f s to %.1f s in 2 s while Kafka was down: want it to grow", d1, d2)
	}
	if f2 := w.metric(t, "syncline_capture_failing_seconds"); f2 < f1+1.5 {
		t.Errorf("failing_seconds went from %.1f to %.1f in 2 s", f1, f2)
	}
	insert(61, 70)

	down.Store(false)
	waitFor(t, 60*time.Second, "capture ready again", func() bool { ok, _ := w.health.state(); return ok })
	insert(71, 80)
	waitFor(t, 30*time.Second, "every row in Kafka", func() bool { return len(p.readAll(topic)) >= 80 })
	if v := w.metric(t, "syncline_capture_failing_seconds"); v != 0 {
		t.Errorf("recovered capture: failing %v s", v)
	}
	if v := w.metric(t, "syncline_capture_last_error_class", "kafka", ""); v != 0 {
		t.Errorf("recovered capture: last_error_class{class=kafka} = %v", v)
	}
	if err := stop(); err != nil {
		t.Fatalf("capture: %v", err)
	}
	assertEqual(t, replay(t, p.readAll(topic)), sourceRows(t, db, "t"))

	// Restarted while Kafka is down: a checkpoint may exist, so capture
	// waits for Kafka rather than giving up.
	down.Store(true)
	w2, edit2 := watch()
	stop = p.startWith(edit2)
	waitFor(t, 30*time.Second, "retries of the restarted capture", func() bool {
		return w2.metric(t, "syncline_capture_retries_total") >= 2
	})
	if ok, reason := w2.health.state(); ok || !strings.Contains(reason, "kafka") {
		t.Errorf("restarted capture while Kafka is down: ready %v, reason %q", ok, reason)
	}
	insert(81, 90)
	down.Store(false)
	waitFor(t, 60*time.Second, "restarted capture ready", func() bool { ok, _ := w2.health.state(); return ok })
	waitFor(t, 30*time.Second, "every row in Kafka", func() bool { return len(p.readAll(topic)) >= 90 })
	if err := stop(); err != nil {
		t.Fatalf("capture: %v", err)
	}
	assertEqual(t, replay(t, p.readAll(topic)), sourceRows(t, db, "t"))
}

// TestKafkaUnreachableAtFirstStart starts a new capture (no checkpoint)
// whose broker is not up yet: capture cannot tell a first start from a
// restart without Kafka, so it retries, not ready, and starts once a broker
// listens there.
func TestKafkaUnreachableAtFirstStart(t *testing.T) {
	p := newPipeline(t)
	port := testenv.ClosedPort(t)
	reg := srfake.New()
	t.Cleanup(reg.Close)
	p.spec.Brokers, p.spec.Registry = []string{fmt.Sprintf("127.0.0.1:%d", port)}, reg.URL()
	db := p.src.DB(t, p.db)
	mustExec(t, db, "CREATE TABLE t (id BIGINT PRIMARY KEY, n BIGINT NOT NULL)")
	mustExec(t, db, "INSERT INTO t VALUES (1, 0), (2, 0), (3, 0)")

	w, edit := watch()
	stop := p.startWith(edit)
	waitFor(t, 30*time.Second, "two retries", func() bool { return w.metric(t, "syncline_capture_retries_total") >= 2 })
	if ok, reason := w.health.state(); ok || !strings.Contains(reason, "retrying (kafka)") || !strings.Contains(reason, p.spec.Brokers[0]) {
		t.Errorf("capture without Kafka: ready %v, reason %q; want not ready, naming Kafka at %s", ok, reason, p.spec.Brokers[0])
	}

	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(port))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cluster.Close)
	p.kafka = &testenv.KafkaCluster{Brokers: cluster.ListenAddrs(), RegistryURL: reg.URL(), Cluster: cluster, Registry: reg}
	waitFor(t, 60*time.Second, "capture ready", func() bool { ok, _ := w.health.state(); return ok })
	topic := p.prefix + "." + p.db + ".t"
	waitFor(t, 30*time.Second, "the rows in Kafka", func() bool { return len(p.readAll(topic)) >= 3 })
	if err := stop(); err != nil {
		t.Fatalf("capture: %v", err)
	}
}

// TestSourceFaultsAtFirstStart: with no checkpoint, a source capture cannot
// reach stops at once with a permanent fault that names it; once capture
// has a checkpoint, the same fault is waited out.
func TestSourceFaultsAtFirstStart(t *testing.T) {
	p := newPipeline(t)
	p.kafka = testenv.NewKafka(t)
	p.spec.Brokers, p.spec.Registry = p.kafka.Brokers, p.kafka.RegistryURL
	db := p.src.DB(t, p.db)
	mustExec(t, db, "CREATE TABLE t (id BIGINT PRIMARY KEY, n BIGINT NOT NULL)")
	mustExec(t, db, "INSERT INTO t VALUES (1, 0)")
	goodSource := p.spec.Source
	badSource := fmt.Sprintf("mysql://root@127.0.0.1:%d/", testenv.ClosedPort(t))

	p.spec.Source = badSource
	w, edit := watch()
	start := time.Now()
	err := p.runToEnd(edit)
	if ok, reason := w.health.state(); ok || !strings.HasPrefix(reason, "stopped (source)") {
		t.Errorf("stopped capture: ready %v, reason %q", ok, reason)
	}
	if !fault.IsPermanent(err) || !strings.Contains(err.Error(), "127.0.0.1") {
		t.Fatalf("first start with an unreachable source: %v; want a permanent fault naming the address", err)
	}
	if n := w.metric(t, "syncline_capture_retries_total"); n != 0 {
		t.Errorf("first start retried %v times", n)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("first start took %s to fail", d)
	}

	// With a checkpoint, an unreachable source is retried.
	p.spec.Source = goodSource
	p.captureUntil(p.prefix+"."+p.db+".t", 1, noEdit)
	p.spec.Source = badSource
	w, edit = watch()
	stop := p.startWith(edit)
	waitFor(t, 30*time.Second, "two retries", func() bool { return w.metric(t, "syncline_capture_retries_total") >= 2 })
	if v := w.metric(t, "syncline_capture_last_error_class", "source", ""); v != 1 {
		t.Errorf("last_error_class{class=source} = %v", v)
	}
	if err := stop(); err != nil {
		t.Fatalf("capture with a checkpoint stopped by cancel: %v", err)
	}
}

// TestMissingPrivilegeIsPermanent: a capture user without REPLICATION
// SLAVE stops capture with a permanent fault that names the GRANT.
func TestMissingPrivilegeIsPermanent(t *testing.T) {
	p := newPipeline(t)
	p.kafka = testenv.NewKafka(t)
	p.spec.Brokers, p.spec.Registry = p.kafka.Brokers, p.kafka.RegistryURL
	db := p.src.DB(t, p.db)
	mustExec(t, db, "CREATE TABLE t (id BIGINT PRIMARY KEY, n BIGINT NOT NULL)")
	user := strings.ReplaceAll(p.db, "_", "")
	if len(user) > 30 {
		user = user[len(user)-30:]
	}
	account := "'" + user + "'@'%'"
	p.src.Exec(t, "CREATE USER "+account+" IDENTIFIED BY 'pw'")
	t.Cleanup(func() { p.src.Exec(t, "DROP USER "+account) })
	p.src.Exec(t, "GRANT BINLOG MONITOR ON *.* TO "+account)
	p.src.Exec(t, "GRANT SELECT ON `"+p.db+"`.* TO "+account)
	p.spec.Source = fmt.Sprintf("mysql://%s:pw@%s/", user, p.src.Addr())

	w, edit := watch()
	err := p.runToEnd(edit)
	if !fault.IsPermanent(err) || !strings.Contains(err.Error(), "GRANT REPLICATION SLAVE") {
		t.Fatalf("capture without REPLICATION SLAVE: %v; want a permanent fault naming the GRANT", err)
	}
	if v := w.metric(t, "syncline_capture_last_error_class", "auth", ""); v != 1 {
		t.Errorf("last_error_class{class=auth} = %v", v)
	}
}

// runToEnd runs capture until it stops by itself (at most a minute) and
// returns its error.
func (p *pipeline) runToEnd(edit func(*capture.Config)) error {
	p.t.Helper()
	cfg, err := p.spec.config()
	if err != nil {
		p.t.Fatal(err)
	}
	edit(&cfg)
	c, err := capture.New(cfg)
	if err != nil {
		p.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err = c.Run(ctx)
	if ctx.Err() != nil {
		p.t.Fatalf("capture did not stop within a minute (%v)", err)
	}
	return err
}

// TestRegistryUnreachableAtFirstStart: a new capture whose schema registry
// cannot be reached stops at once with a permanent fault naming it, rather
// than retrying for its window.
func TestRegistryUnreachableAtFirstStart(t *testing.T) {
	p := newPipeline(t)
	p.kafka = testenv.NewKafka(t)
	p.spec.Brokers = p.kafka.Brokers
	p.spec.Registry = fmt.Sprintf("http://127.0.0.1:%d", testenv.ClosedPort(t))
	db := p.src.DB(t, p.db)
	mustExec(t, db, "CREATE TABLE t (id BIGINT PRIMARY KEY, n BIGINT NOT NULL)")
	mustExec(t, db, "INSERT INTO t VALUES (1, 0)")

	w, edit := watch()
	err := p.runToEnd(edit)
	if !fault.IsPermanent(err) || !strings.Contains(err.Error(), p.spec.Registry) {
		t.Fatalf("first start with an unreachable registry: %v; want a permanent fault naming %s", err, p.spec.Registry)
	}
	if v := w.metric(t, "syncline_capture_last_error_class", "registry", p.db+".t"); v != 1 {
		t.Errorf("last_error_class{class=registry,table=%s.t} = %v", p.db, v)
	}
	if n := w.metric(t, "syncline_capture_retries_total"); n != 0 {
		t.Errorf("first start retried %v times", n)
	}
}

// TestKafkaRefusesCredentials: Kafka refusing capture's SASL credentials is
// a permanent fault of class auth, not an outage to wait out.
func TestKafkaRefusesCredentials(t *testing.T) {
	p := newPipeline(t)
	k, err := servers.LaunchKafka(kfake.EnableSASL(), kfake.Superuser("PLAIN", "capture", "right-secret"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k.Close() })
	// Refuse as Apache Kafka does, with SASL_AUTHENTICATION_FAILED (kfake
	// itself only closes the connection).
	k.Cluster.ControlKey(int16(kmsg.SASLAuthenticate), func(req kmsg.Request) (kmsg.Response, error, bool) {
		k.Cluster.KeepControl()
		resp := req.(*kmsg.SASLAuthenticateRequest).ResponseKind().(*kmsg.SASLAuthenticateResponse)
		resp.ErrorCode = kerr.SaslAuthenticationFailed.Code
		msg := "Authentication failed: Invalid username or password"
		resp.ErrorMessage = &msg
		return resp, nil, true
	})
	p.kafka = k
	p.spec.Brokers, p.spec.Registry = k.Brokers, k.RegistryURL
	db := p.src.DB(t, p.db)
	mustExec(t, db, "CREATE TABLE t (id BIGINT PRIMARY KEY)")

	w, edit := watch()
	err = p.runToEnd(func(cfg *capture.Config) {
		edit(cfg)
		cfg.Kafka.SASLMechanism, cfg.Kafka.SASLUser, cfg.Kafka.SASLPassword = "plain", "capture", "wrong-secret"
	})
	if !fault.IsPermanent(err) || strings.Contains(err.Error(), "wrong-secret") {
		t.Fatalf("Kafka refusing the credentials: %v; want a permanent fault without the password", err)
	}
	if v := w.metric(t, "syncline_capture_last_error_class", "auth", ""); v != 1 {
		t.Errorf("last_error_class{class=auth} = %v", v)
	}
}
