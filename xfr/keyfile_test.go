package xfr

import (
	"bytes"
	"encoding/base64"
	"os/exec"
	"strings"
	"testing"

	"github.com/miekg/dns"
)

func TestParseAlgorithm(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{"hmac-sha256", dns.HmacSHA256},
		{"hmac-sha256.", dns.HmacSHA256},
		{"HMAC-SHA256", dns.HmacSHA256},
		{"hmac-md5", dns.HmacMD5},
		{"hmac-md5.", dns.HmacMD5},
		{"hmac-md5.sig-alg.reg.int.", dns.HmacMD5},
		{"HMAC-MD5.SIG-ALG.REG.INT", dns.HmacMD5},
		{"hmac-sha1", dns.HmacSHA1},
		{"hmac-sha224", dns.HmacSHA224},
		{"hmac-sha384", dns.HmacSHA384},
		{"hmac-sha512.", dns.HmacSHA512},
		{"hmac-sha999", ""},
		{"", ""},
		{"sha256", ""},
		{"hmac-sha256..", ""},
	}
	for _, tt := range tests {
		got, err := ParseAlgorithm(tt.in)
		if tt.want == "" {
			if err == nil {
				t.Errorf("ParseAlgorithm(%q) = %q, want error", tt.in, got)
			} else if !strings.Contains(err.Error(), "hmac-sha512") || !strings.Contains(err.Error(), "hmac-md5") {
				t.Errorf("ParseAlgorithm(%q) error %q does not list the supported algorithms", tt.in, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseAlgorithm(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func b64(s string) []byte {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func TestParseKeyFile(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []Key
	}{
		{"one", `key "xfr-key" {
	algorithm hmac-sha256;
	secret "c2VjcmV0c2VjcmV0c2VjcmV0";
};
`, []Key{{"xfr-key.", dns.HmacSHA256, []byte("secretsecretsecret")}}},
		{"several, bare names, comments", `# a comment
// another
/* and a
   block */ key xfr-key. { algorithm HMAC-SHA512; secret "c2VjcmV0"; }; # trailing
key "Other.Example" {
	secret "AAEC"; // order does not matter
	algorithm hmac-md5.sig-alg.reg.int.;
};
key third { algorithm "hmac-sha1"; secret "c2Vj cmV0"; };`, []Key{
			{"xfr-key.", dns.HmacSHA512, []byte("secret")},
			{"other.example.", dns.HmacMD5, []byte{0, 1, 2}},
			{"third.", dns.HmacSHA1, []byte("secret")},
		}},
		{"rndc-confgen output", `# Start of rndc.conf
key "rndc-key" {
	algorithm hmac-sha256;
	secret "eYwLuoXf/bIS0F2UotdJlocXtDcxDg/v0swM7NJfA5U=";
};

options {
	default-key "rndc-key";
	default-server 127.0.0.1;
	default-port 953;
};
# End of rndc.conf

# Use with the following in named.conf, adjusting the allow list as needed:
# key "rndc-key" {
# 	algorithm hmac-sha256;
# 	secret "eYwLuoXf/bIS0F2UotdJlocXtDcxDg/v0swM7NJfA5U=";
# };
#
# controls {
# 	inet 127.0.0.1 port 953
# 		allow { 127.0.0.1; } keys { "rndc-key"; };
# };
# End of named.conf
`, []Key{{"rndc-key.", dns.HmacSHA256, b64("eYwLuoXf/bIS0F2UotdJlocXtDcxDg/v0swM7NJfA5U=")}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseKeyFile(strings.NewReader(tt.in), "test.key")
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d keys, want %d", len(got), len(tt.want))
			}
			for i := range got {
				if got[i].Name != tt.want[i].Name || got[i].Algorithm != tt.want[i].Algorithm || !bytes.Equal(got[i].Secret, tt.want[i].Secret) {
					t.Errorf("key %d = %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

// TestParseKeyFileTsigKeygen parses what BIND's own tool writes, for every
// algorithm it knows.
func TestParseKeyFileTsigKeygen(t *testing.T) {
	// BIND's tool (Debian package bind9); /usr/sbin may not be on PATH.
	keygen, err := exec.LookPath("tsig-keygen")
	if err != nil {
		keygen = "/usr/sbin/tsig-keygen"
	}
	for _, a := range algorithms {
		out, err := exec.Command(keygen, "-a", a.short, "xfr-"+a.short).Output()
		if err != nil {
			t.Fatalf("%s -a %s: %v", keygen, a.short, err)
		}
		keys, err := ParseKeyFile(bytes.NewReader(out), "tsig-keygen")
		if err != nil {
			t.Fatalf("%s:\n%s", err, out)
		}
		h, _ := newHash(a.canonical)
		if len(keys) != 1 || keys[0].Name != "xfr-"+a.short+"." || keys[0].Algorithm != a.canonical || len(keys[0].Secret) != h().Size() {
			t.Errorf("tsig-keygen -a %s: got %+v from\n%s", a.short, keys, out)
		}
	}
}

func TestParseKeyFileErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string // substring of the error, which starts with test.key:LINE:
	}{
		{"unknown algorithm", "key a {\n algorithm hmac-sha999;\n secret \"AAAA\";\n};", "test.key:2: key \"a.\": unknown TSIG algorithm \"hmac-sha999\" (supported: hmac-md5"},
		{"bad base64", "key a {\n algorithm hmac-sha256;\n\n secret \"not base64!\";\n};", "test.key:4: key \"a.\": bad base64 in secret"},
		{"empty secret", "key a {\n algorithm hmac-sha256;\n secret \"\";\n};", "test.key:3: key \"a.\": empty secret"},
		{"missing secret", "\n\nkey a {\n algorithm hmac-sha256;\n};", "test.key:3: key \"a.\": missing secret"},
		{"missing algorithm", "key a {\n secret \"AAAA\";\n};", "test.key:1: key \"a.\": missing algorithm"},
		{"duplicate key", "key a { algorithm hmac-sha1; secret \"AAAA\"; };\nkey \"A.\" { algorithm hmac-sha1; secret \"AAAA\"; };", "test.key:2: duplicate key \"a.\" (first defined on line 1)"},
		{"duplicate secret", "key a {\n algorithm hmac-sha1;\n secret \"AAAA\";\n secret \"AAAA\";\n};", "test.key:4: key \"a.\": duplicate secret (first on line 3)"},
		{"duplicate algorithm", "key a {\n algorithm hmac-sha1;\n algorithm hmac-sha1;\n};", "test.key:3: key \"a.\": duplicate algorithm"},
		{"unknown clause", "key a {\n algorithm hmac-sha1;\n secrets \"AAAA\";\n};", "test.key:3: key \"a.\": unknown clause \"secrets\""},
		{"missing semicolon in key", "key a {\n algorithm hmac-sha1\n secret \"AAAA\";\n};", "test.key:3: expected ';' after algorithm, found 'secret'"},
		{"missing final semicolon", "key a {\n algorithm hmac-sha1;\n secret \"AAAA\";\n}\nkey b {};", "test.key:5: expected ';' after '}', found 'key'"},
		{"unterminated string", "key a {\n algorithm hmac-sha1;\n secret \"AAAA;\n};", "test.key:3: unterminated quoted string"},
		{"unterminated comment", "key a {\n/* algorithm hmac-sha1;\n secret \"AAAA\";\n};", "test.key:2: unterminated /* comment"},
		{"unknown statement", "# keys\nkye a { algorithm hmac-sha1; secret \"AAAA\"; };", "test.key:2: unknown statement \"kye\" (want key)"},
		{"no keys", "# nothing here\n", "test.key:2: no key statement found"},
		{"missing name", "key {\n};", "test.key:1: expected key name, found '{'"},
		{"bad name", "key \"a..b\" { algorithm hmac-sha1; secret \"AAAA\"; };", "test.key:1: invalid key name"},
		{"missing value", "key a {\n algorithm ;\n};", "test.key:2: key \"a.\": missing value for algorithm"},
		{"truncated", "key a {\n algorithm hmac-sha1;", "test.key:2: key \"a.\": expected algorithm or secret, found end of file"},
		{"unterminated options", "options {\n default-key a;\n", "test.key:1: unterminated options statement"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys, err := ParseKeyFile(strings.NewReader(tt.in), "test.key")
			if err == nil {
				t.Fatalf("got %+v, want error %q", keys, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q\nwant it to contain %q", err, tt.want)
			}
		})
	}
}

func FuzzParseKeyFile(f *testing.F) {
	f.Add(`key "xfr-key" { algorithm hmac-sha256; secret "c2VjcmV0"; };`)
	f.Add("/* c */ key a { secret \"AAAA\"; algorithm hmac-md5; }; options { x { y; }; };")
	f.Add("key a {\n algorithm hmac-sha1;\n secret \"AA\\\"AA;\n};")
	f.Fuzz(func(t *testing.T, in string) {
		keys, err := ParseKeyFile(strings.NewReader(in), "fuzz")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz:") {
				t.Errorf("error %q does not start with the file name", err)
			}
			return
		}
		for _, k := range keys {
			if err := k.check(); err != nil {
				t.Errorf("accepted unusable key: %v", err)
			}
		}
	})
}
