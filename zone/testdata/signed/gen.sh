#!/bin/sh
# Signs dnssec.test.zone three ways with a throw-away ECDSA P-256 KSK and ZSK
# (BIND's dnssec-keygen and dnssec-signzone, package bind9-utils): NSEC,
# NSEC3 (salt, 5 iterations) and NSEC3 with opt-out. Signatures run to 2090
# so the fixtures stay valid; the tests do not check times anyway.
set -e
cd "$(dirname "$0")"
k=$(mktemp -d)
trap 'rm -rf "$k"' EXIT
dnssec-keygen -q -K "$k" -a ECDSAP256SHA256 -f KSK dnssec.test >/dev/null
dnssec-keygen -q -K "$k" -a ECDSAP256SHA256 dnssec.test >/dev/null
sign() { dnssec-signzone -q -S -K "$k" -d "$k" -o dnssec.test -s 20260101000000 -e 20900101000000 -f "$@" dnssec.test.zone >/dev/null; }
sign nsec.zone
sign nsec3.zone -3 abcd -H 5
sign nsec3-optout.zone -3 abcd -H 0 -A
