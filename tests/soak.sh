#!/bin/bash
# NAME
#	soak.sh - mailauthd under a long mixed milter-protocol load
# SYNOPSIS
#	tests/soak.sh BUILD_DIR [COUNT]
#	(tests/run-all.sh: build-asan, COUNT 100000; not in make check)
# DESCRIPTION
#	Makes the tests/bench/load_data.py data set in a private temporary
#	directory, plus two outbound messages From dual@signer.example; one
#	mailauthd -f from BUILD_DIR (DNSZoneFile, DNSOffline, unix socket)
#	with one SigningTable: "*@signer.example" signs with the RSA key,
#	dual@signer.example also with the Ed25519 one. ASAN_OPTIONS has
#	detect_leaks=1, so a sanitizer build reports leaks at exit.
#
#	tests/bench/milter_load sends COUNT messages in all (a tenth, at
#	least 1000, as warm-up, then the rest timed), 8 connections, 10
#	messages per connection, sources round robin per connection:
#	verify-1..4 (SPF+DKIM+DMARC pass: accept), reject.eml (DMARC
#	p=reject failure: reject), sign-1..2 (RSA: accept), sign-dual-1..2
#	(RSA + Ed25519: accept); -r checks every final reply.
#
#	Checks, one line each ("PASS name" / "FAIL name: why"):
#	  replies	no errors, no wrong replies, COUNT messages
#	  rss_flat	VmRSS at the end <= after warm-up * 1.10 + 5 MB
#	  sigterm_exit	SIGTERM ends mailauthd with status 0
#	  no_leaks	no sanitizer report (LeakSanitizer included) in
#			mailauthd's stderr
#	Figures: messages, seconds, msgs/s, RSS at start, after warm-up,
#	at the end, peak. Last line: "soak: N passed, N failed".
# ENVIRONMENT
#	TIME_LIMIT (seconds for the timed part, default 3600), KEEP=1
#	keeps the temporary directory.
set -u

[ $# -ge 1 ] && [ -d "$1" ] || { echo "usage: soak.sh BUILD_DIR [COUNT]" >&2; exit 2; }
TOP=$(cd "$(dirname "$0")/.." && pwd)
# mad_term (SIGTERM and a bounded wait) is the end-to-end tests'
# shellcheck source=tests/e2e/lib.sh
. "$TOP/tests/e2e/lib.sh"
BUILD=$(cd "$1" && pwd)
COUNT=${2:-100000}
TIME_LIMIT=${TIME_LIMIT:-3600}
PY=/usr/bin/python3
WAIT=60
MAD=$BUILD/mailauthd
LOADGEN=$BUILD/tests/bench/milter_load
PASS=0 FAIL=0

pass() { echo "PASS $1"; PASS=$((PASS + 1)); }
fail() { echo "FAIL $1: $2"; FAIL=$((FAIL + 1)); }
finish() {
	echo "soak: $PASS passed, $FAIL failed"
	[ "$FAIL" = 0 ] && exit 0
	exit 1
}
field() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p"; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }

if [ ! -x "$LOADGEN" ] && [ -f "$BUILD/Makefile" ]; then
	make -C "$BUILD" tests/bench/milter_load >/dev/null 2>&1
fi
for f in "$MAD" "$LOADGEN"; do
	[ -x "$f" ] || { fail build "$f not built"; finish; }
done
$PY -c 'import dkim' 2>/dev/null || { fail data "python3-dkim missing"; finish; }

mad_workdir soak || { fail data "load_data.py failed"; finish; }
for i in 1 2; do
	sed 's/newsletter@signer\.example/dual@signer.example/g' \
		"$D/msg/sign-$((i + 2)).eml" >"$D/msg/sign-dual-$i.eml"
done
cat >"$D/SigningTable.soak" <<EOF
*@signer.example rsa._domainkey.signer.example
dual@signer.example ed._domainkey.signer.example
EOF
SOCK=$D/mailauthd.sock
cat >"$D/mailauthd.conf" <<EOF
# tests/soak.sh
Socket unix:$SOCK
PidFile $D/mailauthd.pid
AuthservID mx.soak.example
Hostname mx.soak.example
DNSZoneFile $D/zone
DNSOffline yes
InternalHosts 127.0.0.0/8, ::1
RejectFailures yes
KeyTable $D/KeyTable
SigningTable refile:$D/SigningTable.soak
SigningDaemons ORIGINATING
ReportDatabase sqlite:$D/history.db
ReportSpool $D/history.spool
EOF
"$MAD" -n -c "$D/mailauthd.conf" >"$D/check.log" 2>&1 ||
	{ fail config "$(head -3 "$D/check.log")"; finish; }

export ASAN_OPTIONS=detect_leaks=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}
"$MAD" -f -c "$D/mailauthd.conf" >"$D/mailauthd.log" 2>&1 &
MAD_PID=$!
for _ in $(seq 1 $((WAIT * 10))); do
	[ -S "$SOCK" ] && break
	kill -0 "$MAD_PID" 2>/dev/null || break
	sleep 0.1
done
[ -S "$SOCK" ] || { fail start "$(tail -5 "$D/mailauthd.log")"; finish; }
RSS0=$(rss_kb "$MAD_PID")

args=()
for i in 1 2 3 4; do
	args+=(-f "$D/msg/verify-$i.eml,client=203.0.113.25,name=mail.sender$i.example,from=bounce@sender$i.example,rcpt=user$i@rcpt.example,helo=mail.sender$i.example,daemon=MX,expect=accept")
done
args+=(-f "$D/msg/reject.eml,client=198.51.100.7,from=bounce@sender1.example,rcpt=user1@rcpt.example,helo=mail.sender1.example,daemon=MX,expect=reject")
for i in 1 2; do
	args+=(-f "$D/msg/sign-$i.eml,client=127.0.0.1,name=localhost,from=newsletter@signer.example,rcpt=user$i@rcpt.example,helo=app.signer.example,daemon=ORIGINATING,expect=accept")
	args+=(-f "$D/msg/sign-dual-$i.eml,client=127.0.0.1,name=localhost,from=dual@signer.example,rcpt=user$i@rcpt.example,helo=app.signer.example,daemon=ORIGINATING,expect=accept")
done
WARM=$((COUNT / 10))
[ "$WARM" -lt 1000 ] && WARM=1000
[ "$WARM" -gt $((COUNT / 2)) ] && WARM=$((COUNT / 2))
TIMED=$((COUNT - WARM))

echo "soak.sh: $COUNT messages ($WARM warm-up), 8 connections, 10 per connection, $(basename "$BUILD")"
t0=$(date +%s.%N)
line=$(timeout $((TIME_LIMIT + 600)) "$LOADGEN" -q -r -s "unix:$SOCK" -c 8 -m 10 \
	-n "$TIMED" -w "$WARM" -t "$TIME_LIMIT" -p "$MAD_PID" -e 20 "${args[@]}" \
	2>"$D/loadgen.err" | tail -n 1)
t1=$(date +%s.%N)
RSS_END=$(rss_kb "$MAD_PID")
echo "soak.sh: milter_load: $line"

msgs=$(field "$line" msgs) errs=$(field "$line" errors) mism=$(field "$line" mismatches)
rssw=$(field "$line" rss_kb_start) hwm=$(field "$line" hwm_kb)
secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
rate=$(awk -v n="$COUNT" -v s="$secs" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }')
echo "soak.sh: $COUNT messages in $secs s ($rate msgs/s overall; timed part $(field "$line" rate))"
echo "soak.sh: RSS start ${RSS0:-?} kB, after warm-up ${rssw:-?} kB, end ${RSS_END:-?} kB, peak ${hwm:-?} kB"
echo "soak.sh: replies accept=$(field "$line" accept) reject=$(field "$line" reject)" \
	"tempfail=$(field "$line" tempfail) other=$(field "$line" other)"

if [ -z "$line" ] || [ -z "$msgs" ]; then
	fail replies "milter_load gave no result: $(tail -3 "$D/loadgen.err" | tr '\n' ' ')"
elif [ "$errs" != 0 ] || [ "$mism" != 0 ] || [ "$msgs" != "$TIMED" ]; then
	fail replies "msgs=$msgs (want $TIMED timed) errors=$errs mismatches=$mism: $(head -3 "$D/loadgen.err" | tr '\n' ' ')"
else
	pass replies
fi
if [ -n "$rssw" ] && [ "$rssw" != - ] && [ -n "$RSS_END" ]; then
	limit=$((rssw + rssw / 10 + 5120))
	if [ "$RSS_END" -le "$limit" ]; then
		pass rss_flat
	else
		fail rss_flat "end $RSS_END kB > $limit kB (after warm-up $rssw kB + 10% + 5 MB)"
	fi
else
	fail rss_flat "no RSS figures"
fi

mad_term "$MAD_PID"
if [ "$MAD_RC" = timeout ]; then
	kill -9 "$MAD_PID" 2>/dev/null
	wait "$MAD_PID" 2>/dev/null
	fail sigterm_exit "still running ${WAIT}s after SIGTERM"
elif [ "$MAD_RC" = 0 ]; then
	pass sigterm_exit
else
	fail sigterm_exit "status $MAD_RC"
fi
MAD_PID=''
if grep -qE 'Sanitizer|runtime error:' "$D/mailauthd.log"; then
	fail no_leaks "$(grep -m1 -E 'Sanitizer|runtime error:' "$D/mailauthd.log")"
	grep -A40 -m1 -E 'ERROR: .*Sanitizer|runtime error:' "$D/mailauthd.log" | head -60
else
	pass no_leaks
fi
finish
