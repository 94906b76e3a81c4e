#!/bin/bash
# NAME
#	privsep.sh - privileges and secrets: UserID, socket, keys, logs
# SYNOPSIS
#	tests/privsep.sh		(make check; needs root, else SKIP)
# DESCRIPTION
#	Starts mailauthd -f from the build directory as root with UserID
#	nobody, its unix socket in a directory only root may write to, a
#	signing key (Domain/Selector/KeyFile) and LogWhy (debug logging),
#	then checks:
#	  socket-before-drop  the socket exists in the root-only directory
#	                      (so it was made before the switch), owned by
#	                      the UserID, mode 0660
#	  uid-gid-dropped     every thread runs with real, effective, saved
#	                      and fs uid and gid of nobody, no supplementary
#	                      group but nobody's own
#	  no-capabilities     every thread has empty effective and permitted
#	                      capability sets
#	  signs-as-userid     an outbound message gets a DKIM-Signature (the
#	                      key was loaded before the switch)
#	  no-body-in-log      a token from an inbound and an outbound body is
#	                      nowhere in the log
#	  no-key-in-log       no line of the private key (PEM base64) and no
#	                      "PRIVATE KEY" is in the log
#	  key-readable-refused the same key file made group/other readable:
#	                      mailauthd -n and mailauthd refuse it, naming
#	                      the file, and nothing is left listening
#	  sigterm-exit        SIGTERM ends the daemon with status 0
#	Prints "PASS name" / "FAIL name: why" and "privsep: N passed, N
#	failed"; exit 0, 1, or 77 when not root or nobody is missing.
set -u
TOP=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
# mad_term (SIGTERM and a bounded wait) is the end-to-end tests'
# shellcheck source=tests/e2e/lib.sh
. "$TOP/tests/e2e/lib.sh"
BUILD=${top_builddir:-$TOP/build}
MAILAUTHD=$BUILD/mailauthd
LOADGEN=$BUILD/tests/bench/milter_load
WAIT=20

[ "$(id -u)" = 0 ] || { echo "privsep: SKIP: needs root (UserID)"; exit 77; }
NOBODY_UID=$(id -u nobody 2>/dev/null) || { echo "privsep: SKIP: no user nobody"; exit 77; }
NOBODY_GID=$(id -g nobody)
[ -x "$LOADGEN" ] || make -C "$BUILD" tests/bench/milter_load >/dev/null 2>&1
[ -x "$LOADGEN" ] || { echo "privsep: FAIL: cannot build $LOADGEN"; echo "privsep: 0 passed, 1 failed"; exit 1; }

npass=0 nfail=0
pass() { echo "PASS $1"; npass=$((npass + 1)); }
fail() { echo "FAIL $1: $2"; nfail=$((nfail + 1)); }

D=$(mktemp -d /tmp/mailauth-privsep.XXXXXX) || exit 1
chmod 755 "$D"
PID=''
cleanup() {
	if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
		kill -TERM "$PID" 2>/dev/null
		for _ in $(seq 1 $((WAIT * 10))); do
			kill -0 "$PID" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$PID" 2>/dev/null
	fi
	[ "${KEEP:-0}" = 1 ] || rm -rf "$D"
}
trap cleanup EXIT

mkdir -m 755 "$D/run"			# root-only: nobody cannot bind here
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$D/key.pem" 2>/dev/null
chmod 600 "$D/key.pem"
TOKEN_IN="inbound-body-token-$RANDOM$RANDOM"
TOKEN_OUT="outbound-body-token-$RANDOM$RANDOM"

cat >"$D/mailauthd.conf" <<EOF
Socket unix:$D/run/mailauthd.sock
PidFile $D/run/mailauthd.pid
UserID nobody
AuthservID privsep.test
DNSOffline yes
InternalHosts 127.0.0.1
Domain out.test
Selector s1
KeyFile $D/key.pem
RequireSafeKeys yes
ReportHistory no
LogWhy yes
EOF
msg() {	# msg FILE FROM TOKEN
	printf 'From: <%s>\r\nTo: <u@rcpt.test>\r\nSubject: privsep\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\nMessage-ID: <%s@privsep.test>\r\n\r\nhello\r\n%s\r\n' \
		"$2" "$3" "$3" >"$1"
}
msg "$D/in.eml" alice@in.test "$TOKEN_IN"
msg "$D/out.eml" alice@out.test "$TOKEN_OUT"

"$MAILAUTHD" -f -c "$D/mailauthd.conf" 2>"$D/mailauthd.log" &
PID=$!
for _ in $(seq 1 $((WAIT * 10))); do
	[ -S "$D/run/mailauthd.sock" ] && break
	kill -0 "$PID" 2>/dev/null || break
	sleep 0.1
done

# socket-before-drop
if [ ! -S "$D/run/mailauthd.sock" ]; then
	fail socket-before-drop "no socket: $(tail -3 "$D/mailauthd.log" | tr '\n' ' ')"
else
	st=$(stat -c '%u %a' "$D/run/mailauthd.sock")
	if [ "$st" = "$NOBODY_UID 660" ]; then
		pass socket-before-drop
	else
		fail socket-before-drop "owner/mode $st, want $NOBODY_UID 660"
	fi
fi

# uid-gid-dropped, no-capabilities: every thread
bad_id='' bad_cap='' nthreads=0
for t in /proc/$PID/task/*; do
	[ -r "$t/status" ] || continue
	nthreads=$((nthreads + 1))
	u=$(awk '/^Uid:/ {print $2, $3, $4, $5}' "$t/status")
	g=$(awk '/^Gid:/ {print $2, $3, $4, $5}' "$t/status")
	grp=$(awk '/^Groups:/ {$1 = ""; print}' "$t/status" | tr -s ' ' | sed 's/^ //; s/ $//')
	want_u="$NOBODY_UID $NOBODY_UID $NOBODY_UID $NOBODY_UID"
	want_g="$NOBODY_GID $NOBODY_GID $NOBODY_GID $NOBODY_GID"
	if [ "$u" != "$want_u" ] || [ "$g" != "$want_g" ] ||
		{ [ -n "$grp" ] && [ "$grp" != "$NOBODY_GID" ]; }; then
		bad_id="$bad_id $(basename "$t"):uid[$u]gid[$g]groups[$grp]"
	fi
	ce=$(awk '/^CapEff:/ {print $2}' "$t/status")
	cp=$(awk '/^CapPrm:/ {print $2}' "$t/status")
	if [ "$ce" != 0000000000000000 ] || [ "$cp" != 0000000000000000 ]; then
		bad_cap="$bad_cap $(basename "$t"):eff=$ce,prm=$cp"
	fi
done
if [ "$nthreads" = 0 ]; then
	fail uid-gid-dropped "mailauthd not running"
	fail no-capabilities "mailauthd not running"
else
	if [ -z "$bad_id" ]; then pass uid-gid-dropped; else fail uid-gid-dropped "$bad_id"; fi
	if [ -z "$bad_cap" ]; then pass no-capabilities; else fail no-capabilities "$bad_cap"; fi
fi

# traffic: one inbound, one outbound message
"$LOADGEN" -s "unix:$D/run/mailauthd.sock" -c 1 -n 1 -q -r -H Authentication-Results \
	-f "$D/in.eml,client=192.0.2.10,helo=mail.in.test,from=alice@in.test,rcpt=u@rcpt.test,daemon=MX,expect=accept" \
	>"$D/in.out" 2>&1
"$LOADGEN" -s "unix:$D/run/mailauthd.sock" -c 1 -n 1 -q -r -H DKIM-Signature \
	-f "$D/out.eml,client=127.0.0.1,helo=localhost,from=alice@out.test,rcpt=u@rcpt.test,daemon=ORIGINATING,expect=accept" \
	>"$D/out.out" 2>&1
if grep -q 'hdr_missing=0' "$D/out.out" && grep -q 'accept=1' "$D/out.out"; then
	pass signs-as-userid
else
	fail signs-as-userid "$(tail -1 "$D/out.out")"
fi
sleep 0.5
if ! grep -q "qid=" "$D/mailauthd.log"; then
	fail no-body-in-log "no per-message log line to look at"
elif grep -q -e "$TOKEN_IN" -e "$TOKEN_OUT" "$D/mailauthd.log"; then
	fail no-body-in-log "a body token is in the log"
else
	pass no-body-in-log
fi
leak=''
grep -q "PRIVATE KEY" "$D/mailauthd.log" && leak="PRIVATE KEY"
while IFS= read -r line; do
	case "$line" in -----*) continue ;; esac
	[ ${#line} -ge 32 ] && grep -qF -- "$line" "$D/mailauthd.log" && { leak="key line ${line:0:12}..."; break; }
done <"$D/key.pem"
if [ -z "$leak" ]; then pass no-key-in-log; else fail no-key-in-log "$leak"; fi

# sigterm-exit
mad_term "$PID"
[ "$MAD_RC" = timeout ] || PID=''	# else cleanup kills it
if [ "$MAD_RC" = 0 ]; then pass sigterm-exit; else fail sigterm-exit "status '$MAD_RC'"; fi

# key-readable-refused (the stopped daemon, as nobody, could not unlink
# its socket in the root-only directory: a stale one, replaced at start)
rm -f "$D/run/mailauthd.sock"
chmod 640 "$D/key.pem"
out=$("$MAILAUTHD" -n -c "$D/mailauthd.conf" 2>&1)
rc_n=$?
timeout $WAIT "$MAILAUTHD" -f -c "$D/mailauthd.conf" >"$D/refused.log" 2>&1
rc_d=$?
if [ $rc_n = 0 ]; then
	fail key-readable-refused "mailauthd -n accepted a group-readable key"
elif ! echo "$out" | grep -qF "$D/key.pem"; then
	fail key-readable-refused "the error does not name the key file: $out"
elif [ $rc_d = 0 ] || [ $rc_d = 124 ]; then
	fail key-readable-refused "the daemon started (status $rc_d)"
elif [ -S "$D/run/mailauthd.sock" ]; then
	fail key-readable-refused "it opened its socket"
else
	pass key-readable-refused
fi

echo "privsep: $npass passed, $nfail failed"
[ $nfail = 0 ]
