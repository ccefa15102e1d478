// Package pipeline runs a whole task in one process: one capture and an
// apply per target, started together and stopped together. syncline dev,
// the demo and the delay benchmark use it; cmd/syncline only turns flags
// into its Config.
package pipeline

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/syncline/syncline/apply"
	"github.com/syncline/syncline/capture"
	"github.com/syncline/syncline/endpoint"
	"github.com/syncline/syncline/topics"
)

// Apply is one apply of a pipeline: its target and configuration.
type Apply struct {
	// Target is the database apply writes to.
	Target endpoint.Endpoint
	// Config configures the apply; Run sets its Logger and Metrics.
	Config apply.Config
}

// Config configures a pipeline.
type Config struct {
	// Capture configures the capture; Run sets its Logger and, when they
	// are nil, its Metrics and Health.
	Capture capture.Config
	// Applies are the applies, one per target; none runs capture alone.
	Applies []Apply
	// NewSink opens the sink of a target; Run closes it when it returns.
	NewSink func(target endpoint.Endpoint, log *slog.Logger) (apply.Sink, error)
	// Logger logs for every part (slog.Default() when nil).
	Logger *slog.Logger
	// Registerer, when set, receives the metrics: capture's, and each
	// apply's with the label target=<its group>.
	Registerer prometheus.Registerer
	// Running, when set, is called once every part is about to run.
	Running func()
}

// UseKafka points capture and every apply at one Kafka cluster and schema
// registry.
func (c *Config) UseKafka(k topics.Kafka, registryURL string) {
	c.Capture.Kafka, c.Capture.RegistryURL = k, registryURL
	for i := range c.Applies {
		c.Applies[i].Config.Kafka, c.Applies[i].Config.RegistryURL = k, registryURL
	}
}

// TargetError is Run's error when a target's sink cannot be opened: a
// setting of the target to correct.
type TargetError struct {
	Target endpoint.Endpoint
	Err    error
}

func (e *TargetError) Error() string { return e.Err.Error() }
func (e *TargetError) Unwrap() error { return e.Err }

// Run runs the capture and the applies until ctx ends or one of them
// fails; then it stops the others and returns the first error, named after
// its part ("capture: ...", "apply to <target>: ..."). A part that returns
// by itself without error stops the pipeline too.
func Run(ctx context.Context, cfg Config) error {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	capCfg := cfg.Capture
	capCfg.Logger = log
	if capCfg.Metrics == nil && cfg.Registerer != nil {
		capCfg.Metrics = capture.NewMetrics(cfg.Registerer)
	}
	cp, err := capture.New(capCfg)
	if err != nil {
		return err
	}
	parts := []part{{name: "capture", run: cp.Run}}
	for _, a := range cfg.Applies {
		sink, err := cfg.NewSink(a.Target, log)
		if err != nil {
			return &TargetError{Target: a.Target, Err: err}
		}
		defer func() {
			if err := sink.Close(); err != nil {
				log.Warn("close target", "target", a.Target.Redacted(), "err", err)
			}
		}()
		acfg := a.Config
		acfg.Logger = log.With("target", a.Target.Redacted())
		if cfg.Registerer != nil {
			acfg.Metrics = apply.NewMetrics(prometheus.WrapRegistererWith(prometheus.Labels{"target": acfg.Group}, cfg.Registerer))
		}
		ap, err := apply.New(acfg, sink)
		if err != nil {
			return err
		}
		parts = append(parts, part{name: "apply to " + a.Target.Redacted(), run: ap.Run})
	}
	log.Info("syncline dev running", "brokers", capCfg.Kafka.String(), "registry", capCfg.RegistryURL,
		"topic_prefix", capCfg.Prefix, "source", capCfg.Source.Redacted(), "tables", capCfg.Tables.String(),
		"applies", len(cfg.Applies))
	if cfg.Running != nil {
		cfg.Running()
	}
	return runParts(ctx, parts)
}

// part is one component of a pipeline.
type part struct {
	name string
	run  func(ctx context.Context) error
}

// runParts runs the parts until ctx ends or one fails, then stops the
// others and returns the first error.
func runParts(ctx context.Context, parts []part) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	for _, p := range parts {
		wg.Go(func() {
			err := p.run(ctx)
			if err == nil && ctx.Err() == nil {
				err = errors.New("stopped")
			}
			if err != nil {
				once.Do(func() { first = fmt.Errorf("%s: %w", p.name, err) })
				cancel()
			}
		})
	}
	wg.Wait()
	return first
}
