package apply

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"time"
)

// listTopicsTimeout bounds the topic listing of the start check: a Kafka
// that does not answer at once leaves the check to the connection.
const listTopicsTimeout = 5 * time.Second

// checkTarget runs Config.CheckTarget, retrying while the target is
// unreachable.
func (r *run) checkTarget(ctx context.Context) error {
	if r.cfg.CheckTarget == nil {
		return nil
	}
	dbs := r.targetDatabases(ctx)
	return r.retry.do(ctx, classTarget, "check the target", func(ctx context.Context) error {
		return r.cfg.CheckTarget(ctx, dbs)
	})
}

// targetDatabases returns the target databases of the table topics of the
// prefix that exist now and that apply selects, sorted; none when Kafka
// does not answer within listTopicsTimeout.
func (r *run) targetDatabases(ctx context.Context) []string {
	ctx, cancel := context.WithTimeout(ctx, listTopicsTimeout)
	defer cancel()
	listed, err := r.adm.ListTopics(ctx)
	if err != nil {
		r.log.Info("cannot list the table topics to check the target's privileges on their databases; checking the connection only", "error", err)
		return nil
	}
	pattern := regexp.MustCompile(r.cfg.names().TablePattern())
	seen := map[string]bool{}
	var dbs []string
	for _, topic := range listed.Names() {
		if !pattern.MatchString(topic) {
			continue
		}
		// <prefix>.<db>.<table>: the names as capture sanitized them.
		parts := strings.Split(strings.TrimPrefix(topic, r.cfg.Prefix+"."), ".")
		db, table := parts[0], parts[1]
		if strings.HasPrefix(db, "__") {
			continue // the dead-letter topics
		}
		if r.cfg.Tables != nil && !r.cfg.Tables.Match(db, table) {
			continue
		}
		if r.cfg.Mapping != nil {
			db = r.cfg.Mapping.Table(db, table).Database
		}
		if !seen[db] {
			seen[db] = true
			dbs = append(dbs, db)
		}
	}
	slices.Sort(dbs)
	return dbs
}
