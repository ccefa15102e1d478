package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/syncline/syncline/testenv"
	"github.com/syncline/syncline/verify"
)

// TestVerifyCommand runs syncline verify against a MariaDB target built as
// apply builds it: equal (status 0), then changed behind apply's back
// (status 1, the rows named in text and JSON), then --repair (status 0),
// then equal again.
func TestVerifyCommand(t *testing.T) {
	src := testenv.Source(t)
	db := src.NewDatabase(t)
	tgt := testenv.Target(t)
	tgt.Exec(t, "CREATE DATABASE `"+db+"`")
	t.Cleanup(func() { tgt.Exec(t, "DROP DATABASE IF EXISTS `"+db+"`") })
	src.Exec(t, "CREATE TABLE `"+db+"`.orders (id INT PRIMARY KEY, customer VARCHAR(40) NOT NULL, amount DECIMAL(10,2))")
	tgt.Exec(t, "CREATE TABLE `"+db+"`.orders (id INT PRIMARY KEY, customer VARCHAR(40) NOT NULL, amount DECIMAL(10,2), "+
		"_syncline_version BIGINT NOT NULL DEFAULT 0 INVISIBLE) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin")
	var rows []string
	for i := 1; i <= 40; i++ {
		rows = append(rows, fmt.Sprintf("(%d, 'c%d', %d.50)", i, i, i))
	}
	for _, s := range []*testenv.MySQL{src, tgt} {
		s.Exec(t, "INSERT INTO `"+db+"`.orders VALUES "+strings.Join(rows, ", "))
	}
	args := []string{"verify", "--source", src.URL(""), "--target", tgt.URL(""), "--tables", db + ".*",
		"--chunk-rows", "10", "--recheck-wait", "100ms", "--recheck-attempts", "1", "--log-level", "warn"}

	code, out, errOut := runCLI(t, args...)
	if code != exitOK || !strings.Contains(out, "EQUAL: 1 table (1 equal") {
		t.Fatalf("equal tables: status %d\n%s%s", code, out, errOut)
	}

	tgt.Exec(t, "UPDATE `"+db+"`.orders SET customer = 'someone' WHERE id = 7")
	tgt.Exec(t, "DELETE FROM `"+db+"`.orders WHERE id = 5")
	tgt.Exec(t, "INSERT INTO `"+db+"`.orders (id, customer, amount) VALUES (1001, 'ghost', 0)")
	code, out, errOut = runCLI(t, args...)
	for _, want := range []string{"missing id=5", "different id=7: customer", "extra id=1001", "NOT EQUAL"} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if code != exitFailed || !strings.Contains(errOut, "syncline: verify: 3 rows differ in 1 of 1 table\n") {
		t.Fatalf("changed target: status %d, want %d\n%s%s", code, exitFailed, out, errOut)
	}
	if strings.Contains(out+errOut, src.URL("")) || strings.Contains(out+errOut, tgt.URL("")) {
		t.Errorf("the output shows a password:\n%s%s", out, errOut)
	}

	code, out, _ = runCLI(t, append(args, "--format", "json")...)
	var rep verify.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("--format json: %v\n%s", err, out)
	}
	if code != exitFailed || len(rep.Tables) != 1 || rep.Tables[0].Missing != 1 || rep.Tables[0].Extra != 1 ||
		rep.Tables[0].Different != 1 || rep.Tables[0].Result != verify.ResultDifferent || len(rep.Tables[0].Differences) != 3 {
		t.Fatalf("--format json: status %d\n%s", code, out)
	}

	code, out, errOut = runCLI(t, append(args, "--repair")...)
	if code != exitOK || !strings.Contains(out, "3 rows repaired") {
		t.Fatalf("--repair: status %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = runCLI(t, args...)
	if code != exitOK {
		t.Fatalf("after --repair: status %d\n%s%s", code, out, errOut)
	}
}

func TestVerifyUsageErrors(t *testing.T) {
	src := "mysql://capture:" + password + "@127.0.0.1:1/"
	tgt := "postgres://u:" + password + "@127.0.0.1:1/db"
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"verify", "--target", tgt, "--tables", "shop.*"}, "missing required flag --source"},
		{[]string{"verify", "--source", src, "--tables", "shop.*"}, "missing required flag --target"},
		{[]string{"verify", "--source", src, "--target", tgt}, "missing required flag --tables"},
		{[]string{"verify", "--source", tgt, "--target", tgt, "--tables", "shop.*"}, "source: "},
		{[]string{"verify", "--source", src, "--target", "oracle://h/", "--tables", "shop.*"}, `--target: bad connection string`},
		{[]string{"verify", "--source", src, "--target", tgt, "--tables", "shop"}, "--tables/--exclude-tables"},
		{[]string{"verify", "--source", src, "--target", tgt, "--tables", "shop.*", "--format", "xml"}, `--format "xml"`},
		{[]string{"verify", "--source", src, "--target", tgt, "--tables", "shop.*", "--chunk-rows", "0"}, "--chunk-rows 0"},
		{[]string{"verify", "--source", src, "--target", tgt, "--tables", "shop.*", "--rate-limit", "-1"}, "rate-limit: -1"},
		{[]string{"verify", "--source", src, "--target", tgt, "--tables", "shop.*", "--recheck-attempts", "-1"}, "--recheck-attempts -1"},
	}
	for _, tc := range tests {
		code, out, errOut := runCLI(t, tc.args...)
		if code != exitUsage || !strings.Contains(errOut, tc.want) || !strings.Contains(errOut, "syncline verify --help") {
			t.Errorf("%q: status %d, stderr %q, want 2 and %q", tc.args, code, errOut, tc.want)
		}
		if strings.Contains(out+errOut, password) {
			t.Errorf("%q: the output shows the password: %s%s", tc.args, out, errOut)
		}
	}
}
