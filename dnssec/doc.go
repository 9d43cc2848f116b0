// Package dnssec signs the answers of a zone transferred unsigned from a
// hidden primary, online and with our own keys, as Cloudflare's secondary
// DNS does for "DNSSEC with a hidden primary", and serves multi-signer zones
// (RFC 8901, model 2).
//
// # Why not CoreDNS's dnssec plugin
//
// CoreDNS's dnssec plugin signs the messages of the plugins after it on the
// fly, with NSEC "black lies". Chained before cfsecondary it would sign our
// answers, but it sees messages, not the zone, and so it cannot:
//
//   - tell an empty non-terminal or a NODATA from an NXDOMAIN by more than
//     the rcode, nor know which types exist at a name: its NSEC bitmaps are
//     fixed lists (claiming A, TXT, SRV... everywhere), where RFC 9824 wants
//     the real types, only RRSIG and NSEC at an empty non-terminal, and
//     NXNAME for a name that does not exist;
//   - publish CDS and CDNSKEY, or a DNSKEY RRset other than its own keys: no
//     multi-signer union, no keys but per-zone files given in the Corefile,
//     none generated;
//   - deny with NSEC3;
//   - reuse signatures across zone versions by content with the RRset's
//     real TTLs (it signs everything with TTL 3600, which changes the TTLs
//     validators see, and keys its cache on rr.String(), which allocates per
//     RR per query).
//
// So the package signs itself, from the zone snapshot (package zone) that
// cfsecondary answers from, and the plugin must not be configured for zones
// that cfsecondary signs. Signing uses miekg/dns, as the plugin does.
//
// # Keys
//
// Keys are BIND key files, K<zone>+<alg>+<tag>.key and .private, made by
// dnssec-keygen or by GenerateKeys on first start (a KSK, flags 257, and a
// ZSK, flags 256, ECDSAP256SHA256 or ED25519), so either tool's keys work
// with the other's. BIND's timing metadata (Publish, Activate, Inactive,
// Delete) is honoured when the Signer is made, which makes rollovers a
// matter of dnssec-keygen/dnssec-settime and a reload.
//
// # Answers
//
// Signer.Sign takes the unsigned zone's answer (zone.Lookup's Result) and
// returns the signed one. Every RRset in the answer and authority sections
// is signed by the ZSK, the DNSKEY, CDS and CDNSKEY RRsets by the KSK; the NS
// RRset of a referral and glue are not signed (RFC 4035 2.2), the DS of a
// signed delegation is, an insecure delegation gets the proof that it has
// no DS.
//
// Denial of existence is compact by default (RFC 9824, what Cloudflare
// serves): the answer for a name that does not exist is NOERROR with one
// NSEC owned by the name, next name \000.<name>, bitmap RRSIG NSEC NXNAME;
// NODATA has the same NSEC with the types that do exist at the name; an
// empty non-terminal has RRSIG and NSEC only. One NSEC, one signature, and
// nothing of the zone revealed. Without DO an NXDOMAIN stays NXDOMAIN.
//
// Wildcard answers under compact denial are signed as if the name asked for
// existed: the RRSIG's label count is that of the name, so validators see an
// ordinary positive answer and need no proof that no closer name exists (the
// proof that a wildcard answer otherwise carries, RFC 4035 3.1.3.3).
// Cloudflare's black lies do the same. The cost is one signature per name
// asked for under a wildcard, bounded by the cache. A NODATA for such a name
// is a compact NODATA at the name with the wildcard's types.
//
// NSEC3 (RFC 5155, parameters of RFC 9276: SHA-1, no salt, no extra
// iterations, no opt-out) is there on request: the chain of a zone version
// is built once (Prepare, or the first query of the version), with entries
// for every authoritative name, delegation and empty non-terminal, and
// answers carry the closest-encloser proofs of RFC 5155 7.2. Wildcard
// answers then are signed as the wildcard and carry the NSEC3 covering the
// next closer name, as a pre-signed zone's would.
//
// # Multi-signer
//
// With Options.MultiSigner, the transferred zone's apex DNSKEY RRset holds
// the other providers' keys (at least their ZSKs, RFC 8901 model 2). We serve
// the union of ours and theirs, signed by our KSK, and sign the zone's data
// with our ZSK, so a resolver that got the DNSKEY RRset from either provider
// validates data from both. CDS and CDNSKEY are published, for our KSK and
// theirs, only while another provider's KSK is in the transferred RRset:
// the parent must learn every provider's DS at once.
//
// # Signature cache
//
// Signatures are cached by the content of what they sign: a 128-bit hash of
// the RRset's owner (lower case), type, class, TTL and RDATA, and the key.
// Two versions of the zone that share an RRset share its signature, so after
// an IXFR only the RRsets that changed (and the SOA) are signed again. The
// cache is bounded (Options.CacheSize, CLOCK eviction), split into shards
// with their own locks; a hit takes one shard's read lock and allocates
// nothing. Signatures start Options.Backdate in the past, are valid for
// Options.Validity less up to Options.Jitter, and are made again on use once
// less than Options.Refresh is left (by one query, the others keep serving
// the old one, still valid); queries that miss on the same RRset at once
// wait for one signature rather than each making one.
package dnssec
