#!/bin/bash
# NAME
#	systemd.sh - the systemd unit and mailauthd's sd_notify messages
# SYNOPSIS
#	tests/systemd.sh		(make check)
# DESCRIPTION
#	Checks the unit the build generated (contrib/mailauthd.service):
#	  unit-generated   every @dir@ substituted, Type=notify, ExecStart
#	                   runs mailauthd -f, ExecReload sends SIGHUP,
#	                   TimeoutStopSec above the 30 s graceful stop
#	  unit-verify      systemd-analyze verify on a copy whose ExecStart
#	                   is this build's mailauthd (the installed path need
#	                   not exist), its Documentation= pages found in a
#	                   man tree of this build: no error, no warning about
#	                   the unit (works without systemd as PID 1)
#	then runs tests/sd_notify.py (ready-after-socket, ready-after-drop
#	as root with UserID nobody, reload-notify, reload-failed-notify,
#	stopping-notify, sigterm-exit, no-notify-socket; see there).
#	Prints "PASS name" / "FAIL name: why" and "systemd: N passed, N
#	failed"; exit 0 or 1. Writes only in a directory under TMPDIR.
set -u
TOP=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
BUILD=${top_builddir:-$TOP/build}
UNIT=$BUILD/contrib/mailauthd.service

npass=0 nfail=0
pass() { echo "PASS $1"; npass=$((npass + 1)); }
fail() { echo "FAIL $1: $2"; nfail=$((nfail + 1)); }

D=$(mktemp -d "${TMPDIR:-/tmp}/mailauth-systemd.XXXXXX") || exit 1
chmod 755 "$D"
trap '[ "${KEEP:-0}" = 1 ] || rm -rf "$D"' EXIT

# unit-generated
[ -f "$UNIT" ] || make -C "$BUILD" contrib/mailauthd.service >/dev/null 2>&1
stop_s=$(sed -n 's/^TimeoutStopSec=\([0-9]*\)$/\1/p' "$UNIT" 2>/dev/null)
if [ ! -f "$UNIT" ]; then
	fail unit-generated "no $UNIT"
elif grep -q '@[a-z_]*@' "$UNIT"; then
	fail unit-generated "not substituted: $(grep -o '@[a-z_]*@' "$UNIT" | sort -u | tr '\n' ' ')"
elif ! grep -qx 'Type=notify' "$UNIT"; then
	fail unit-generated "not Type=notify"
elif ! grep -q '^ExecStart=/[^ ]*/mailauthd -f' "$UNIT"; then
	fail unit-generated "ExecStart: $(grep '^ExecStart=' "$UNIT")"
elif ! grep -qx 'ExecReload=/bin/kill -HUP $MAINPID' "$UNIT"; then
	fail unit-generated "ExecReload: $(grep '^ExecReload=' "$UNIT")"
elif [ -z "$stop_s" ] || [ "$stop_s" -le 30 ]; then
	fail unit-generated "TimeoutStopSec '$stop_s', want more than 30"
else
	pass unit-generated
fi

# unit-verify
if ! command -v systemd-analyze >/dev/null; then
	fail unit-verify "no systemd-analyze (apt-get install systemd)"
elif [ -f "$UNIT" ]; then
	sed "s|^ExecStart=[^ ]*|ExecStart=$BUILD/mailauthd|" "$UNIT" >"$D/mailauthd.service"
	mkdir -p "$D/man/man5" "$D/man/man8"
	cp "$TOP/doc/mailauthd.8" "$D/man/man8/"
	[ -f "$BUILD/doc/mailauthd.conf.5" ] ||
		make -C "$BUILD" doc/mailauthd.conf.5 >/dev/null 2>&1
	cp "$BUILD/doc/mailauthd.conf.5" "$D/man/man5/" 2>/dev/null
	man_opt=--man=yes
	command -v man >/dev/null || man_opt=--man=no	# no man-db: pages unchecked
	out=$(cd "$D" && MANPATH="$D/man" systemd-analyze verify "$man_opt" \
		"$D/mailauthd.service" 2>&1)
	rc=$?
	ours=$(echo "$out" | grep 'mailauthd\.service')
	if [ $rc != 0 ] || [ -n "$ours" ]; then
		fail unit-verify "status $rc: $(echo "${ours:-$out}" | head -n 5 | tr '\n' ' ')"
	else
		pass unit-verify
	fi
else
	fail unit-verify "no unit"
fi

# the sd_notify cases
userid=''
[ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1 && userid=nobody
out=$(timeout 300 python3 "$TOP/tests/sd_notify.py" "$BUILD/mailauthd" "$D" $userid 2>&1)
rc=$?
echo "$out"
p=$(echo "$out" | grep -c '^PASS ')
f=$(echo "$out" | grep -c '^FAIL ')
npass=$((npass + p)) nfail=$((nfail + f))
if [ $rc != 0 ] || [ $((p + f)) = 0 ]; then
	fail sd-notify-run "sd_notify.py status $rc"
	tail -n 20 "$D/notify-mailauthd.log" 2>/dev/null
fi
[ $nfail = 0 ] || tail -n 20 "$D/notify-mailauthd.log" 2>/dev/null

echo "systemd: $npass passed, $nfail failed"
[ $nfail = 0 ]
