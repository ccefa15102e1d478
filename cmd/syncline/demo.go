package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	// The "mysql" database/sql driver for the demo's source.
	_ "github.com/go-mysql-org/go-mysql/driver"
	"github.com/urfave/cli/v2"
	"github.com/urfave/cli/v2/altsrc"

	"github.com/syncline/syncline/apply"
	"github.com/syncline/syncline/capture"
	"github.com/syncline/syncline/embedded"
	"github.com/syncline/syncline/endpoint"
	"github.com/syncline/syncline/internal/pipeline"
	"github.com/syncline/syncline/internal/servers"
	"github.com/syncline/syncline/internal/words"
	"github.com/syncline/syncline/status"
	"github.com/syncline/syncline/task"
	"github.com/syncline/syncline/topics"
)

// Flags of syncline demo.
const (
	flagDir    = "dir"
	flagRate   = "rate"
	flagOrders = "orders"
)

// The demo's topic prefix (and capture name) and its apply's consumer group.
const (
	demoPrefix = "demo"
	demoGroup  = "demo-apply-clickhouse"
)

func demoCommand() *cli.Command {
	return newCommand(&cli.Command{
		Name:      "demo",
		Usage:     "run a private MariaDB with a live workload, synced through an embedded Kafka into a private ClickHouse",
		UsageText: "syncline demo [--dir DIR] [--rate N]",
		Description: "Starts, under --dir, a private MariaDB source holding a small shop (customers, products, orders) with a\n" +
			"steady write workload, a private ClickHouse target, and syncline dev's pipeline between them: an embedded\n" +
			"Kafka broker and schema registry, capture, and apply. It shows the task's status every --interval until you\n" +
			"press Ctrl-C; run it again and it continues where it stopped, without duplicates. Needs the Debian packages\n" +
			"mariadb-server and clickhouse-server (make demo installs them). Logs go to DIR/syncline.log.",
		Flags: []cli.Flag{
			altsrc.NewStringFlag(&cli.StringFlag{Name: flagDir, Usage: "keep the demo's servers and data in `DIR` (default $XDG_STATE_HOME/syncline/demo, or ~/.local/state/syncline/demo)"}),
			altsrc.NewIntFlag(&cli.IntFlag{Name: flagRate, Value: 20, Usage: "workload transactions per second (0: no workload)"}),
			altsrc.NewIntFlag(&cli.IntFlag{Name: flagOrders, Value: 3000, Usage: "orders in the sample data of a new demo (a third as many customers, a fifteenth as many products)"}),
			altsrc.NewDurationFlag(&cli.DurationFlag{Name: flagInterval, Value: 2 * time.Second, Usage: "time between two status screens"}),
			altsrc.NewStringFlag(&cli.StringFlag{Name: flagMetricsAddr, Usage: "serve /metrics, /healthz and /readyz on `HOST:PORT` (off when empty)"}),
			altsrc.NewStringFlag(&cli.StringFlag{Name: flagConsole, Value: "127.0.0.1:0", Usage: "serve the task's web console on `HOST:PORT` (port 0: any free port; the URL is printed; off when empty)"}),
		},
		Action: runDemo,
	})
}

func runDemo(c *cli.Context) error {
	dir := c.String(flagDir)
	if dir == "" {
		var err error
		if dir, err = stateDir("demo"); err != nil {
			return usagef(c, "--%s: %v", flagDir, err)
		}
	}
	if c.Int(flagRate) < 0 || c.Int(flagRate) > 10000 {
		return usagef(c, "--%s %d: use 0 to 10000 transactions per second", flagRate, c.Int(flagRate))
	}
	if c.Int(flagOrders) < 1 {
		return usagef(c, "--%s %d: use a positive number", flagOrders, c.Int(flagOrders))
	}
	if c.Duration(flagInterval) <= 0 {
		return usagef(c, "--%s %s: use a positive duration such as 2s", flagInterval, c.Duration(flagInterval))
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("demo directory: %w", err)
	}
	logPath := filepath.Join(dir, "syncline.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("demo log: %w", err)
	}
	defer logFile.Close()
	log, err := newLogger(c, logFile)
	if err != nil {
		return err
	}
	d := &demo{dir: dir, logPath: logPath, log: log, out: c.App.Writer, rate: c.Int(flagRate), interval: c.Duration(flagInterval),
		exe: programName(), consoleAddr: c.String(flagConsole)}
	return d.run(c.Context, c.Int(flagOrders), c.String(flagMetricsAddr))
}

// demo is one run of syncline demo.
type demo struct {
	dir, logPath string
	log          *slog.Logger
	out          io.Writer
	rate         int
	interval     time.Duration
	// exe names syncline in the commands the demo prints.
	exe         string
	consoleAddr string
	// introText is what the demo printed at start; consoleURL its console.
	introText, consoleURL string

	src    *servers.MySQL
	ch     *servers.ClickHouseServer
	svc    *embedded.Services
	shop   *shop
	obs    *observer
	target *targetCounter
	began  time.Time
}

// run starts the servers, the workload and the pipeline, shows the status
// until ctx ends, and stops everything.
func (d *demo) run(ctx context.Context, orders int, metricsAddr string) (err error) {
	d.began = time.Now()
	fmt.Fprintf(d.out, "syncline demo: starting in %s (log: %s)\n", d.dir, d.logPath)
	d.log.Info("demo starting", "dir", d.dir)
	defer func() {
		fmt.Fprintln(d.out, "syncline demo: stopping")
		if cerr := d.close(); err == nil && ctx.Err() == nil {
			err = cerr
		}
		if ctx.Err() != nil && err == nil {
			fmt.Fprintln(d.out, "syncline demo: stopped; run it again to continue where it stopped")
		}
	}()
	if err := d.start(ctx, orders); err != nil {
		return err
	}

	srcEP, err := endpoint.Parse(d.src.URL(""))
	if err != nil {
		return err
	}
	tgtEP, err := endpoint.Parse(d.ch.URL(""))
	if err != nil {
		return err
	}
	if err := d.setupUser(ctx); err != nil {
		return err
	}
	spec, err := d.writeSpec()
	if err != nil {
		return err
	}
	// The demo runs as the task of its spec, so that syncline task and the
	// console show its object list.
	tables, err := task.CompileObjects(demoObjects)
	if err != nil {
		return err
	}
	capCfg := capture.Config{
		Source: srcEP, Kafka: topics.Kafka{Brokers: d.svc.Brokers}, RegistryURL: d.svc.RegistryURL,
		Prefix: demoPrefix, Tables: tables, Name: demoPrefix, Task: demoPrefix,
	}
	d.obs = newObserver()
	if err := d.obs.serve(ctx, metricsAddr, d.log); err != nil {
		return fmt.Errorf("--%s: %w", flagMetricsAddr, err)
	}
	// Apply to ClickHouse, when this syncline can.
	var applies []pipeline.Apply
	if sink, err := newSink(tgtEP, d.log); err != nil {
		d.log.Warn("demo runs capture only", "err", err)
	} else {
		_ = sink.Close()
		applies = append(applies, pipeline.Apply{Target: tgtEP, Config: apply.Config{
			Kafka: capCfg.Kafka, RegistryURL: capCfg.RegistryURL, Prefix: demoPrefix, Group: demoGroup,
			TopicRefresh: devTopicRefresh, Task: demoPrefix,
		}})
	}

	monCfg := status.Config{Kafka: capCfg.Kafka, Prefix: demoPrefix}
	if len(applies) > 0 {
		monCfg.Groups = []string{demoGroup}
	}
	mon, err := status.New(monCfg)
	if err != nil {
		return err
	}
	defer mon.Close()

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	consoleURL, waitConsole, err := pipelineConsole(ctx, d.consoleAddr, monCfg, d.obs.reg, d.log)
	if err != nil {
		return fmt.Errorf("--%s: %w", flagConsole, err)
	}
	defer func() { cancel(); waitConsole() }()
	var intro strings.Builder
	d.intro(&intro, consoleURL, spec)
	fmt.Fprint(d.out, intro.String())
	d.introText, d.consoleURL = intro.String(), consoleURL
	if err := d.writeCommands(consoleURL, spec); err != nil {
		return err
	}
	var wg sync.WaitGroup
	var pipeErr error
	wg.Go(func() {
		pipeErr = runPipeline(ctx, d.log, d.obs, capCfg, applies)
		cancel()
	})
	wg.Go(func() { d.shop.run(ctx, d.rate) })
	d.show(ctx, mon)
	cancel()
	wg.Wait()
	return pipeErr
}

// start launches MariaDB, ClickHouse and the embedded services, and sets
// up the shop.
func (d *demo) start(ctx context.Context, orders int) error {
	var err error
	fmt.Fprintln(d.out, "syncline demo: starting MariaDB and ClickHouse")
	if d.src, err = servers.LaunchMariaDB(ctx, filepath.Join(d.dir, "mariadb"), servers.MariaDBOptions{}); err != nil {
		return fmt.Errorf("start MariaDB: %w", err)
	}
	if d.ch, err = servers.LaunchClickHouse(ctx, filepath.Join(d.dir, "clickhouse")); err != nil {
		return fmt.Errorf("start ClickHouse: %w", err)
	}
	if d.svc, err = embedded.Start(embedded.Config{Dir: filepath.Join(d.dir, "kafka"), Logger: d.log}); err != nil {
		return err
	}
	db, err := sql.Open("mysql", d.src.DSN(""))
	if err != nil {
		return err
	}
	d.shop = newShop(db, d.log)
	seeded, err := d.shop.setup(ctx, orders)
	if err != nil {
		return err
	}
	if seeded {
		fmt.Fprintf(d.out, "syncline demo: created the sample shop (%s)\n", words.Plural(orders, "order", "orders"))
	}
	d.target = newTargetCounter(d.ch.Addr())
	d.log.Info("demo servers started", "mariadb", d.src.Addr(), "clickhouse", d.ch.Addr(), "kafka", d.svc.Brokers[0], "registry", d.svc.RegistryURL)
	return nil
}

// close stops what start started, in reverse order.
func (d *demo) close() error {
	var errs []error
	if d.target != nil {
		d.target.close()
	}
	if d.shop != nil {
		errs = append(errs, d.shop.db.Close())
	}
	if d.svc != nil {
		errs = append(errs, d.svc.Close())
	}
	var wg sync.WaitGroup
	var chErr, srcErr error
	if d.ch != nil {
		wg.Go(func() { chErr = d.ch.Close() })
	}
	if d.src != nil {
		wg.Go(func() { srcErr = d.src.Close() })
	}
	wg.Wait()
	return errors.Join(append(errs, chErr, srcErr)...)
}

// capturedRows sums capture's published events of this run per table, as
// "r1,000 +12 ~30 -2".
func capturedRows(obs *observer) map[string]string {
	out := map[string]string{}
	families, err := obs.reg.Gather()
	if err != nil {
		return out
	}
	byTable := map[string]map[string]float64{}
	for _, f := range families {
		if f.GetName() != "syncline_capture_rows_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			var table, op string
			for _, l := range m.GetLabel() {
				switch l.GetName() {
				case "table":
					table = l.GetValue()
				case "op":
					op = l.GetValue()
				}
			}
			if byTable[table] == nil {
				byTable[table] = map[string]float64{}
			}
			byTable[table][op] += m.GetCounter().GetValue()
		}
	}
	for table, ops := range byTable {
		var parts []string
		for _, op := range []struct{ op, sign string }{{"r", "r"}, {"c", "+"}, {"u", "~"}, {"d", "-"}} {
			if n := ops[op.op]; n > 0 {
				parts = append(parts, op.sign+formatThousands(int64(n)))
			}
		}
		out[table] = strings.Join(parts, " ")
	}
	return out
}

// formatThousands writes n with thousands separators.
func formatThousands(n int64) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return s
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// formatAge writes a running time: 42s, 3m05s, 1h02m.
func formatAge(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}
