#!/bin/bash
# NAME
#	sign.sh - signing cost beside the raw OpenSSL sign cost, one run
# SYNOPSIS
#	tests/bench/sign.sh [COUNT]	(make bench runs it from the build dir)
# DESCRIPTION
#	Runs tests/bench/sign_bench (CPU per DKIM signature through
#	ma_dkim_sign_* on a ~4 KB message, RSA-2048 and Ed25519) and then
#	`openssl speed -seconds 3 rsa2048 ed25519` on the same machine, and
#	prints both with the ratio ours / openssl speed (issue target: 1.3x).
#	A benchmark: it prints figures and asserts nothing.
set -u
COUNT=${1:-2000}
BUILD=${top_builddir:-.}
out=$("$BUILD/tests/bench/sign_bench" "$COUNT") || { echo "sign_bench failed"; exit 1; }
echo "$out"
speed=$(openssl speed -seconds 3 rsa2048 ed25519 2>/dev/null)
rsa_s=$(echo "$speed" | awk '/^rsa 2048 bits/ { print $6 }')
ed_s=$(echo "$speed" | awk '/EdDSA \(Ed25519\)/ { print $7 }')
ours_rsa=$(echo "$out" | awk '$1 == "RSA" { print $2 }')
ours_ed=$(echo "$out" | awk '$1 == "ED25519" { print $2 }')
echo
echo "openssl speed (same run): rsa2048 ${rsa_s:-?} sign/s, ed25519 ${ed_s:-?} sign/s"
awk -v o="$ours_rsa" -v s="$rsa_s" -v oe="$ours_ed" -v se="$ed_s" 'BEGIN {
	printf "%-8s %12s %16s %8s\n", "key", "ours us/sig", "openssl us/sig", "ratio"
	if (s > 0) printf "%-8s %12.1f %16.1f %8.2f\n", "RSA-2048", o, 1e6 / s, o / (1e6 / s)
	if (se > 0) printf "%-8s %12.1f %16.1f %8.2f\n", "Ed25519", oe, 1e6 / se, oe / (1e6 / se)
}'
