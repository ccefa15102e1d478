// Package rules says what of a table's changes a sync task keeps: the
// operations (Ops), and the rows, by a row filter written as a MySQL WHERE
// condition (Expr, bound to a table shape as a Filter).
//
//	e, err := rules.ParseExpr("status <> 'test' AND total >= 10.5 AND region IN ('eu','us')")
//	f, err := e.Bind(table.Columns)
//	if f.Match(row) { ... }
//
// ParseExpr parses with TiDB's MySQL parser and rejects what is not one
// deterministic condition. Bind resolves the columns and the types, and
// compiles the condition into closures: Match neither parses nor decides
// types per row, and the usual conditions (columns compared with literals,
// IN lists, LIKE on strings, IS NULL, logic) allocate nothing per row.
// Decimal arithmetic, decimals of more than 18 digits, strings read as
// numbers, LIKE on numbers and dates, and LOWER/UPPER that change the text
// allocate.
// The row values are those of apply.Change: the Avro-native Go types, and
// schema's row values (DATETIME as int64 microseconds) too.
//
// # Semantics
//
// A filter selects the rows `SELECT ... WHERE <condition>` selects on
// MariaDB with its default settings (sql_mode without NO_BACKSLASH_ESCAPES,
// time_zone '+00:00'); the package's tests check this against a real
// MariaDB for some 350 conditions on a table of every column type. In
// particular:
//
//   - Three-valued logic: AND, OR, XOR, NOT (and !), IS [NOT] NULL,
//     IS [NOT] TRUE/FALSE; NULL counts as false in the end.
//   - Comparisons = <> != < <= > >= and the NULL-safe <=>, IN and NOT IN
//     (NULL in the list as in MySQL), [NOT] BETWEEN, [NOT] LIKE with % and _,
//     the \ escape and ESCAPE.
//   - Arithmetic + - * / DIV % MOD and unary minus, exact on integers and
//     decimals (a DECIMAL column arrives as *big.Rat, as do BIGINT UNSIGNED
//     values), in doubles when a double is involved. As in MariaDB, a
//     quotient has 4 more fractional digits than its dividend and is
//     rounded to them when compared (so 1/3 = 0.3333).
//   - Literals: integers, decimals (exact), floats, strings, hexadecimal and
//     bit literals, NULL, TRUE, FALSE, DATE '...', TIME '...',
//     TIMESTAMP '...'; COLLATE with the collations listed by its error.
//   - Functions: LOWER/LCASE, UPPER/UCASE, LENGTH/OCTET_LENGTH,
//     CHAR_LENGTH/CHARACTER_LENGTH, COALESCE, IFNULL, ABS, DATE, YEAR, MONTH,
//     DAY/DAYOFMONTH.
//
// Types follow MariaDB: strings compare as strings in their collation
// (binary strings bytewise); numbers exactly unless a double is involved; a
// string compared with a number as a number (exactly against an integer, or
// a decimal compared by an operator with a string literal; as a double
// otherwise), its leading numeric part as MySQL reads it; ENUM and SET
// compared with numbers by their index and bit mask; a date, datetime or
// time compared with a string literal reads the literal as one (MySQL's
// formats: '2024-02-29', '2024-02-29 10:30:00.5', '20240229', '24-2-29',
// '10:30', '-1 02:03:04'...), and a DATE against a DATETIME compares as
// datetimes. TIMESTAMP values and literals are read in UTC, as with
// time_zone '+00:00'. MySQL's ODBC quirk is kept: in WHERE, a NOT NULL DATE
// or DATETIME column holding the zero date IS NULL.
//
// # Collations
//
// The schema carries a column's charset, not its collation, so a string
// column is compared in its charset's default collation on MariaDB:
// utf8mb4_general_ci for utf8mb4 and utf8mb3 (and for columns of unknown
// charset), latin1_swedish_ci for latin1. Their weights are the server's own
// (collation_tables.go, generated from MariaDB by TestGenerateCollationTables
// and checked against it by the tests): case-insensitive, most accents
// ignored ('Zürich' = 'zurich'), 'ß' = 's', every character beyond the BMP
// equal to every other; trailing spaces are ignored by = and < (PAD SPACE)
// but count in LIKE. A column with another collation (utf8mb4_bin,
// utf8mb4_unicode_ci, MySQL 8's NO PAD utf8mb4_0900_ai_ci) is compared as if
// it had the default one; write `col COLLATE utf8mb4_bin = 'x'` to compare
// code points. Other charsets use utf8mb4_general_ci's weights, an
// approximation of their own general collations. LOWER and UPPER use Go's
// Unicode simple case mapping, which may differ from the server's on rare
// characters.
//
// # Conservative rejections
//
// Bind rejects what MySQL accepts but rarely means what it seems: a number
// compared with a string literal that is not a number ('5x', ”), a date or
// time compared with a number, a non-literal string, or a literal that is not
// a valid date or time, arithmetic on dates, strings used as conditions, and
// IN lists or COALESCE arguments that mix strings and numbers. JSON (MySQL's
// JSON type; MariaDB's JSON is text) and spatial columns can only be tested
// with IS [NOT] NULL. Subqueries, variables, non-deterministic functions
// (NOW(), RAND(), ...), aggregates, CASE, CAST, REGEXP and other functions
// are rejected by ParseExpr.
//
// # Known differences
//
//   - Where MySQL raises an error while evaluating (an integer result out
//     of the range of BIGINT, or of BIGINT UNSIGNED when an operand is
//     unsigned, as in u - 1 for u = 0), the filter takes NULL: the row is
//     not kept.
//   - Dates with a zero month or day ('2024-02-00') are carried as the zero
//     date by the event contract, so they compare as '0000-00-00', which is
//     less than every date.
//   - Precision at the edges: integers beyond 2^53 compared with doubles,
//     and decimals of more than about 16 significant digits compared with
//     strings, may differ from MariaDB's own choice between exact and double
//     comparison; division is exact until its comparison rounds it.
//   - A binary string compared with text compares the text's UTF-8 bytes,
//     whatever the text column's charset.
package rules
