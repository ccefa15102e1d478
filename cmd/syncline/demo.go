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
	"text/tabwriter"
	"time"

	// The "mysql" database/sql driver for the demo's source.
	_ "github.com/go-mysql-org/go-mysql/driver"
	"github.com/urfave/cli/v2"
	"github.com/urfave/cli/v2/altsrc"

	"github.com/syncline/syncline/apply"
	"github.com/syncline/syncline/capture"
	"github.com/syncline/syncline/embedded"
	"github.com/syncline/syncline/endpoint"
	"github.com/syncline/syncline/filter"
	"github.com/syncline/syncline/internal/servers"
	"github.com/syncline/syncline/status"
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
	d := &demo{dir: dir, logPath: logPath, log: log, out: c.App.Writer, rate: c.Int(flagRate), interval: c.Duration(flagInterval)}
	return d.run(c.Context, c.Int(flagOrders), c.String(flagMetricsAddr))
}

// demo is one run of syncline demo.
type demo struct {
	dir, logPath string
	log          *slog.Logger
	out          io.Writer
	rate         int
	interval     time.Duration

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
	tables, err := filter.Parse(shopDB+".*", "")
	if err != nil {
		return err
	}
	capCfg := capture.Config{
		Source: srcEP, Kafka: topics.Kafka{Brokers: d.svc.Brokers}, RegistryURL: d.svc.RegistryURL,
		Prefix: demoPrefix, Tables: tables,
	}
	d.obs = newObserver()
	if err := d.obs.serve(ctx, metricsAddr, d.log); err != nil {
		return fmt.Errorf("--%s: %w", flagMetricsAddr, err)
	}
	// Apply to ClickHouse, when this syncline can.
	var applies []devApply
	if sink, err := newSink(tgtEP, d.log); err != nil {
		d.log.Warn("demo runs capture only", "err", err)
	} else {
		_ = sink.Close()
		applies = append(applies, devApply{target: tgtEP, cfg: apply.Config{
			Kafka: capCfg.Kafka, RegistryURL: capCfg.RegistryURL, Prefix: demoPrefix, Group: demoGroup,
			TopicRefresh: devTopicRefresh,
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
		fmt.Fprintf(d.out, "syncline demo: created the sample shop (%d orders)\n", orders)
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

// show prints the status screen every interval until ctx ends.
func (d *demo) show(ctx context.Context, mon *status.Monitor) {
	tick := time.NewTicker(d.interval)
	defer tick.Stop()
	var prev *status.Report
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		rep, err := mon.Collect(ctx)
		if err != nil {
			if ctx.Err() == nil {
				d.log.Warn("demo status", "err", err)
			}
			continue
		}
		var b strings.Builder
		d.screen(ctx, &b, rep, prev)
		if isTerminal(d.out) {
			fmt.Fprint(d.out, clearScreen)
		} else {
			fmt.Fprintln(d.out)
		}
		fmt.Fprint(d.out, b.String())
		prev = rep
	}
}

// screen writes one status screen.
func (d *demo) screen(ctx context.Context, w io.Writer, rep, prev *status.Report) {
	fmt.Fprintf(w, "Syncline demo: MariaDB %s (database %s) -> embedded Kafka %s -> ClickHouse %s\n",
		d.src.Addr(), shopDB, d.svc.Brokers[0], d.ch.Addr())
	fmt.Fprintf(w, "running %s, workload %d transactions/s (%d this run); log %s\n",
		formatAge(time.Since(d.began)), d.rate, d.shop.done.Load(), d.logPath)
	fmt.Fprintln(w, "Ctrl-C stops it; run it again to continue where it stopped.")
	fmt.Fprintln(w)

	var buf strings.Builder
	_ = rep.WriteText(&buf, prev)
	// The first lines of the report: task and capture.
	lines := strings.SplitN(buf.String(), "\n", 3)
	if len(lines) >= 2 {
		fmt.Fprintln(w, lines[1])
	}
	fmt.Fprintln(w)

	srcRows, err := d.shop.counts(ctx)
	if err != nil {
		srcRows = nil
	}
	tgtRows := d.target.counts(ctx)
	captured := capturedRows(d.obs)
	var group *status.Group
	for i := range rep.Groups {
		group = &rep.Groups[i]
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TABLE\tSTAGE\tSOURCE ROWS\tCAPTURED THIS RUN\tIN KAFKA\tCLICKHOUSE ROWS\tAPPLY LAG")
	for _, t := range shopTables {
		name := shopDB + "." + t
		stage, inKafka, lag := "waiting", "-", "-"
		for i, tb := range rep.Tables {
			if tb.Name != name {
				continue
			}
			stage = tb.Stage
			if stage == topics.StageSnapshot {
				stage = fmt.Sprintf("snapshot %s", formatThousands(tb.SnapshotRows))
			}
			inKafka = formatThousands(tb.End)
			if group != nil && i < len(group.Tables) {
				lag = formatThousands(group.Tables[i].Lag)
				if !group.Tables[i].Exact {
					lag = "~" + lag
				}
			}
		}
		src := "-"
		if n, ok := srcRows[name]; ok {
			src = formatThousands(n)
		}
		tgt := "-"
		if n, ok := tgtRows[name]; ok {
			tgt = formatThousands(n)
		}
		got := captured[name]
		if got == "" {
			got = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", name, stage, src, got, inKafka, tgt, lag)
	}
	_ = tw.Flush()
	fmt.Fprintln(w)
	fmt.Fprintln(w, "CAPTURED THIS RUN: r snapshot reads, + inserts, ~ updates, - deletes. IN KAFKA: topic offsets (with commit markers).")
	fmt.Fprintln(w, "CLICKHOUSE ROWS: live rows (FINAL, deletes left out). APPLY LAG: change events not yet written to ClickHouse.")
	if group == nil {
		fmt.Fprintln(w, "ClickHouse: this syncline cannot apply to ClickHouse yet (see the log); the target stays empty.")
	}
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
