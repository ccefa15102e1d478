package event

import (
	"regexp"
	"strings"
)

// DefaultPrefix is the topic prefix used when none is given.
const DefaultPrefix = "syncline"

// Names derives every topic name of one task from its prefix.
type Names struct {
	Prefix string
}

// Table returns the topic of one source table: <prefix>.<db>.<table>, with
// characters Kafka does not allow replaced by '_'.
func (n Names) Table(db, table string) string {
	return n.Prefix + "." + sanitize(db) + "." + sanitize(table)
}

// SchemaChanges returns the schema-change (DDL) topic: the prefix itself.
func (n Names) SchemaChanges() string { return n.Prefix }

// Checkpoints returns the topic holding capture's checkpoints.
func (n Names) Checkpoints() string { return n.Prefix + ".__checkpoint" }

// DeadLetters returns the dead-letter topic of an apply group:
// <prefix>.__dlq.<group>, where apply sets aside the records it could not
// apply (--on-error dead-letter).
func (n Names) DeadLetters(group string) string { return n.Prefix + deadLetterInfix + group }

// DeadLetterGroup returns the apply group whose dead-letter topic topic is,
// and whether it is one of the prefix's.
func (n Names) DeadLetterGroup(topic string) (string, bool) {
	return strings.CutPrefix(topic, n.Prefix+deadLetterInfix)
}

// DeadLetterPattern returns a regular expression matching every dead-letter
// topic of the prefix.
func (n Names) DeadLetterPattern() string {
	return "^" + regexp.QuoteMeta(n.Prefix+deadLetterInfix)
}

// deadLetterInfix stands between the prefix and the group in a dead-letter
// topic's name.
const deadLetterInfix = ".__dlq."

// TablePattern returns a regular expression matching every table topic of
// the prefix and nothing else (not the schema-change or checkpoint topics).
func (n Names) TablePattern() string {
	return "^" + regexp.QuoteMeta(n.Prefix) + `\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$`
}

// KeySubject and ValueSubject return the registry subjects of a topic.
func KeySubject(topic string) string { return topic + "-key" }

// ValueSubject returns the registry subject of a topic's values.
func ValueSubject(topic string) string { return topic + "-value" }

// ValidPrefix reports whether a prefix can start topic names.
func ValidPrefix(p string) bool {
	return p != "" && len(p) <= 150 && sanitize(p) == p && !strings.Contains(p, ".") && p != "__"
}

// sanitize keeps [A-Za-z0-9_-] and replaces anything else (dots included,
// so the parts of a name stay apart) with '_'.
func sanitize(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '-':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}
