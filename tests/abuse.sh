#!/bin/bash
# NAME
#	abuse.sh - milter-protocol abuse of mailauthd (make check)
# SYNOPSIS
#	tests/abuse.sh [BUILD_DIR]	(make check: top_builddir)
# DESCRIPTION
#	Makes the tests/bench/load_data.py data set (keys, zone file,
#	signed messages) in a private temporary directory, starts
#	mailauthd -f from the build directory on a unix socket with
#	DNSZoneFile/DNSOffline and a raised RLIMIT_NOFILE, and runs
#	tests/abuse/milter_abuse against it (connections closed at every
#	stage, aborts, QUIT/QUIT_NC, 5000 messages on one connection,
#	2000 connections at once and some beyond the thread pool,
#	oversized and malformed packets; a normal message after each).
#	When miltertest is installed, tests/abuse/*.lua run against the
#	same daemon. Then: a normal message still accepted, SIGTERM ends
#	mailauthd with status 0, and its stderr holds no sanitizer report.
#	Prints "PASS name" / "FAIL name: why" and
#	"abuse: N passed, N failed"; exit 1 on any failure, 77 (skip)
#	when python3-dkim is missing.
# ENVIRONMENT
#	ABUSE_MSGS (5000), ABUSE_CONNS (2000), KEEP=1 keeps the directory.
set -u

TOP=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
# mad_term (SIGTERM and a bounded wait) is the end-to-end tests'
# shellcheck source=tests/e2e/lib.sh
. "$TOP/tests/e2e/lib.sh"
BUILD=${1:-${top_builddir:-$(pwd)}}
BUILD=$(cd "$BUILD" && pwd)
PY=/usr/bin/python3
WAIT=60
MAD=$BUILD/mailauthd
ABUSE=$BUILD/tests/abuse/milter_abuse
PASS=0 FAIL=0

pass() { echo "PASS $1"; PASS=$((PASS + 1)); }
fail() { echo "FAIL $1: $2"; FAIL=$((FAIL + 1)); }
finish() {
	echo "abuse: $PASS passed, $FAIL failed"
	[ "$FAIL" = 0 ] && exit 0
	exit 1
}

$PY -c 'import dkim' 2>/dev/null || { echo "abuse.sh: python3-dkim missing: skipped"; exit 77; }
for f in "$MAD" "$ABUSE"; do
	[ -x "$f" ] || { fail build "$f not built"; finish; }
done

mad_workdir abuse || { fail data "load_data.py failed"; finish; }
SOCK=$D/mailauthd.sock
cat >"$D/mailauthd.conf" <<EOF
# tests/abuse.sh
Socket unix:$SOCK
PidFile $D/mailauthd.pid
AuthservID mx.abuse.example
Hostname mx.abuse.example
DNSZoneFile $D/zone
DNSOffline yes
InternalHosts 127.0.0.0/8, ::1
RejectFailures yes
KeyTable $D/KeyTable
SigningTable refile:$D/SigningTable.rsa
SigningDaemons ORIGINATING
ReportDatabase sqlite:$D/history.db
EOF
"$MAD" -n -c "$D/mailauthd.conf" >"$D/check.log" 2>&1 ||
	{ fail config "$(head -3 "$D/check.log")"; finish; }

# 2000 connections and the pool's 2048 threads want descriptors; a
# lower hard limit gets fewer connections (said so)
ulimit -n 8192 2>/dev/null || ulimit -n "$(ulimit -Hn)"
CONNS=${ABUSE_CONNS:-2000}
if [ "$(ulimit -n)" != unlimited ] && [ $((CONNS + 300)) -gt "$(ulimit -n)" ]; then
	CONNS=$(($(ulimit -n) - 300))
	echo "abuse.sh: RLIMIT_NOFILE $(ulimit -n): $CONNS connections at once"
fi
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
"$MAD" -f -c "$D/mailauthd.conf" >"$D/mailauthd.log" 2>&1 &
MAD_PID=$!
for _ in $(seq 1 $((WAIT * 10))); do
	[ -S "$SOCK" ] && break
	kill -0 "$MAD_PID" 2>/dev/null || break
	sleep 0.1
done
[ -S "$SOCK" ] || { fail start "$(tail -5 "$D/mailauthd.log")"; finish; }

# ------------------------------------------------------------ milter_abuse
timeout 1200 "$ABUSE" -s "unix:$SOCK" -m "$D/msg/verify-1.eml" \
	-n "${ABUSE_MSGS:-5000}" -c "$CONNS" >"$D/abuse.out" 2>&1
rc=$?
while read -r w name rest; do
	case $w in
	PASS) pass "$name" ;;
	FAIL) fail "${name%:}" "$rest" ;;
	esac
done <"$D/abuse.out"
grep -q '^milter_abuse: ' "$D/abuse.out" ||
	fail milter_abuse "ended without its summary (status $rc): $(tail -2 "$D/abuse.out" | tr '\n' ' ')"

# ------------------------------------------------------------ miltertest
if command -v miltertest >/dev/null; then
	for t in "$TOP"/tests/abuse/*.lua; do
		n=miltertest_$(basename "$t" .lua)
		if out=$(cd "$D" && timeout 120 miltertest -D socket="unix:$SOCK" \
			-D msg="$D/msg/verify-1.eml" -s "$t" 2>&1); then
			pass "$n"
		else
			fail "$n" "$(echo "$out" | tail -3 | tr '\n' ' ')"
		fi
	done
else
	echo "abuse.sh: miltertest not installed: its scripts skipped"
fi

# ------------------------------------------------------------ the daemon
if kill -0 "$MAD_PID" 2>/dev/null; then
	"$ABUSE" -s "unix:$SOCK" -m "$D/msg/verify-1.eml" -k close_after_optneg \
		>"$D/final.out" 2>&1 && pass daemon_alive_after_abuse ||
		fail daemon_alive_after_abuse "$(tr '\n' ' ' <"$D/final.out")"
else
	fail daemon_alive_after_abuse "mailauthd is gone"
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
	fail sanitizer_clean "$(grep -m1 -E 'Sanitizer|runtime error:' "$D/mailauthd.log")"
	grep -A30 -m1 -E 'ERROR: .*Sanitizer|runtime error:' "$D/mailauthd.log" | head -40
	KEEP=1
else
	pass sanitizer_clean
fi
finish
