package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"gopkg.in/yaml.v3"
)

// promtool is Prometheus's rule checker (Debian package prometheus).
const promtool = "/usr/bin/promtool"

// TestAlertRulesFire proves every shipped alert with Prometheus's own rule
// engine: promtool test rules runs testdata/alerts_test.yml, which must hold
// for every alert of deploy/prometheus/alerts.yml a case where it fires and
// one where it stays quiet.
func TestAlertRulesFire(t *testing.T) {
	if _, err := os.Stat(promtool); err != nil {
		t.Fatalf("promtool is missing (install the Debian package prometheus; .ci/deps does): %v", err)
	}
	rulesPath := repoPath("deploy", "prometheus", "alerts.yml")
	if out, err := exec.Command(promtool, "check", "rules", rulesPath).CombinedOutput(); err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}

	// The cases compare labels only: drop the annotations, whose text
	// promtool would compare too.
	var rules struct {
		Groups []struct {
			Name  string           `yaml:"name"`
			Rules []map[string]any `yaml:"rules"`
		} `yaml:"groups"`
	}
	data, err := os.ReadFile(rulesPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, &rules); err != nil {
		t.Fatal(err)
	}
	var alerts []string
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			delete(r, "annotations")
			if name, ok := r["alert"].(string); ok {
				alerts = append(alerts, name)
			}
		}
	}
	dir := t.TempDir()
	stripped, err := yaml.Marshal(rules)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "alerts.yml"), stripped, 0o600); err != nil {
		t.Fatal(err)
	}

	tests, err := os.ReadFile(filepath.Join("testdata", "alerts_test.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var cases struct {
		Tests []struct {
			AlertRuleTest []struct {
				AlertName string `yaml:"alertname"`
				ExpAlerts []any  `yaml:"exp_alerts"`
			} `yaml:"alert_rule_test"`
		} `yaml:"tests"`
	}
	if err := yaml.Unmarshal(tests, &cases); err != nil {
		t.Fatal(err)
	}
	fires, quiet := map[string]bool{}, map[string]bool{}
	for _, tc := range cases.Tests {
		for _, a := range tc.AlertRuleTest {
			if len(a.ExpAlerts) > 0 {
				fires[a.AlertName] = true
			} else {
				quiet[a.AlertName] = true
			}
		}
	}
	for _, name := range alerts {
		if !fires[name] || !quiet[name] {
			t.Errorf("alert %s: testdata/alerts_test.yml has no case where it fires (%v) or none where it stays quiet (%v)", name, fires[name], quiet[name])
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "alerts_test.yml"), tests, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(promtool, "test", "rules", "alerts_test.yml")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("promtool test rules: %v\n%s", err, out)
	}
}
