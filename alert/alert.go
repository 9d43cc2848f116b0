// Package alert defines the alerts of a secondary DNS server, with the kinds and names of
// Cloudflare's Secondary DNS notifications, and delivers them to a webhook as JSON shaped like
// Cloudflare's generic webhook payload.
//
// Delivery goes through a bounded queue served by one goroutine, so that whoever raises an
// alert never waits for the receiver: a full queue drops its oldest alert, failed deliveries
// are retried with exponential backoff on timeouts, network errors, 429 and 5xx answers (never
// on other 4xx), and every request can be signed with a shared secret.
package alert

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// Type is a kind of alert, named as Cloudflare's alert_type.
type Type string

const (
	// AllPrimariesFailing: no primary of the zone answered in a refresh. It starts once and
	// ends once, when one answers again.
	AllPrimariesFailing Type = "secondary_dns_all_primaries_failing"
	// PrimariesFailing: some primaries of the zone fail while another still answers. It
	// starts once and ends once, when none fails any more.
	PrimariesFailing Type = "secondary_dns_primaries_failing"
	// ZoneUpdated: a transfer brought a new version of the zone, now served.
	ZoneUpdated Type = "secondary_dns_zone_successfully_updated"
	// Warning: a problem with what a primary sent: records dropped as out of zone, a serial
	// that went backwards, a limit hit, a TSIG failure, a zone that breaks a rule.
	Warning Type = "secondary_dns_warning"
	// ZoneValidationWarning is Cloudflare's older name for Warning. It is never sent; it is
	// here for receivers that match on both.
	ZoneValidationWarning Type = "secondary_dns_zone_validation_warning"
)

// Title is the human name of an alert type, used as the payload's name.
func (t Type) Title() string {
	switch t {
	case AllPrimariesFailing:
		return "Secondary DNS All Primaries Failing"
	case PrimariesFailing:
		return "Secondary DNS Primaries Failing"
	case ZoneUpdated:
		return "Secondary DNS Successfully Updated"
	case Warning, ZoneValidationWarning:
		return "Secondary DNS Warning"
	}
	return string(t)
}

// Event says whether an alert that lasts starts or ends; alerts that do not last have none.
type Event string

const (
	Start Event = "ALERT_STATE_EVENT_START"
	End   Event = "ALERT_STATE_EVENT_END"
)

// Alert is one alert about one zone.
type Alert struct {
	Type          Type
	Event         Event     // Start or End for the failing kinds, "" for the others
	CorrelationID string    // the same on the start and the end of one failure
	Time          time.Time // when it was raised
	Zone          string
	Serial        uint32   // served (or, for a warning, the one the primary sent when known)
	Peer          string   // ip:port of the primary concerned, "" for none in particular
	Error         string   // what went wrong, "" for none
	Warning       string   // for Warning: out_of_zone, serial_backwards, limit, tsig or invalid
	FailingPeers  []string // for the failing kinds: the primaries failing (at the start)
	Records       int      // for ZoneUpdated: records now served; for out_of_zone: records dropped
	TransferType  string   // for ZoneUpdated: axfr or ixfr
	Text          string   // a human-readable description; one is made up when empty
}

// NewID returns a random 32-hex-digit identifier, the form of Cloudflare's correlation IDs.
func NewID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Describe returns the alert's human-readable text: Text, or one made from the fields.
func (a Alert) Describe() string {
	if a.Text != "" {
		return a.Text
	}
	var s string
	peers := strings.Join(a.FailingPeers, ", ")
	switch {
	case a.Type == AllPrimariesFailing && a.Event == End:
		s = fmt.Sprintf("Zone %s: a primary answers again", a.Zone)
	case a.Type == AllPrimariesFailing && a.Serial == 0:
		s = fmt.Sprintf("Zone %s: all primaries failing (%s); the zone has no data yet", a.Zone, peers)
	case a.Type == AllPrimariesFailing:
		s = fmt.Sprintf("Zone %s: all primaries failing (%s); serial %d is served until it expires", a.Zone, peers, a.Serial)
	case a.Type == PrimariesFailing && a.Event == End:
		s = fmt.Sprintf("Zone %s: no primary failing any more", a.Zone)
	case a.Type == PrimariesFailing:
		s = fmt.Sprintf("Zone %s: primaries failing (%s) while another answers", a.Zone, peers)
	case a.Type == ZoneUpdated:
		s = fmt.Sprintf("Zone %s successfully updated to serial %d from %s by %s (%d records)", a.Zone, a.Serial, a.Peer, a.TransferType, a.Records)
	case a.Type == Warning || a.Type == ZoneValidationWarning:
		s = fmt.Sprintf("Zone %s: warning (%s) from %s", a.Zone, a.Warning, a.Peer)
	default:
		s = fmt.Sprintf("Zone %s: %s", a.Zone, a.Type)
	}
	if a.Error != "" && a.Event != End {
		s += ": " + a.Error
	}
	return s
}

// Payload is the JSON body of a webhook delivery, shaped like Cloudflare's generic webhook
// payload.
type Payload struct {
	Name          string `json:"name"`
	Text          string `json:"text"`
	Data          Data   `json:"data"`
	TS            int64  `json:"ts"`
	AccountID     string `json:"account_id,omitempty"`
	PolicyID      string `json:"policy_id,omitempty"`
	PolicyName    string `json:"policy_name,omitempty"`
	AlertType     Type   `json:"alert_type"`
	CorrelationID string `json:"alert_correlation_id,omitempty"`
	AlertEvent    Event  `json:"alert_event,omitempty"`
}

// Data is the alert-specific part of the payload.
type Data struct {
	Zone         string   `json:"zone"`
	Serial       uint32   `json:"serial"`
	Peer         string   `json:"peer,omitempty"`
	Error        string   `json:"error,omitempty"`
	Warning      string   `json:"warning,omitempty"`
	FailingPeers []string `json:"failing_peers,omitempty"`
	Records      int      `json:"records,omitempty"`
	TransferType string   `json:"transfer_type,omitempty"`
}

// PolicyName fills the payload's policy_name: there are no notification policies here, the
// alerts come from this software.
const PolicyName = "cfsecondary"

// Payload returns the alert as a webhook payload.
func (a Alert) Payload() Payload {
	t := a.Time
	if t.IsZero() {
		t = time.Now()
	}
	return Payload{
		Name: a.Type.Title(),
		Text: a.Describe(),
		Data: Data{
			Zone: a.Zone, Serial: a.Serial, Peer: a.Peer, Error: a.Error, Warning: a.Warning,
			FailingPeers: a.FailingPeers, Records: a.Records, TransferType: a.TransferType,
		},
		TS:            t.Unix(),
		PolicyName:    PolicyName,
		AlertType:     a.Type,
		CorrelationID: a.CorrelationID,
		AlertEvent:    a.Event,
	}
}
