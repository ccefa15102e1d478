package mysqlvalue

import (
	"fmt"
	"github.com/syncline/syncline/schema"
	"strings"

	"golang.org/x/text/encoding"
	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/encoding/korean"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/traditionalchinese"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/encoding/unicode/utf32"
)

// binaryCollation is the collation id of the "binary" charset: a string
// column with it is BINARY, VARBINARY or a BLOB.
const binaryCollation = 63

// charsetOfCollation returns the charset of a collation id, covering the
// collations of MySQL 5.7/8.x and MariaDB 10.x/11.x.
func charsetOfCollation(id uint64) (string, bool) {
	switch {
	case id < 100:
		cs := lowCollations[id]
		return cs, cs != ""
	case id >= 101 && id <= 124:
		return "utf16", true
	case id >= 128 && id <= 159:
		return "ucs2", true
	case id >= 160 && id <= 183:
		return "utf32", true
	case id >= 192 && id <= 215, id == 223:
		return "utf8mb3", true
	case id >= 224 && id <= 247:
		return "utf8mb4", true
	case id >= 248 && id <= 250: // MySQL 8
		return "gb18030", true
	case id >= 255 && id <= 323: // MySQL 8 utf8mb4_0900_* and friends
		return "utf8mb4", true
	case id >= 576 && id <= 607: // MariaDB utf8mb3_*_mysql561_ci
		return "utf8mb3", true
	case id >= 608 && id <= 639: // MariaDB utf8mb4_*_mysql561_ci
		return "utf8mb4", true
	case id >= 640 && id <= 671: // MariaDB ucs2_*_mysql561_ci
		return "ucs2", true
	case id >= 672 && id <= 703: // MariaDB utf16_*_mysql561_ci
		return "utf16", true
	case id >= 736 && id <= 767: // MariaDB utf32_*_mysql561_ci
		return "utf32", true
	case id >= 1024 && id < 2048: // MariaDB NO PAD collations: base id + 1024
		return charsetOfCollation(id - 1024)
	case id >= 2048 && id < 2048+5*256: // MariaDB 10.10+ uca1400 collations
		return [...]string{"utf8mb3", "utf8mb4", "ucs2", "utf16", "utf32"}[(id-2048)/256], true
	}
	return "", false
}

// lowCollations maps the collation ids below 100 to their charsets.
var lowCollations = [100]string{
	1: "big5", 2: "latin2", 3: "dec8", 4: "cp850", 5: "latin1", 6: "hp8", 7: "koi8r", 8: "latin1", 9: "latin2",
	10: "swe7", 11: "ascii", 12: "ujis", 13: "sjis", 14: "cp1251", 15: "latin1", 16: "hebrew", 18: "tis620",
	19: "euckr", 20: "latin7", 21: "latin2", 22: "koi8u", 23: "cp1251", 24: "gb2312", 25: "greek", 26: "cp1250",
	27: "latin2", 28: "gbk", 29: "cp1257", 30: "latin5", 31: "latin1", 32: "armscii8", 33: "utf8mb3", 34: "cp1250",
	35: "ucs2", 36: "cp866", 37: "keybcs2", 38: "macce", 39: "macroman", 40: "cp852", 41: "latin7", 42: "latin7",
	43: "macce", 44: "cp1250", 45: "utf8mb4", 46: "utf8mb4", 47: "latin1", 48: "latin1", 49: "latin1",
	50: "cp1251", 51: "cp1251", 52: "cp1251", 53: "macroman", 54: "utf16", 55: "utf16", 56: "utf16le",
	57: "cp1256", 58: "cp1257", 59: "cp1257", 60: "utf32", 61: "utf32", 62: "utf16le", 63: "binary",
	64: "armscii8", 65: "ascii", 66: "cp1250", 67: "cp1256", 68: "cp866", 69: "dec8", 70: "greek", 71: "hebrew",
	72: "hp8", 73: "keybcs2", 74: "koi8r", 75: "koi8u", 76: "utf8mb3", 77: "latin2", 78: "latin5", 79: "latin7",
	80: "cp850", 81: "cp852", 82: "swe7", 83: "utf8mb3", 84: "big5", 85: "euckr", 86: "gb2312", 87: "gbk",
	88: "sjis", 89: "tis620", 90: "ucs2", 91: "ujis", 92: "geostd8", 93: "geostd8", 94: "latin1", 95: "cp932",
	96: "cp932", 97: "eucjpms", 98: "eucjpms", 99: "cp1250",
}

// maxBytesPerChar returns the longest encoding of one character in charset
// cs, for turning the byte lengths of the binlog into character lengths.
func maxBytesPerChar(cs string) (int, bool) {
	switch cs {
	case "utf8mb4", "utf16", "utf16le", "utf32", "gb18030":
		return 4, true
	case "utf8mb3", "ujis", "eucjpms":
		return 3, true
	case "ucs2", "gbk", "big5", "sjis", "cp932", "euckr", "gb2312":
		return 2, true
	case "binary":
		return 1, true
	}
	if singleByteTables[cs] != nil {
		return 1, true
	}
	return 0, false
}

// multiByte maps the multi-byte charsets that Syncline converts to their
// golang.org/x/text encodings.
func multiByte(cs string) encoding.Encoding {
	switch cs {
	case "ucs2", "utf16":
		return unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM)
	case "utf16le":
		return unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM)
	case "utf32":
		return utf32.UTF32(utf32.BigEndian, utf32.IgnoreBOM)
	case "gbk", "gb2312":
		return simplifiedchinese.GBK
	case "gb18030":
		return simplifiedchinese.GB18030
	case "big5":
		return traditionalchinese.Big5
	case "sjis", "cp932":
		return japanese.ShiftJIS
	case "ujis", "eucjpms":
		return japanese.EUCJP
	case "euckr":
		return korean.EUCKR
	}
	return nil
}

// SupportedCharset reports whether values in charset cs (a name as
// information_schema gives it) can be converted to UTF-8.
func SupportedCharset(cs string) bool {
	cs = schema.NormalizeCharset(cs)
	switch cs {
	case "utf8mb4", "utf8mb3", "binary":
		return true
	}
	return singleByteTables[cs] != nil || multiByte(cs) != nil
}

// decodeText converts b from charset cs to UTF-8, the way the server converts
// it for a utf8mb4 client connection. Single-byte charsets use the server's
// own tables (charset_tables.go): latin1 is MySQL's latin1, cp1252 whose five
// undefined bytes map to the C1 controls of the same value, and bytes a
// charset does not define become '?'. Multi-byte charsets use
// golang.org/x/text (invalid sequences become U+FFFD).
func decodeText(cs string, b []byte) (string, error) {
	switch cs {
	case "utf8mb4", "utf8mb3", "binary", "":
		return string(b), nil
	}
	if table := singleByteTables[cs]; table != nil {
		return decodeSingle(b, table), nil
	}
	if enc := multiByte(cs); enc != nil {
		out, err := enc.NewDecoder().Bytes(b)
		if err != nil {
			return "", fmt.Errorf("convert from %s to utf8: %w", cs, err)
		}
		return string(out), nil
	}
	return "", fmt.Errorf("%w: charset %s", schema.ErrUnsupportedType, cs)
}

// decodeSingle converts the bytes of a single-byte charset with its table.
func decodeSingle(b []byte, table *[256]rune) string {
	same := true
	for _, c := range b {
		if table[c] != rune(c) || c >= 0x80 {
			same = false
			break
		}
	}
	if same {
		return string(b)
	}
	var sb strings.Builder
	sb.Grow(len(b) + len(b)/2)
	for _, c := range b {
		sb.WriteRune(table[c])
	}
	return sb.String()
}
