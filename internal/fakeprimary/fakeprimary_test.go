package fakeprimary

import (
	"crypto/hmac"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"testing"
	"time"

	"github.com/cfsecondary/cfsecondary/xfr"
	"github.com/miekg/dns"
)

const zone = "example.org."

func key(alg string) *xfr.Key {
	return &xfr.Key{Name: "fake-key.", Algorithm: alg, Secret: []byte("fedcba9876543210")}
}

// md5Provider gives miekg/dns the hmac-md5 it no longer has.
type md5Provider struct{ secret []byte }

func (p md5Provider) Generate(msg []byte, _ *dns.TSIG) ([]byte, error) {
	h := hmac.New(md5.New, p.secret)
	h.Write(msg)
	return h.Sum(nil), nil
}

func (p md5Provider) Verify(msg []byte, t *dns.TSIG) error {
	b, _ := p.Generate(msg, t)
	if mac, err := hex.DecodeString(t.MAC); err != nil || !hmac.Equal(b, mac) {
		return dns.ErrSig
	}
	return nil
}

func tsigFor(k *xfr.Key) (map[string]string, dns.TsigProvider) {
	if k.Algorithm == dns.HmacMD5 {
		return nil, md5Provider{k.Secret}
	}
	return map[string]string{k.Name: base64.StdEncoding.EncodeToString(k.Secret)}, nil
}

// TestMiekgClient checks the server's signing against miekg/dns's client,
// which verifies every message of the stream (so all must be signed).
func TestMiekgClient(t *testing.T) {
	for _, alg := range []string{dns.HmacMD5, dns.HmacSHA1, dns.HmacSHA224, dns.HmacSHA256, dns.HmacSHA384, dns.HmacSHA512} {
		t.Run(alg, func(t *testing.T) {
			k := key(alg)
			records := Zone(zone, 11, 5000)
			s := Start(t, zone, records, WithKey(k), WithPerMessage(100))

			secret, provider := tsigFor(k)
			tr := &dns.Transfer{TsigSecret: secret, TsigProvider: provider}
			m := new(dns.Msg)
			m.SetAxfr(zone)
			m.SetTsig(k.Name, alg, 300, time.Now().Unix())
			env, err := tr.In(m, s.Addr)
			if err != nil {
				t.Fatal(err)
			}
			n, msgs := 0, 0
			for e := range env {
				if e.Error != nil {
					t.Fatalf("message %d: %v", msgs+1, e.Error)
				}
				msgs++
				n += len(e.RR)
			}
			if n != len(records)+1 || msgs != 51 {
				t.Fatalf("%d records in %d messages", n, msgs)
			}

			c := &dns.Client{TsigSecret: secret, TsigProvider: provider}
			for _, net := range []string{"udp", "tcp"} {
				c.Net = net
				q := new(dns.Msg)
				q.SetQuestion(zone, dns.TypeSOA)
				q.SetTsig(k.Name, alg, 300, time.Now().Unix())
				r, _, err := c.Exchange(q, s.Addr)
				if err != nil {
					t.Fatalf("%s: %v", net, err)
				}
				if !r.Authoritative || len(r.Answer) != 1 || r.Answer[0].(*dns.SOA).Serial != 11 {
					t.Fatalf("%s: answer %v", net, r)
				}
			}
			if s.Transfers() != 1 || s.SOAQueries() != 2 {
				t.Errorf("counted %d transfers, %d SOA queries", s.Transfers(), s.SOAQueries())
			}
		})
	}
}

// TestTSIGErrors checks the answers to bad requests (RFC 8945 5.3.2).
func TestTSIGErrors(t *testing.T) {
	k := key(dns.HmacSHA256)
	s := Start(t, zone, Zone(zone, 1, 1), WithKey(k))
	wrongSecret := *k
	wrongSecret.Secret = []byte("wrong")
	wrongName := *k
	wrongName.Name = "nobody."
	tests := []struct {
		name  string
		k     *xfr.Key
		shift time.Duration
		rcode int
		tsig  uint16
	}{
		{"good", k, 0, dns.RcodeSuccess, 0},
		{"unsigned", nil, 0, dns.RcodeRefused, 0},
		{"wrong secret", &wrongSecret, 0, dns.RcodeNotAuth, dns.RcodeBadSig},
		{"unknown key", &wrongName, 0, dns.RcodeNotAuth, dns.RcodeBadKey},
		{"clock off", k, time.Hour, dns.RcodeNotAuth, dns.RcodeBadTime},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := new(dns.Msg)
			q.SetQuestion(zone, dns.TypeSOA)
			wire, _ := q.Pack()
			if tt.k != nil {
				signer, err := xfr.NewSigner(tt.k, nil)
				if err != nil {
					t.Fatal(err)
				}
				signer.Now = func() time.Time { return time.Now().Add(tt.shift) }
				if wire, err = signer.Sign(wire); err != nil {
					t.Fatal(err)
				}
			}
			c := &dns.Client{Net: "tcp"}
			conn, err := c.Dial(s.Addr)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			if _, err := conn.Write(wire); err != nil {
				t.Fatal(err)
			}
			// Read the raw answer: miekg's ReadMsg would check the TSIG.
			buf := make([]byte, dns.MaxMsgSize)
			n, err := conn.Read(buf)
			if err != nil {
				t.Fatal(err)
			}
			r := new(dns.Msg)
			if err := r.Unpack(buf[:n]); err != nil {
				t.Fatal(err)
			}
			if r.Rcode != tt.rcode {
				t.Fatalf("rcode %s, want %s", dns.RcodeToString[r.Rcode], dns.RcodeToString[tt.rcode])
			}
			ts := r.IsTsig()
			switch {
			case tt.k == nil && ts != nil:
				t.Errorf("unsigned request got a signed answer")
			case tt.k != nil && (ts == nil || ts.Error != tt.tsig):
				t.Errorf("TSIG %v, want error %d", ts, tt.tsig)
			case tt.tsig == dns.RcodeBadKey || tt.tsig == dns.RcodeBadSig:
				if ts.MACSize != 0 || ts.Hdr.Name != tt.k.Name {
					t.Errorf("error answer %v should have no MAC and the request's key name", ts)
				}
			case tt.tsig == dns.RcodeBadTime:
				if ts.OtherLen != 6 {
					t.Errorf("BADTIME answer %v should carry the server time", ts)
				}
			}
		})
	}
}

func TestHandlerAndSetMode(t *testing.T) {
	s := Start(t, zone, Zone(zone, 3, 2))
	s.SetMode(Mode{Handler: func(w *Writer, req *dns.Msg) {
		m := new(dns.Msg)
		m.SetReply(req)
		m.Rcode = dns.RcodeYXDomain
		w.WriteMsg(m, false)
	}})
	c := new(dns.Client)
	q := new(dns.Msg)
	q.SetQuestion(zone, dns.TypeSOA)
	r, _, err := c.Exchange(q, s.Addr)
	if err != nil || r.Rcode != dns.RcodeYXDomain {
		t.Fatalf("handler: %v, %v", r, err)
	}
	s.SetMode(Mode{})
	s.SetRecords(Zone(zone, 4, 2))
	r, _, err = c.Exchange(q, s.Addr)
	if err != nil || r.Rcode != dns.RcodeSuccess || r.Answer[0].(*dns.SOA).Serial != 4 || s.Serial() != 4 {
		t.Fatalf("after SetMode: %v, %v", r, err)
	}
	// Outside the zone: refused; other types in the zone: not implemented.
	q.SetQuestion("example.net.", dns.TypeSOA)
	if r, _, err = c.Exchange(q, s.Addr); err != nil || r.Rcode != dns.RcodeRefused {
		t.Fatalf("other zone: %v, %v", r, err)
	}
	q.SetQuestion("h1."+zone, dns.TypeA)
	if r, _, err = c.Exchange(q, s.Addr); err != nil || r.Rcode != dns.RcodeNotImplemented {
		t.Fatalf("A query: %v, %v", r, err)
	}
}

func TestRecordsOrder(t *testing.T) {
	rrs := Zone(zone, 5, 3)
	// SOA last in the input: the server puts it first.
	rrs = append(rrs[1:], rrs[0])
	s := Start(t, zone, rrs)
	got := s.Records()
	if got[0].Header().Rrtype != dns.TypeSOA || len(got) != 6 {
		t.Fatalf("records %v", got)
	}
	s.Close()
	s.Close() // idempotent
}
