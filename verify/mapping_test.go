package verify

import (
	"database/sql"
	"fmt"
	"slices"
	"testing"

	"github.com/syncline/syncline/schema"
	"github.com/syncline/syncline/testenv"
)

// TestVerifyMapping compares tables the task maps: renamed database,
// tables and columns, an omitted column and a row filter, against a target
// built by hand as such a task would have written it.
func TestVerifyMapping(t *testing.T) {
	src := testenv.Source(t)
	db := src.NewDatabase(t)
	srcDB := src.DB(t, db)
	tgt := testenv.Target(t)
	tdb := db + "_mapped"
	tgt.Exec(t, "CREATE DATABASE `"+tdb+"`")
	t.Cleanup(func() { tgt.Exec(t, "DROP DATABASE IF EXISTS `"+tdb+"`") })
	tgtDB := tgt.DB(t, tdb)
	exec := func(conn *sql.DB, queries ...string) {
		t.Helper()
		for _, q := range queries {
			if _, err := conn.Exec(q); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
		}
	}
	exec(srcDB,
		"CREATE TABLE people (id INT PRIMARY KEY, name VARCHAR(40), secret VARCHAR(40), age INT NOT NULL, born DATE)",
		"CREATE TABLE pets (id INT PRIMARY KEY, nick VARCHAR(20), weight DECIMAL(5,2), chip VARBINARY(8))")
	exec(tgtDB,
		"CREATE TABLE humans (id INT PRIMARY KEY, full_name VARCHAR(40), age INT NOT NULL, born DATE, _syncline_version BIGINT NOT NULL DEFAULT 0 INVISIBLE)",
		"CREATE TABLE animals (id INT PRIMARY KEY, nickname VARCHAR(20), weight DECIMAL(5,2), _syncline_version BIGINT NOT NULL DEFAULT 0 INVISIBLE)")
	adults := 0
	for i := 1; i <= 60; i++ {
		age := i % 40
		exec(srcDB, fmt.Sprintf("INSERT INTO people VALUES (%d, 'person %d', 'pw%d', %d, '19%02d-01-02')", i, i, i, age, i%100))
		exec(srcDB, fmt.Sprintf("INSERT INTO pets VALUES (%d, 'pet %d', %d.25, X'0102')", i, i, i))
		exec(tgtDB, fmt.Sprintf("INSERT INTO animals VALUES (%d, 'pet %d', %d.25)", i, i, i))
		if age >= 18 {
			adults++
			exec(tgtDB, fmt.Sprintf("INSERT INTO humans VALUES (%d, 'person %d', %d, '19%02d-01-02')", i, i, age, i%100))
		}
	}
	keepExtra := false
	cfg := testConfig(t, src.URL(""), tgt.URL(""), db+".*")
	cfg.ChunkRows = 25
	cfg.Map = func(st schema.Table) (Mapping, error) {
		table := st.Name
		switch table {
		case "people":
			return Mapping{
				Database: tdb, Table: "humans",
				Columns: map[string]string{"name": "full_name"}, Omit: []string{"secret"},
				// The source row in column order: id, name, secret, age, born.
				Filter:    func(row []any) bool { return row[3].(int32) >= 18 },
				KeepExtra: keepExtra,
			}, nil
		case "pets":
			return Mapping{Database: tdb, Table: "animals", Columns: map[string]string{"nick": "nickname"}, Omit: []string{"chip"}}, nil
		}
		return Mapping{}, nil
	}
	rep := run(t, cfg)
	if !rep.Equal() || table(t, rep, "people").Rows != int64(adults) || table(t, rep, "pets").Rows != 60 {
		t.Fatalf("want equal, %d people and 60 pets compared:\n%s", adults, text(rep))
	}
	if p := table(t, rep, "people"); p.TargetDatabase != tdb || p.TargetTable != "humans" {
		t.Errorf("people is reported as %s.%s in the target, want %s.humans", p.TargetDatabase, p.TargetTable, tdb)
	}

	// A renamed column changed, a filtered-out row present, an adult
	// missing, a pet's weight changed.
	exec(tgtDB, "UPDATE humans SET full_name = 'someone else' WHERE id = 20",
		"INSERT INTO humans VALUES (41, 'person 41', 1, '1941-01-02')",
		"DELETE FROM humans WHERE id = 30",
		"UPDATE animals SET weight = 0 WHERE id = 3")
	rep = run(t, cfg)
	var got []string
	for _, name := range []string{"people", "pets"} {
		for _, d := range table(t, rep, name).Differences {
			got = append(got, name+": "+d.String())
		}
	}
	want := []string{"people: different id=20: name", "people: missing id=30", "people: extra id=41", "pets: different id=3: weight"}
	if !slices.Equal(got, want) {
		t.Fatalf("differences %q, want %q\n%s", got, want, text(rep))
	}

	// A task that keeps deleted rows expects extra rows.
	keepExtra = true
	rep = run(t, cfg)
	if p := table(t, rep, "people"); p.Extra != 0 || p.Missing != 1 || p.Different != 1 {
		t.Fatalf("with KeepExtra:\n%s", text(rep))
	}
	keepExtra = false

	cfg.Repair = true
	rep = run(t, cfg)
	if !rep.Equal() || rep.Summary.Repaired != 4 {
		t.Fatalf("after --repair: %d repaired, want 4, and equal:\n%s", rep.Summary.Repaired, text(rep))
	}
	var secrets int
	if err := tgtDB.QueryRow("SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND COLUMN_NAME IN ('secret', 'name', 'chip')", tdb).Scan(&secrets); err != nil {
		t.Fatal(err)
	}
	if secrets != 0 {
		t.Errorf("repair added %d source columns the mapping leaves out", secrets)
	}
}
