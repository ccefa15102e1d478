package main

// Offline checks of the production stack: docker-compose.yml, Dockerfile and
// deploy/ (Kubernetes manifests, config files, systemd units, Prometheus
// configuration and alert rules, the Grafana dashboard). The syncline
// commands and flags they use are checked against the real command tree,
// and the metrics they query against the metrics capture and apply define.

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/urfave/cli/v2"
	"github.com/urfave/cli/v2/altsrc"
	"gopkg.in/yaml.v3"

	"github.com/syncline/syncline/apply"
	"github.com/syncline/syncline/capture"
)

// repoPath returns a path relative to the repository root.
func repoPath(parts ...string) string {
	return filepath.Join(append([]string{"..", ".."}, parts...)...)
}

// commandFlags returns the flags of a syncline command, by name.
func commandFlags(t *testing.T, name string) map[string]cli.Flag {
	t.Helper()
	for _, c := range newApp(io.Discard, io.Discard).Commands {
		if c.Name != name {
			continue
		}
		out := map[string]cli.Flag{}
		for _, f := range c.Flags {
			for _, n := range f.Names() {
				out[n] = f
			}
		}
		return out
	}
	t.Fatalf("syncline has no command %q", name)
	return nil
}

// isBoolFlag reports whether a flag takes no value.
func isBoolFlag(f cli.Flag) bool {
	switch f.(type) {
	case *altsrc.BoolFlag, *cli.BoolFlag:
		return true
	}
	return false
}

// checkArgs checks a syncline command line (without the program name): a
// known command and only its flags. It returns the command and the flag
// values.
func checkArgs(t *testing.T, where string, args []string) (string, map[string]string) {
	t.Helper()
	if len(args) == 0 {
		t.Errorf("%s: no syncline command", where)
		return "", nil
	}
	cmd := args[0]
	flags := commandFlags(t, cmd)
	values := map[string]string{}
	for i := 1; i < len(args); i++ {
		a := args[i]
		name, ok := strings.CutPrefix(a, "--")
		if !ok {
			t.Errorf("%s: syncline %s: unexpected argument %q", where, cmd, a)
			continue
		}
		name, value, hasValue := strings.Cut(name, "=")
		f, known := flags[name]
		if !known {
			t.Errorf("%s: syncline %s has no flag --%s", where, cmd, name)
			continue
		}
		if !hasValue && !isBoolFlag(f) {
			if i+1 == len(args) {
				t.Errorf("%s: --%s has no value", where, name)
				continue
			}
			i++
			value = args[i]
		}
		values[name] = value
	}
	return cmd, values
}

// checkEnv checks that every SYNCLINE_ variable sets a flag of cmd.
func checkEnv(t *testing.T, where, cmd string, names []string) {
	t.Helper()
	flags := commandFlags(t, cmd)
	for _, n := range names {
		if !strings.HasPrefix(n, envPrefix) || n == "SYNCLINE_KAFKA_SASL_PASSWORD" {
			continue
		}
		found := false
		for name := range flags {
			if envVar(name) == n {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: %s sets no flag of syncline %s", where, n, cmd)
		}
	}
}

// checkConfigData checks a --config file's content against cmd's flags and
// returns its values.
func checkConfigData(t *testing.T, where, cmd, data string) map[string]any {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	var flags []cli.Flag
	seen := map[cli.Flag]bool{}
	for _, f := range commandFlags(t, cmd) {
		if !seen[f] {
			seen[f] = true
			flags = append(flags, f)
		}
	}
	if _, err := readConfigFile(path, flags); err != nil {
		t.Errorf("%s: not a valid config file of syncline %s: %v", where, cmd, err)
	}
	var values map[string]any
	_ = yaml.Unmarshal([]byte(data), &values)
	return values
}

// metricsPort returns the port of a --metrics-addr value.
func metricsPort(t *testing.T, where, addr string) int {
	t.Helper()
	_, port, ok := strings.Cut(addr, ":")
	p, err := strconv.Atoi(port)
	if !ok || err != nil {
		t.Errorf("%s: metrics-addr %q has no port", where, addr)
	}
	return p
}

type composeService struct {
	Image       string            `yaml:"image"`
	Build       any               `yaml:"build"`
	Command     []string          `yaml:"command"`
	Environment map[string]string `yaml:"environment"`
	Volumes     []string          `yaml:"volumes"`
}

func TestDockerCompose(t *testing.T) {
	data, err := os.ReadFile(repoPath("docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var compose struct {
		Services map[string]composeService `yaml:"services"`
		Volumes  map[string]any            `yaml:"volumes"`
	}
	if err := yaml.Unmarshal(data, &compose); err != nil {
		t.Fatal(err)
	}
	images := map[string]string{
		"mysql": "mysql:8", "kafka": "apache/kafka:", "schema-registry": "confluentinc/cp-schema-registry:",
		"clickhouse": "clickhouse/clickhouse-server:", "postgres": "postgres:", "prometheus": "prom/prometheus:",
		"grafana": "grafana/grafana:",
	}
	for name, prefix := range images {
		s, ok := compose.Services[name]
		if !ok {
			t.Errorf("no service %s", name)
		} else if !strings.HasPrefix(s.Image, prefix) || strings.HasSuffix(s.Image, ":latest") {
			t.Errorf("service %s: image %q, want a pinned %s...", name, s.Image, prefix)
		}
	}
	for _, setting := range []string{"--log-bin", "--binlog-format=ROW", "--binlog-row-image=FULL", "--binlog-row-metadata=FULL", "--gtid-mode=ON", "--enforce-gtid-consistency=ON", "--server-id="} {
		if !slices.ContainsFunc(compose.Services["mysql"].Command, func(a string) bool { return strings.HasPrefix(a, setting) }) {
			t.Errorf("mysql is not configured for CDC: no %s", setting)
		}
	}
	kafka := compose.Services["kafka"].Environment
	if !strings.Contains(kafka["KAFKA_PROCESS_ROLES"], "controller") || kafka["KAFKA_CONTROLLER_QUORUM_VOTERS"] == "" {
		t.Errorf("kafka is not in KRaft mode: %v", kafka)
	}
	for _, s := range compose.Services {
		for _, v := range s.Volumes {
			if src, _, _ := strings.Cut(v, ":"); strings.HasPrefix(src, "./") {
				if _, err := os.Stat(repoPath(src)); err != nil {
					t.Errorf("volume %s: %v", v, err)
				}
			} else if _, ok := compose.Volumes[src]; !ok {
				t.Errorf("volume %s is not declared", v)
			}
		}
	}

	// The syncline services: precheck, one capture, an apply per target.
	prom := readPrometheusConfig(t)
	var captures int
	groups, targets := map[string]bool{}, map[string]bool{}
	for name, s := range compose.Services {
		if s.Image != "syncline:latest" {
			continue
		}
		if s.Build == nil {
			t.Errorf("%s: not built from the Dockerfile", name)
		}
		where := "docker-compose.yml service " + name
		cmd, values := checkArgs(t, where, s.Command)
		checkEnv(t, where, cmd, slices.Collect(mapsKeys(s.Environment)))
		switch cmd {
		case "capture":
			captures++
			if values[flagServerID] == "" || s.Environment["SYNCLINE_SOURCE"] == "" {
				t.Errorf("%s: capture needs --server-id and SYNCLINE_SOURCE", where)
			}
		case "apply":
			groups[values[flagGroup]] = true
			scheme, _, _ := strings.Cut(s.Environment["SYNCLINE_TARGET"], "://")
			targets[scheme] = true
		case "precheck":
			continue
		default:
			t.Errorf("%s: runs syncline %s", where, cmd)
		}
		want := fmt.Sprintf("%s:%d", name, metricsPort(t, where, values[flagMetricsAddr]))
		if !slices.Contains(prom.targets, want) {
			t.Errorf("%s: Prometheus does not scrape %s (it scrapes %v)", where, want, prom.targets)
		}
	}
	if captures != 1 || len(groups) != 2 || !targets["clickhouse"] || !targets["postgres"] {
		t.Errorf("%d captures, apply groups %v to %v; want one capture and an apply (own group) for clickhouse and postgres", captures, groups, targets)
	}
}

func mapsKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// prometheusConfig is what the tests need of prometheus.yml.
type prometheusConfig struct {
	jobs, targets, ruleFiles []string
}

func readPrometheusConfig(t *testing.T) prometheusConfig {
	t.Helper()
	data, err := os.ReadFile(repoPath("deploy", "prometheus", "prometheus.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		RuleFiles     []string `yaml:"rule_files"`
		ScrapeConfigs []struct {
			JobName       string `yaml:"job_name"`
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		t.Fatal(err)
	}
	out := prometheusConfig{ruleFiles: cfg.RuleFiles}
	for _, sc := range cfg.ScrapeConfigs {
		out.jobs = append(out.jobs, sc.JobName)
		for _, st := range sc.StaticConfigs {
			out.targets = append(out.targets, st.Targets...)
		}
	}
	return out
}

// knownMetrics returns the names of the metrics syncline serves: capture's,
// apply's, and the Go and process collectors' (histograms with their
// _bucket, _sum and _count series).
func knownMetrics(t *testing.T) map[string]bool {
	t.Helper()
	names := map[string]bool{"up": true}
	d := descNames{names: names}
	capture.NewMetrics(d)
	apply.NewMetrics(d)
	families, err := newObserver().reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		names[f.GetName()] = true
	}
	return names
}

// descNames is a prometheus.Registerer that only records metric names.
type descNames struct{ names map[string]bool }

var fqName = regexp.MustCompile(`fqName: "([^"]+)"`)

func (d descNames) Register(c prometheus.Collector) error {
	ch := make(chan *prometheus.Desc, 64)
	go func() {
		c.Describe(ch)
		close(ch)
	}()
	for desc := range ch {
		if m := fqName.FindStringSubmatch(desc.String()); m != nil {
			for _, suffix := range []string{"", "_bucket", "_sum", "_count"} {
				d.names[m[1]+suffix] = true
			}
		}
	}
	return nil
}

func (d descNames) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		_ = d.Register(c)
	}
}

func (descNames) Unregister(prometheus.Collector) bool { return false }

// metricName matches the metric names of a PromQL expression well enough
// for the expressions of deploy/: syncline_, process_, go_ and up.
var metricName = regexp.MustCompile(`\b(syncline_[a-z_]+|process_[a-z_]+|go_[a-z_]+|up)\b`)

// checkExpr checks that a PromQL expression names known metrics only.
func checkExpr(t *testing.T, where, expr string, known map[string]bool) {
	t.Helper()
	if strings.Count(expr, "(") != strings.Count(expr, ")") || strings.Count(expr, "{") != strings.Count(expr, "}") {
		t.Errorf("%s: unbalanced expression %q", where, expr)
	}
	names := metricName.FindAllString(expr, -1)
	if len(names) == 0 {
		t.Errorf("%s: expression %q names no metric", where, expr)
	}
	for _, n := range names {
		if !known[n] {
			t.Errorf("%s: expression %q names %s, which syncline does not serve", where, expr, n)
		}
	}
}

func TestGrafanaDashboard(t *testing.T) {
	data, err := os.ReadFile(repoPath("deploy", "grafana", "dashboards", "syncline.json"))
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		UID    string `json:"uid"`
		Title  string `json:"title"`
		Panels []struct {
			Title   string `json:"title"`
			Type    string `json:"type"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(data, &dash); err != nil {
		t.Fatalf("dashboard JSON: %v", err)
	}
	if dash.UID == "" || dash.Title == "" {
		t.Fatalf("dashboard without uid or title")
	}
	known := knownMetrics(t)
	used := map[string]bool{}
	queries := 0
	for _, p := range dash.Panels {
		if p.Type != "row" && len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, q := range p.Targets {
			queries++
			checkExpr(t, "panel "+p.Title, q.Expr, known)
			for _, n := range metricName.FindAllString(q.Expr, -1) {
				used[strings.TrimSuffix(n, "_bucket")] = true
			}
		}
	}
	// Every figure capture and apply serve is on the dashboard.
	for _, n := range []string{
		"syncline_capture_rows_total", "syncline_capture_bytes_total", "syncline_capture_delay_seconds",
		"syncline_capture_snapshot_rows", "syncline_capture_snapshot_rows_estimated", "syncline_capture_transactions_total",
		"syncline_capture_tables_parked", "syncline_apply_delay_seconds", "syncline_apply_rows_total", "syncline_apply_batch_rows", "syncline_apply_write_seconds",
		"syncline_apply_retries_total", "syncline_apply_dead_letters_total", "syncline_apply_schema_changes_total",
	} {
		if !known[n] {
			t.Errorf("%s is no longer served: update this test and the dashboard", n)
		}
		if !used[n] {
			t.Errorf("the dashboard does not show %s", n)
		}
	}
	if queries < 10 {
		t.Errorf("%d queries in the dashboard", queries)
	}
	// Grafana finds it through the provisioning the compose file mounts.
	for _, f := range []string{"dashboards/syncline.yml", "datasources/prometheus.yml"} {
		var v map[string]any
		b, err := os.ReadFile(repoPath("deploy", "grafana", "provisioning", f))
		if err == nil {
			err = yaml.Unmarshal(b, &v)
		}
		if err != nil || v["apiVersion"] == nil {
			t.Errorf("grafana provisioning %s: %v", f, err)
		}
	}
}

// alertRules is the format of a Prometheus rule file.
type alertRules struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Expr        string            `yaml:"expr"`
			For         string            `yaml:"for"`
			Labels      map[string]string `yaml:"labels"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

func TestAlertRules(t *testing.T) {
	data, err := os.ReadFile(repoPath("deploy", "prometheus", "alerts.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var rules alertRules
	if err := yaml.Unmarshal(data, &rules); err != nil {
		t.Fatal(err)
	}
	known := knownMetrics(t)
	prom := readPrometheusConfig(t)
	jobRef := regexp.MustCompile(`job="([^"]+)"`)
	alerts := map[string]bool{}
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			where := "alert " + r.Alert
			if r.Alert == "" || alerts[r.Alert] {
				t.Errorf("alert %q: empty or repeated name", r.Alert)
			}
			alerts[r.Alert] = true
			checkExpr(t, where, r.Expr, known)
			if r.For != "" {
				if _, err := time.ParseDuration(r.For); err != nil {
					t.Errorf("%s: for %q: %v", where, r.For, err)
				}
			}
			if s := r.Labels["severity"]; s != "critical" && s != "warning" {
				t.Errorf("%s: severity %q", where, s)
			}
			if r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
				t.Errorf("%s: no summary or description", where)
			}
			for _, m := range jobRef.FindAllStringSubmatch(r.Expr, -1) {
				if !slices.Contains(prom.jobs, m[1]) {
					t.Errorf("%s: job %q is not scraped (jobs %v)", where, m[1], prom.jobs)
				}
			}
		}
	}
	for _, want := range []string{"SynclineCaptureDown", "SynclineApplyDown", "SynclineCaptureDelayHigh", "SynclineApplyDelayHigh"} {
		if !alerts[want] {
			t.Errorf("no alert %s", want)
		}
	}
	if !slices.Contains(prom.ruleFiles, "/etc/prometheus/alerts.yml") {
		t.Errorf("prometheus.yml does not load the alert rules: %v", prom.ruleFiles)
	}

	// The Kubernetes PrometheusRule holds the same rules.
	docs := readManifests(t, "monitoring.yaml")
	var found bool
	for _, d := range docs {
		if d["kind"] != "PrometheusRule" {
			continue
		}
		found = true
		var fromFile, fromRule any
		_ = yaml.Unmarshal(data, &fromFile)
		b, _ := yaml.Marshal(d["spec"])
		_ = yaml.Unmarshal(b, &fromRule)
		if !reflect.DeepEqual(fromFile, fromRule) {
			t.Errorf("deploy/k8s/monitoring.yaml's PrometheusRule differs from deploy/prometheus/alerts.yml")
		}
	}
	if !found {
		t.Errorf("deploy/k8s/monitoring.yaml has no PrometheusRule")
	}
}

// readManifests decodes every document of a file of deploy/k8s.
func readManifests(t *testing.T, name string) []map[string]any {
	t.Helper()
	f, err := os.Open(repoPath("deploy", "k8s", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := yaml.NewDecoder(f)
	var docs []map[string]any
	for {
		var d map[string]any
		err := dec.Decode(&d)
		if err == io.EOF {
			return docs
		}
		if err != nil {
			t.Fatalf("deploy/k8s/%s: %v", name, err)
		}
		if d != nil {
			docs = append(docs, d)
		}
	}
}

// k8sWorkload is what the test needs of a Deployment or StatefulSet.
type k8sWorkload struct {
	Kind     string `yaml:"kind"`
	Metadata struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Spec struct {
		Replicas *int `yaml:"replicas"`
		Strategy struct {
			Type string `yaml:"type"`
		} `yaml:"strategy"`
		Template struct {
			Spec struct {
				SecurityContext struct {
					RunAsNonRoot bool `yaml:"runAsNonRoot"`
				} `yaml:"securityContext"`
				Containers []struct {
					Name  string   `yaml:"name"`
					Image string   `yaml:"image"`
					Args  []string `yaml:"args"`
					Env   []struct {
						Name      string `yaml:"name"`
						ValueFrom struct {
							SecretKeyRef struct {
								Name string `yaml:"name"`
								Key  string `yaml:"key"`
							} `yaml:"secretKeyRef"`
							FieldRef struct {
								FieldPath string `yaml:"fieldPath"`
							} `yaml:"fieldRef"`
						} `yaml:"valueFrom"`
					} `yaml:"env"`
					Ports []struct {
						Name          string `yaml:"name"`
						ContainerPort int    `yaml:"containerPort"`
					} `yaml:"ports"`
					LivenessProbe  k8sProbe `yaml:"livenessProbe"`
					ReadinessProbe k8sProbe `yaml:"readinessProbe"`
				} `yaml:"containers"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

type k8sProbe struct {
	HTTPGet struct {
		Path string `yaml:"path"`
		Port string `yaml:"port"`
	} `yaml:"httpGet"`
}

func TestKubernetesManifests(t *testing.T) {
	var kust struct {
		Resources []string `yaml:"resources"`
	}
	data, err := os.ReadFile(repoPath("deploy", "k8s", "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, &kust); err != nil {
		t.Fatal(err)
	}
	configs := map[string]string{}
	secrets := map[string]map[string]any{}
	var workloads []k8sWorkload
	for _, res := range append(kust.Resources, "monitoring.yaml") {
		for _, d := range readManifests(t, res) {
			kind, _ := d["kind"].(string)
			meta, _ := d["metadata"].(map[string]any)
			if kind == "" || d["apiVersion"] == nil || meta == nil || meta["name"] == nil {
				t.Errorf("deploy/k8s/%s: a document without apiVersion, kind or metadata.name", res)
				continue
			}
			switch kind {
			case "ConfigMap":
				for k, v := range d["data"].(map[string]any) {
					configs[k] = v.(string)
				}
			case "Secret":
				secrets[meta["name"].(string)] = d["stringData"].(map[string]any)
			case "Deployment", "StatefulSet":
				var w k8sWorkload
				b, _ := yaml.Marshal(d)
				if err := yaml.Unmarshal(b, &w); err != nil {
					t.Fatal(err)
				}
				workloads = append(workloads, w)
			}
		}
	}

	commands := map[string]int{}
	for _, w := range workloads {
		where := w.Kind + " " + w.Metadata.Name
		if !w.Spec.Template.Spec.SecurityContext.RunAsNonRoot {
			t.Errorf("%s: not runAsNonRoot", where)
		}
		for _, c := range w.Spec.Template.Spec.Containers {
			cmd, values := checkArgs(t, where, c.Args)
			commands[cmd]++
			var env []string
			for _, e := range c.Env {
				env = append(env, e.Name)
				if f := e.ValueFrom.FieldRef.FieldPath; f != "" {
					if f != "metadata.name" {
						t.Errorf("%s: %s takes the pod's %s; only metadata.name is expected", where, e.Name, f)
					}
					continue
				}
				ref := e.ValueFrom.SecretKeyRef
				if _, ok := secrets[ref.Name][ref.Key]; !ok {
					t.Errorf("%s: %s refers to secret %s key %q, which deploy/k8s does not define", where, e.Name, ref.Name, ref.Key)
				}
			}
			checkEnv(t, where, cmd, env)
			file := strings.TrimPrefix(values[flagConfig], "/etc/syncline/")
			content, ok := configs[file]
			if !ok {
				t.Errorf("%s: --config %s is not in the ConfigMap", where, values[flagConfig])
				continue
			}
			cfg := checkConfigData(t, where+" "+file, cmd, content)
			port := metricsPort(t, where, fmt.Sprint(cfg[flagMetricsAddr]))
			if len(c.Ports) != 1 || c.Ports[0].Name != "metrics" || c.Ports[0].ContainerPort != port {
				t.Errorf("%s: ports %+v, want one named metrics on %d (its --metrics-addr)", where, c.Ports, port)
			}
			if c.LivenessProbe.HTTPGet.Path != "/healthz" || c.ReadinessProbe.HTTPGet.Path != "/readyz" ||
				c.LivenessProbe.HTTPGet.Port != "metrics" || c.ReadinessProbe.HTTPGet.Port != "metrics" {
				t.Errorf("%s: probes %+v %+v, want /healthz and /readyz on the metrics port", where, c.LivenessProbe, c.ReadinessProbe)
			}
			switch cmd {
			case "capture":
				// One capture: a StatefulSet of one, never two pods at once.
				if w.Kind != "StatefulSet" || w.Spec.Replicas == nil || *w.Spec.Replicas != 1 {
					t.Errorf("%s: capture must be a StatefulSet with replicas: 1", where)
				}
				if cfg[flagServerID] == nil {
					t.Errorf("%s: capture's config sets no server-id", where)
				}
			case "apply":
				if w.Kind != "Deployment" || cfg[flagGroup] == nil {
					t.Errorf("%s: apply must be a Deployment with a group", where)
				}
			}
		}
	}
	if commands["capture"] != 1 || commands["apply"] < 1 {
		t.Errorf("workloads run %v; want one capture and applies", commands)
	}
}

// TestSystemdUnits checks the units' command lines and the example config
// and environment files they read.
func TestSystemdUnits(t *testing.T) {
	units, err := filepath.Glob(repoPath("deploy", "systemd", "*.service"))
	if err != nil || len(units) < 2 {
		t.Fatalf("systemd units: %v %v", units, err)
	}
	for _, unit := range units {
		f, err := os.Open(unit)
		if err != nil {
			t.Fatal(err)
		}
		sections := map[string]map[string][]string{}
		section := ""
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			switch {
			case line == "" || strings.HasPrefix(line, "#"):
			case strings.HasPrefix(line, "["):
				section = strings.Trim(line, "[]")
				sections[section] = map[string][]string{}
			default:
				k, v, ok := strings.Cut(line, "=")
				if !ok || section == "" {
					t.Errorf("%s: bad line %q", unit, line)
					continue
				}
				sections[section][k] = append(sections[section][k], v)
			}
		}
		f.Close()
		where := filepath.Base(unit)
		svc := sections["Service"]
		if svc == nil || sections["Unit"] == nil || sections["Install"] == nil {
			t.Errorf("%s: sections %v", where, slices.Collect(mapsKeys(sections)))
			continue
		}
		instance := "clickhouse" // the example instance of templates
		var cmd string
		for _, key := range []string{"ExecStartPre", "ExecStart"} {
			for _, line := range svc[key] {
				fields := strings.Fields(strings.ReplaceAll(line, "%i", instance))
				if len(fields) < 2 || fields[0] != "/usr/local/bin/syncline" {
					t.Errorf("%s: %s=%s does not run /usr/local/bin/syncline", where, key, line)
					continue
				}
				c, values := checkArgs(t, where, fields[1:])
				if key == "ExecStart" {
					cmd = c
				}
				name := strings.TrimPrefix(values[flagConfig], "/etc/syncline/")
				data, err := os.ReadFile(repoPath("deploy", "config", name))
				if err != nil {
					t.Errorf("%s: --config %s has no example in deploy/config: %v", where, values[flagConfig], err)
					continue
				}
				checkConfigData(t, where+" "+name, c, string(data))
			}
		}
		for _, envFile := range svc["EnvironmentFile"] {
			name := strings.TrimPrefix(strings.ReplaceAll(envFile, "%i", instance), "/etc/syncline/")
			data, err := os.ReadFile(repoPath("deploy", "config", name+".example"))
			if err != nil {
				t.Errorf("%s: EnvironmentFile %s has no example in deploy/config: %v", where, envFile, err)
				continue
			}
			var names []string
			for line := range strings.Lines(string(data)) {
				if k, _, ok := strings.Cut(strings.TrimSpace(line), "="); ok && !strings.HasPrefix(k, "#") {
					names = append(names, k)
				}
			}
			checkEnv(t, where+" "+name, cmd, names)
		}
		prevent := strings.Fields(strings.Join(svc["RestartPreventExitStatus"], " "))
		if !slices.Contains(prevent, strconv.Itoa(exitUsage)) || !slices.Contains(prevent, strconv.Itoa(exitPermanent)) || !slices.Contains(svc["KillSignal"], "SIGTERM") {
			t.Errorf("%s: want RestartPreventExitStatus=%d %d (usage errors, permanent faults) and KillSignal=SIGTERM", where, exitUsage, exitPermanent)
		}
	}
}

func TestDockerfile(t *testing.T) {
	data, err := os.ReadFile(repoPath("Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	froms := regexp.MustCompile(`(?m)^FROM `).FindAllString(text, -1)
	if len(froms) < 2 || !strings.Contains(text, "COPY --from=") {
		t.Errorf("Dockerfile is not multi-stage")
	}
	if !regexp.MustCompile(`(?m)^USER nonroot`).MatchString(text) || !strings.Contains(text, "CGO_ENABLED=0") || !strings.Contains(text, "./cmd/syncline") {
		t.Errorf("Dockerfile must build ./cmd/syncline statically and run as nonroot")
	}
}
