package xfr

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"io"
	"strings"
	"unicode"

	"github.com/miekg/dns"
)

// ParseKeyFile reads TSIG keys in the BIND syntax written by tsig-keygen
// and rndc-confgen:
//
//	key "name" {
//		algorithm hmac-sha256;
//		secret "base64";
//	};
//
// A file may hold several keys, names may be quoted or bare, and # // and
// /* */ comments are allowed. The options, controls and server statements
// that rndc-confgen also writes are skipped, so its whole output can be
// used; any other statement is an error. Errors name filename:line.
func ParseKeyFile(r io.Reader, filename string) ([]Key, error) {
	src, err := io.ReadAll(bufio.NewReader(r))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filename, err)
	}
	p := &keyParser{lex: lexer{src: string(src), line: 1}, file: filename}
	keys, err := p.parse()
	if err != nil {
		return nil, err
	}
	return keys, nil
}

type tokenKind int

const (
	tokEOF tokenKind = iota
	tokWord
	tokString
	tokPunct // one of { } ;
)

type token struct {
	kind tokenKind
	text string
	line int
}

func (t token) String() string {
	switch t.kind {
	case tokEOF:
		return "end of file"
	case tokString:
		return fmt.Sprintf("%q", t.text)
	}
	return "'" + t.text + "'"
}

// lexer splits named.conf syntax into tokens.
type lexer struct {
	src  string
	pos  int
	line int
}

func (l *lexer) next() (token, error) {
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		switch {
		case c == '\n':
			l.line++
			l.pos++
		case c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v':
			l.pos++
		case c == '#' || strings.HasPrefix(l.src[l.pos:], "//"):
			for l.pos < len(l.src) && l.src[l.pos] != '\n' {
				l.pos++
			}
		case strings.HasPrefix(l.src[l.pos:], "/*"):
			start := l.line
			end := strings.Index(l.src[l.pos+2:], "*/")
			if end < 0 {
				return token{}, fmt.Errorf("%d: unterminated /* comment", start)
			}
			l.line += strings.Count(l.src[l.pos:l.pos+2+end], "\n")
			l.pos += 2 + end + 2
		case c == '{' || c == '}' || c == ';':
			l.pos++
			return token{tokPunct, string(c), l.line}, nil
		case c == '"':
			return l.quoted()
		default:
			start := l.pos
			for l.pos < len(l.src) {
				c := l.src[l.pos]
				if c == '{' || c == '}' || c == ';' || c == '"' || c == '#' || unicode.IsSpace(rune(c)) {
					break
				}
				l.pos++
			}
			return token{tokWord, l.src[start:l.pos], l.line}, nil
		}
	}
	return token{tokEOF, "", l.line}, nil
}

// quoted reads a "string"; a backslash escapes the next character.
func (l *lexer) quoted() (token, error) {
	start := l.line
	var b strings.Builder
	l.pos++ // opening quote
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		l.pos++
		switch c {
		case '"':
			return token{tokString, b.String(), start}, nil
		case '\\':
			if l.pos < len(l.src) {
				c = l.src[l.pos]
				l.pos++
			}
		case '\n':
			l.line++
		}
		b.WriteByte(c)
	}
	return token{}, fmt.Errorf("%d: unterminated quoted string", start)
}

type keyParser struct {
	lex  lexer
	file string
}

func (p *keyParser) errorf(line int, format string, args ...any) error {
	return fmt.Errorf("%s:%d: %s", p.file, line, fmt.Sprintf(format, args...))
}

func (p *keyParser) next() (token, error) {
	t, err := p.lex.next()
	if err != nil {
		// The lexer's errors start with the line number.
		return t, fmt.Errorf("%s:%w", p.file, err)
	}
	return t, nil
}

// expect reads a punctuation token.
func (p *keyParser) expect(punct string, after string) (token, error) {
	t, err := p.next()
	if err != nil {
		return t, err
	}
	if t.kind != tokPunct || t.text != punct {
		return t, p.errorf(t.line, "expected '%s' after %s, found %s", punct, after, t)
	}
	return t, nil
}

func (p *keyParser) parse() ([]Key, error) {
	var keys []Key
	seen := map[string]int{} // key name -> line
	for {
		t, err := p.next()
		if err != nil {
			return nil, err
		}
		switch t.kind {
		case tokEOF:
			if len(keys) == 0 {
				return nil, p.errorf(t.line, "no key statement found")
			}
			return keys, nil
		case tokWord:
		default:
			return nil, p.errorf(t.line, "expected a statement, found %s", t)
		}
		switch strings.ToLower(t.text) {
		case "key":
			k, err := p.key(t.line)
			if err != nil {
				return nil, err
			}
			if first, dup := seen[k.Name]; dup {
				return nil, p.errorf(t.line, "duplicate key %q (first defined on line %d)", k.Name, first)
			}
			seen[k.Name] = t.line
			keys = append(keys, k)
		case "options", "controls", "server":
			if err := p.skip(t); err != nil {
				return nil, err
			}
		default:
			return nil, p.errorf(t.line, "unknown statement %q (want key)", t.text)
		}
	}
}

// key parses the rest of a key statement, after the word "key".
func (p *keyParser) key(line int) (Key, error) {
	t, err := p.next()
	if err != nil {
		return Key{}, err
	}
	if t.kind != tokWord && t.kind != tokString {
		return Key{}, p.errorf(t.line, "expected key name, found %s", t)
	}
	name := strings.ToLower(dns.Fqdn(t.text))
	if _, ok := dns.IsDomainName(name); !ok || t.text == "" {
		return Key{}, p.errorf(t.line, "invalid key name %q", t.text)
	}
	if _, err := p.expect("{", "key name"); err != nil {
		return Key{}, err
	}
	k := Key{Name: name}
	var algLine, secretLine int
	for {
		t, err := p.next()
		if err != nil {
			return Key{}, err
		}
		if t.kind == tokPunct && t.text == "}" {
			break
		}
		if t.kind != tokWord {
			return Key{}, p.errorf(t.line, "key %q: expected algorithm or secret, found %s", name, t)
		}
		clause := strings.ToLower(t.text)
		v, err := p.next()
		if err != nil {
			return Key{}, err
		}
		if v.kind != tokWord && v.kind != tokString {
			return Key{}, p.errorf(v.line, "key %q: missing value for %s", name, clause)
		}
		switch clause {
		case "algorithm":
			if algLine != 0 {
				return Key{}, p.errorf(t.line, "key %q: duplicate algorithm (first on line %d)", name, algLine)
			}
			algLine = t.line
			if k.Algorithm, err = ParseAlgorithm(v.text); err != nil {
				return Key{}, p.errorf(v.line, "key %q: %v", name, err)
			}
		case "secret":
			if secretLine != 0 {
				return Key{}, p.errorf(t.line, "key %q: duplicate secret (first on line %d)", name, secretLine)
			}
			secretLine = t.line
			// BIND ignores white space inside the base64 text.
			b64 := strings.Join(strings.Fields(v.text), "")
			if b64 == "" {
				return Key{}, p.errorf(v.line, "key %q: empty secret", name)
			}
			if k.Secret, err = base64.StdEncoding.DecodeString(b64); err != nil {
				return Key{}, p.errorf(v.line, "key %q: bad base64 in secret: %v", name, err)
			}
		default:
			return Key{}, p.errorf(t.line, "key %q: unknown clause %q (want algorithm or secret)", name, t.text)
		}
		if _, err := p.expect(";", clause); err != nil {
			return Key{}, err
		}
	}
	end, err := p.expect(";", "'}'")
	if err != nil {
		return Key{}, err
	}
	if algLine == 0 {
		return Key{}, p.errorf(line, "key %q: missing algorithm (key ends on line %d)", name, end.line)
	}
	if secretLine == 0 {
		return Key{}, p.errorf(line, "key %q: missing secret (key ends on line %d)", name, end.line)
	}
	return k, nil
}

// skip consumes a statement we do not use, up to its final ';'.
func (p *keyParser) skip(start token) error {
	depth := 0
	for {
		t, err := p.next()
		if err != nil {
			return err
		}
		switch {
		case t.kind == tokEOF:
			return p.errorf(start.line, "unterminated %s statement", start.text)
		case t.kind != tokPunct:
		case t.text == "{":
			depth++
		case t.text == "}":
			depth--
			if depth < 0 {
				return p.errorf(t.line, "unbalanced '}' in %s statement", start.text)
			}
		case t.text == ";" && depth == 0:
			return nil
		}
	}
}
