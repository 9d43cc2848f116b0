package xfr

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/miekg/dns"
)

var allAlgorithms = []string{dns.HmacMD5, dns.HmacSHA1, dns.HmacSHA224, dns.HmacSHA256, dns.HmacSHA384, dns.HmacSHA512}

func testKey(alg string) *Key {
	return &Key{Name: "xfr-key.", Algorithm: alg, Secret: []byte("0123456789abcdef0123456789abcdef")}
}

func fixedClock(sec int64) func() time.Time {
	return func() time.Time { return time.Unix(sec, 0) }
}

const testNow = 1700000000

// request returns a packed AXFR request.
func request(id uint16) []byte {
	m := new(dns.Msg)
	m.Id = id
	m.Question = []dns.Question{{Name: "example.com.", Qtype: dns.TypeAXFR, Qclass: dns.ClassINET}}
	b, err := m.Pack()
	if err != nil {
		panic(err)
	}
	return b
}

// response returns a packed response with n A records.
func response(id uint16, first, n int) []byte {
	m := new(dns.Msg)
	m.Id = id
	m.Response = true
	for i := range n {
		rr, _ := dns.NewRR(fmt.Sprintf("h%d.example.com. 300 IN A 192.0.2.%d", first+i, (first+i)%250))
		m.Answer = append(m.Answer, rr)
	}
	b, err := m.Pack()
	if err != nil {
		panic(err)
	}
	return b
}

func mustSigner(t testing.TB, k *Key, mac []byte, now int64) *Signer {
	s, err := NewSigner(k, mac)
	if err != nil {
		t.Fatal(err)
	}
	s.Now = fixedClock(now)
	return s
}

func mustVerifier(t testing.TB, k *Key, mac []byte, now int64) *Verifier {
	v, err := NewVerifier(k, mac)
	if err != nil {
		t.Fatal(err)
	}
	v.Now = fixedClock(now)
	return v
}

func tsigCode(err error) (uint16, bool) {
	var te *TSIGError
	if !errors.As(err, &te) {
		return 0, false
	}
	return te.Code, true
}

// TestSignVerifyStream signs a request and a response stream with unsigned
// messages in between, for every algorithm, and verifies both sides.
func TestSignVerifyStream(t *testing.T) {
	for _, alg := range allAlgorithms {
		t.Run(alg, func(t *testing.T) {
			k := testKey(alg)
			cs := mustSigner(t, k, nil, testNow)
			req, err := cs.Sign(request(7))
			if err != nil {
				t.Fatal(err)
			}
			sv := mustVerifier(t, k, nil, testNow+10)
			if signed, err := sv.Verify(req); !signed || err != nil {
				t.Fatalf("request: signed %v, %v", signed, err)
			}
			ss := mustSigner(t, k, sv.MAC(), testNow+20)
			cv := mustVerifier(t, k, cs.MAC(), testNow+30)
			for i := range 12 {
				msg := response(7, i*3, 3)
				sign := i%4 == 0 || i == 11
				if sign {
					if msg, err = ss.Sign(msg); err != nil {
						t.Fatal(err)
					}
				} else {
					ss.Skip(msg)
				}
				signed, err := cv.Verify(msg)
				if err != nil || signed != sign {
					t.Fatalf("message %d: signed %v (want %v), %v", i+1, signed, sign, err)
				}
			}
			if err := cv.Finish(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// miekgProvider lets miekg/dns build and check TSIG buffers with our HMAC,
// since its own provider does not do hmac-md5.
type miekgProvider struct{ k *Key }

func (p miekgProvider) Generate(msg []byte, _ *dns.TSIG) ([]byte, error) {
	h := p.k.mac()
	h.Write(msg)
	return h.Sum(nil), nil
}

func (p miekgProvider) Verify(msg []byte, t *dns.TSIG) error {
	b, _ := p.Generate(msg, t)
	mac, _ := hex.DecodeString(t.MAC)
	if !bytes.Equal(b, mac) {
		return dns.ErrSig
	}
	return nil
}

// TestMiekgInterop checks our signatures against miekg/dns's TSIG code in
// both directions: requests (full variables) and chained responses (timers
// only), for every algorithm.
func TestMiekgInterop(t *testing.T) {
	for _, alg := range allAlgorithms {
		t.Run(alg, func(t *testing.T) {
			k := testKey(alg)
			var p dns.TsigProvider = miekgProvider{k}
			if alg != dns.HmacMD5 {
				p = nil // use miekg's own HMAC too
			}
			secret := base64.StdEncoding.EncodeToString(k.Secret)
			verify := func(msg []byte, mac string, timersOnly bool) error {
				if p != nil {
					return dns.TsigVerifyWithProvider(msg, p, mac, timersOnly)
				}
				return dns.TsigVerify(msg, secret, mac, timersOnly)
			}
			generate := func(m *dns.Msg, mac string, timersOnly bool) ([]byte, string, error) {
				if p != nil {
					return dns.TsigGenerateWithProvider(m, p, mac, timersOnly)
				}
				return dns.TsigGenerate(m, secret, mac, timersOnly)
			}

			// Our request, miekg verifies.
			s := mustSigner(t, k, nil, time.Now().Unix())
			req, err := s.Sign(request(99))
			if err != nil {
				t.Fatal(err)
			}
			if err := verify(req, "", false); err != nil {
				t.Fatalf("miekg rejects our request: %v", err)
			}
			// Our response stream, miekg verifies each (all signed).
			rs := mustSigner(t, k, s.MAC(), time.Now().Unix())
			prior := hex.EncodeToString(s.MAC())
			for i := range 3 {
				msg, err := rs.Sign(response(99, i, 2))
				if err != nil {
					t.Fatal(err)
				}
				if err := verify(msg, prior, i > 0); err != nil {
					t.Fatalf("miekg rejects our response %d: %v", i+1, err)
				}
				prior = hex.EncodeToString(rs.MAC())
			}

			// miekg's request and response stream, we verify.
			m := new(dns.Msg)
			m.SetAxfr("example.com.")
			m.SetTsig(k.Name, alg, 300, time.Now().Unix())
			wire, mac, err := generate(m, "", false)
			if err != nil {
				t.Fatal(err)
			}
			v := mustVerifier(t, k, nil, time.Now().Unix())
			if _, err := v.Verify(wire); err != nil {
				t.Fatalf("miekg's request: %v", err)
			}
			cv := mustVerifier(t, k, v.MAC(), time.Now().Unix())
			for i := range 3 {
				r := new(dns.Msg)
				r.SetReply(m)
				r.Extra = nil
				rr, _ := dns.NewRR(fmt.Sprintf("h%d.example.com. 60 IN A 192.0.2.1", i))
				r.Answer = []dns.RR{rr}
				r.SetTsig(k.Name, alg, 300, time.Now().Unix())
				if wire, mac, err = generate(r, mac, i > 0); err != nil {
					t.Fatal(err)
				}
				if _, err := cv.Verify(wire); err != nil {
					t.Fatalf("miekg's response %d: %v", i+1, err)
				}
			}
		})
	}
}

// signedPair returns a signed response to a signed request, and the
// verifier that should accept it.
func signedPair(t *testing.T, k *Key, now int64) ([]byte, *Verifier, *Signer) {
	cs := mustSigner(t, k, nil, now)
	if _, err := cs.Sign(request(1)); err != nil {
		t.Fatal(err)
	}
	ss := mustSigner(t, k, cs.MAC(), now)
	msg, err := ss.Sign(response(1, 0, 2))
	if err != nil {
		t.Fatal(err)
	}
	return msg, mustVerifier(t, k, cs.MAC(), now), ss
}

func TestVerifyErrors(t *testing.T) {
	k := testKey(dns.HmacSHA256)
	other := *k
	other.Name = "other."
	otherAlg := *k
	otherAlg.Algorithm = dns.HmacSHA512
	otherSecret := *k
	otherSecret.Secret = []byte("another secret")

	// sign signs a response with key sk, as seen by a verifier for k.
	sign := func(t *testing.T, sk *Key, signAt, verifyAt int64) ([]byte, *Verifier) {
		cs := mustSigner(t, k, nil, signAt)
		cs.Sign(request(1))
		ss := mustSigner(t, sk, cs.MAC(), signAt)
		msg, err := ss.Sign(response(1, 0, 2))
		if err != nil {
			t.Fatal(err)
		}
		return msg, mustVerifier(t, k, cs.MAC(), verifyAt)
	}
	tests := []struct {
		name string
		msg  func(t *testing.T) ([]byte, *Verifier)
		code uint16
		text string
	}{
		{"good", func(t *testing.T) ([]byte, *Verifier) { return sign(t, k, testNow, testNow) }, 0, ""},
		{"other key name", func(t *testing.T) ([]byte, *Verifier) { return sign(t, &other, testNow, testNow) }, dns.RcodeBadKey,
			"tsig: BADKEY: response signed with key other. (want xfr-key.)"},
		{"other algorithm", func(t *testing.T) ([]byte, *Verifier) { return sign(t, &otherAlg, testNow, testNow) }, dns.RcodeBadKey, "algorithm hmac-sha512."},
		{"other secret", func(t *testing.T) ([]byte, *Verifier) { return sign(t, &otherSecret, testNow, testNow) }, dns.RcodeBadSig, "tsig: BADSIG on message 1"},
		{"fudge edge", func(t *testing.T) ([]byte, *Verifier) { return sign(t, k, testNow, testNow+300) }, 0, ""},
		{"fudge edge before", func(t *testing.T) ([]byte, *Verifier) { return sign(t, k, testNow, testNow-300) }, 0, ""},
		{"late", func(t *testing.T) ([]byte, *Verifier) { return sign(t, k, testNow, testNow+301) }, dns.RcodeBadTime,
			"tsig: BADTIME: time signed 1700000000 outside fudge 300 of now 1700000301"},
		{"early", func(t *testing.T) ([]byte, *Verifier) { return sign(t, k, testNow, testNow-301) }, dns.RcodeBadTime, "BADTIME"},
		{"unsigned", func(t *testing.T) ([]byte, *Verifier) {
			_, v, _ := signedPair(t, k, testNow)
			return response(1, 0, 1), v
		}, 0, "tsig: response not signed"},
		{"TSIG not last", func(t *testing.T) ([]byte, *Verifier) {
			msg, v, _ := signedPair(t, k, testNow)
			m := new(dns.Msg)
			m.Unpack(msg)
			rr, _ := dns.NewRR("x.example.com. 60 IN TXT x")
			m.Extra = append(m.Extra, rr)
			b, _ := m.Pack()
			return b, v
		}, dns.RcodeFormatError, "TSIG RR not last"},
		{"data after TSIG", func(t *testing.T) ([]byte, *Verifier) {
			msg, v, _ := signedPair(t, k, testNow)
			return append(msg, 0), v
		}, dns.RcodeFormatError, "data after TSIG"},
		{"peer reports BADKEY", func(t *testing.T) ([]byte, *Verifier) {
			_, v, ss := signedPair(t, k, testNow)
			msg, _ := ss.SignError(response(1, 0, 0), dns.RcodeBadKey)
			return msg, v
		}, dns.RcodeBadKey, "BADKEY: reported by peer"},
		{"MAC truncated too far", func(t *testing.T) ([]byte, *Verifier) {
			msg, v, _ := signedPair(t, k, testNow)
			return truncateMAC(t, k, msg, 15), v
		}, dns.RcodeBadTrunc, "MAC of 15 octets"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg, v := tt.msg(t)
			_, err := v.Verify(msg)
			if tt.code == 0 && tt.text == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			code, ok := tsigCode(err)
			if !ok || code != tt.code {
				t.Fatalf("error %v (code %d), want a TSIGError with code %d", err, code, tt.code)
			}
			if !bytes.Contains([]byte(err.Error()), []byte(tt.text)) {
				t.Errorf("error %q does not contain %q", err, tt.text)
			}
		})
	}
}

// truncateMAC rewrites the TSIG RR of msg with its MAC cut to n octets.
func truncateMAC(t *testing.T, k *Key, msg []byte, n int) []byte {
	off, ts, err := findTSIG(msg)
	if err != nil || ts == nil {
		t.Fatalf("findTSIG: %v", err)
	}
	mac := ts.mac
	bare := append([]byte(nil), msg[:off]...)
	binary.BigEndian.PutUint16(bare[10:], binary.BigEndian.Uint16(bare[10:])-1)
	out, err := appendTSIG(bare, k, ts.signed, ts.fudge, mac[:n], 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestVerifyTruncatedMAC(t *testing.T) {
	k := testKey(dns.HmacSHA256)
	msg, v, _ := signedPair(t, k, testNow)
	if _, err := v.Verify(truncateMAC(t, k, msg, 16)); err != nil {
		t.Fatalf("MAC truncated to half: %v", err)
	}
	msg, v, _ = signedPair(t, k, testNow)
	bad := truncateMAC(t, k, msg, 16)
	bad[len(bad)-7] ^= 1
	if code, _ := tsigCode(func() error { _, err := v.Verify(bad); return err }()); code != dns.RcodeBadSig {
		t.Fatalf("corrupt truncated MAC: code %d, want BADSIG", code)
	}
}

// TestVerifyEveryByte flips every byte of a signed message: none may pass.
func TestVerifyEveryByte(t *testing.T) {
	k := testKey(dns.HmacSHA1)
	msg, _, _ := signedPair(t, k, testNow)
	off, _, _ := findTSIG(msg)
	name := len(appendName(nil, k.Name))
	alg := off + name + 10
	canonical := func(i int) bool { // in the key or algorithm name
		return i >= off && i < off+name || i >= alg && i < alg+len(appendName(nil, k.Algorithm))
	}
	for i := range msg {
		_, v, _ := signedPair(t, k, testNow)
		bad := append([]byte(nil), msg...)
		bad[i] ^= 0x20 // also flips the case of letters, which must matter
		if _, err := v.Verify(bad); err == nil {
			// The ID is checked by the caller, against the request
			// (the MAC covers the Original ID), and names compare
			// case-insensitively: the MAC covers their canonical form.
			if i < 2 || canonical(i) && isLetter(msg[i]) {
				continue
			}
			t.Errorf("flipping byte %d went unnoticed", i)
		}
	}
}

func isLetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

func TestVerifyUnsignedLimit(t *testing.T) {
	for _, tt := range []struct {
		unsigned int
		ok       bool
	}{{0, true}, {1, true}, {98, true}, {99, true}, {100, false}} {
		t.Run(fmt.Sprint(tt.unsigned), func(t *testing.T) {
			k := testKey(dns.HmacSHA256)
			cs := mustSigner(t, k, nil, testNow)
			cs.Sign(request(1))
			ss := mustSigner(t, k, cs.MAC(), testNow)
			v := mustVerifier(t, k, cs.MAC(), testNow)
			msg, _ := ss.Sign(response(1, 0, 1))
			if _, err := v.Verify(msg); err != nil {
				t.Fatal(err)
			}
			var err error
			for i := 0; i < tt.unsigned && err == nil; i++ {
				msg := response(1, i+1, 1)
				ss.Skip(msg)
				_, err = v.Verify(msg)
			}
			if err == nil {
				msg, _ = ss.Sign(response(1, 1000, 1))
				_, err = v.Verify(msg)
			}
			if tt.ok && err != nil {
				t.Fatalf("%d unsigned: %v", tt.unsigned, err)
			}
			if !tt.ok {
				want := fmt.Sprintf("tsig: message %d unsigned, more than 99 in a row", tt.unsigned+1)
				if err == nil || err.Error() != want {
					t.Fatalf("%d unsigned: error %v, want %q", tt.unsigned, err, want)
				}
			}
		})
	}
}

func TestVerifyFinalUnsigned(t *testing.T) {
	k := testKey(dns.HmacSHA256)
	msg, v, ss := signedPair(t, k, testNow)
	if _, err := v.Verify(msg); err != nil {
		t.Fatal(err)
	}
	next := response(1, 5, 1)
	ss.Skip(next)
	if _, err := v.Verify(next); err != nil {
		t.Fatal(err)
	}
	if err := v.Finish(); err == nil || err.Error() != "tsig: final message unsigned" {
		t.Fatalf("Finish: %v", err)
	}
}

func TestSignerBadKey(t *testing.T) {
	for _, k := range []*Key{nil, {Name: "k.", Algorithm: "hmac-sha3.", Secret: []byte{1}}, {Name: "k", Algorithm: dns.HmacSHA1, Secret: []byte{1}}, {Name: "k.", Algorithm: dns.HmacSHA1}} {
		if _, err := NewSigner(k, nil); err == nil {
			t.Errorf("NewSigner(%+v) accepted", k)
		}
		if _, err := NewVerifier(k, nil); err == nil {
			t.Errorf("NewVerifier(%+v) accepted", k)
		}
	}
}
