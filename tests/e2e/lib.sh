# shellcheck shell=bash disable=SC2034 # variables set here are the callers'
# NAME
#	lib.sh - shell functions shared by the end-to-end tests
# SYNOPSIS
#	E2E_TAG=e2e; . "$TOP/tests/e2e/lib.sh"	(from postfix.sh, sendmail.sh)
# DESCRIPTION
#	Sourced, never run. The caller sets E2E_TAG (the prefix of its
#	summary line "$E2E_TAG: N passed, N failed") and E2E_LOGS (the log
#	files show_logs prints), and owns D (its temporary directory),
#	SINKDIR (where smtp-sink dumps), MTA_PORT (where send connects),
#	MILTER_PORT, DNS_PORT and MAD_PID. Provides:
#	  pass, fail, die, e2e_finish   case results and the summary line
#	  stop_pid PID, wait_tcp PORT, port [udp]
#	  e2e_find_build [DIR]          BUILD, MAILAUTHD (or exit 1)
#	  e2e_inbound_key               $D/keys/e2e.key and its KEYTXT
#	  rsa_rec KEY, ed_rec KEY       DKIM key records of private keys
#	  e2e_dns_start                 nsd serving $D/dns/records (or the
#	                                records as DNSZoneFile); DNS_CONF
#	                                for mailauthd.conf, VDNS for sign_tool
#	  mkmsg, mkmsgs, send, sendp    make and send test messages
#	  delivered, our_ar, tr_crlf    look at the sink's copies
#	  signed, unsigned              the outbound signing checks
#	  mad_term                      SIGTERM mailauthd, bounded wait
#	  e2e_mailauthd_end             the cases mailauthd-alive and
#	                                mailauthd-stop
# ENVIRONMENT
#	E2E_DNS=nsd|zone (default nsd when installed), E2E_VERBOSE=1.

PY=/usr/bin/python3
TOOL="$TOP/tests/e2e/e2e_tool.py"
STOOL="$TOP/tests/e2e/sign_tool.py"
WAIT=20				# seconds, every bounded wait
AUTHSERV=mx.e2e.example
SELECTOR=e2e
NSD_PID=''
REPLY_TEXT=''

npass=0
nfail=0
pass() { echo "PASS $1"; npass=$((npass + 1)); }
fail() { echo "FAIL $1: $2"; nfail=$((nfail + 1)); }
die() {
	echo "$E2E_TAG: setup failed: $*" >&2
	show_logs >&2
	echo "$E2E_TAG: $npass passed, $((nfail + 1)) failed"
	exit 1
}

# e2e_finish - the logs when something failed, the summary line, status
e2e_finish() {
	[ $nfail -gt 0 ] && show_logs
	echo "$E2E_TAG: $npass passed, $nfail failed"
	[ $nfail -eq 0 ]
}

show_logs() {
	[ -n "${D:-}" ] || return 0
	local f
	for f in $E2E_LOGS; do
		[ -s "$f" ] && { echo "--- $f"; tail -n 60 "$f"; }
	done
	return 0
}

# stop_pid - TERM a process we started, KILL it after a bounded wait
stop_pid() {
	local pid=$1
	[ -n "$pid" ] || return 0
	kill "$pid" 2>/dev/null || return 0
	for _ in $(seq 1 50); do
		kill -0 "$pid" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -9 "$pid" 2>/dev/null
	return 0
}

# wait_tcp PORT - until something listens on 127.0.0.1:PORT (bounded)
wait_tcp() {
	for _ in $(seq 1 $((WAIT * 10))); do
		timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

port() { $PY "$TOOL" freeport "$@"; }

# e2e_find_build [DIR] - BUILD and MAILAUTHD: DIR, else build-ci,
# build-e2e, build under TOP
e2e_find_build() {
	local b
	BUILD=${1:-}
	if [ -z "$BUILD" ]; then
		for b in build-ci build-e2e build; do
			[ -x "$TOP/$b/mailauthd" ] && { BUILD=$TOP/$b; break; }
		done
	fi
	MAILAUTHD=${BUILD:+$BUILD/mailauthd}
	if [ -z "$MAILAUTHD" ] || [ ! -x "$MAILAUTHD" ]; then
		echo "$E2E_TAG: mailauthd not built (give BUILD_DIR)"
		echo "$E2E_TAG: 0 passed, 1 failed"
		exit 1
	fi
}

rsa_rec() { $PY "$TOOL" txtsplit "v=DKIM1; k=rsa; p=$(openssl pkey -in "$1" -pubout -outform DER 2>/dev/null | base64 -w0)"; }
# Ed25519 p=: the raw 32-byte key, the end of the DER SubjectPublicKeyInfo
ed_rec() { $PY "$TOOL" txtsplit "v=DKIM1; k=ed25519; p=$(openssl pkey -in "$1" -pubout -outform DER 2>/dev/null | tail -c 32 | base64 -w0)"; }

# e2e_inbound_key - the key the test senders sign with: $D/keys/e2e.key,
# its record (selector $SELECTOR) in KEYTXT
e2e_inbound_key() {
	local pub
	mkdir -p "$D/keys"
	openssl genrsa -out "$D/keys/e2e.key" 2048 2>/dev/null || die "openssl genrsa"
	pub=$(openssl rsa -in "$D/keys/e2e.key" -pubout -outform DER 2>/dev/null | base64 -w0)
	[ -n "$pub" ] || die "public key"
	KEYTXT=$($PY "$TOOL" txtsplit "v=DKIM1; k=rsa; p=$pub")
}

# e2e_dns_start - serve $D/dns/records (fully qualified names under
# example.) from nsd on 127.0.0.1:DNS_PORT, or with E2E_DNS=zone (or no
# nsd) hand them to mailauthd as DNSZoneFile. Sets DNS_MODE, NSD_PID,
# DNS_CONF (lines for mailauthd.conf), VDNS (sign_tool.py arguments).
e2e_dns_start() {
	local ok
	DNS_MODE=${E2E_DNS:-nsd}
	[ "$DNS_MODE" = nsd ] && ! command -v nsd >/dev/null && DNS_MODE=zone
	if [ "$DNS_MODE" != nsd ]; then
		DNS_CONF="DNSZoneFile $D/dns/records
DNSOffline yes"
		VDNS="--records $D/dns/records"
		return 0
	fi
	{
		echo "\$TTL 300"
		echo 'example. 300 IN SOA ns.example. hostmaster.example. 1 3600 600 86400 300'
		echo 'example. 300 IN NS ns.example.'
		echo 'ns.example. 300 IN A 127.0.0.1'
		cat "$D/dns/records"
	} >"$D/dns/example.zone"
	cat >"$D/dns/nsd.conf" <<EOF
server:
  ip-address: 127.0.0.1@$DNS_PORT
  do-ip6: no
  server-count: 1
  username: ""
  chroot: ""
  zonesdir: "$D/dns"
  database: ""
  zonelistfile: "$D/dns/zone.list"
  xfrdfile: "$D/dns/xfrd.state"
  xfrdir: "$D/dns"
  pidfile: "$D/dns/nsd.pid"
  logfile: "$D/nsd.log"
  verbosity: 1
  hide-version: yes
remote-control:
  control-enable: no
zone:
  name: example
  zonefile: example.zone
EOF
	nsd-checkconf "$D/dns/nsd.conf" || die "nsd-checkconf"
	nsd -d -c "$D/dns/nsd.conf" >>"$D/nsd.log" 2>&1 &
	NSD_PID=$!
	ok=0
	for _ in $(seq 1 $((WAIT * 5))); do
		kill -0 "$NSD_PID" 2>/dev/null || break
		$PY "$TOOL" dnsq "$DNS_PORT" _dmarc.pass.example >/dev/null 2>&1 && { ok=1; break; }
		sleep 0.2
	done
	[ $ok = 1 ] || die "nsd did not answer on 127.0.0.1:$DNS_PORT"
	DNS_CONF="Nameservers 127.0.0.1@$DNS_PORT"
	VDNS="--dns-port $DNS_PORT"
}

# mkmsg NAME ARGS... - make $D/msg/NAME.eml (Subject: e2e-NAME)
mkmsg() {
	local name=$1; shift
	mkdir -p "$D/msg"
	$PY "$TOOL" mkmsg "$D/msg/$name.eml" --subject "e2e-$name" "$@" ||
		die "mkmsg $name"
}

# mkmsgs - mkmsg for each line "NAME ARGS..." of standard input, in one
# python3 process (ARGS: words without blanks or quotes)
mkmsgs() {
	local name rest
	mkdir -p "$D/msg"
	while read -r name rest; do
		[ -n "$name" ] && echo "$D/msg/$name.eml --subject e2e-$name $rest"
	done | $PY "$TOOL" mkmsgs || die "mkmsgs"
}

# sendp PORT ARGS... - e2e_tool.py send to PORT; replies in
# $REPLY_TEXT, one per line
sendp() {
	local p=$1; shift
	REPLY_TEXT=$(timeout $((WAIT * 3)) $PY "$TOOL" send "$p" "$@" 2>&1)
}

# send ARGS... - sendp to the MTA's main port
send() { sendp "$MTA_PORT" "$@"; }

# delivered NAME - path of the sink's copy of e2e-NAME (bounded wait)
delivered() {
	local f
	for _ in $(seq 1 $((WAIT * 5))); do
		f=$(grep -l -s "^Subject: e2e-$1\$" "$SINKDIR"/* 2>/dev/null | head -n 1)
		# the dump file may still be being written: need the body too
		if [ -n "$f" ] && grep -q "^mailauthd e2e" "$f"; then
			echo "$f"; return 0
		fi
		sleep 0.2
	done
	return 1
}

# our_ar FILE - the value of our A-R field(s), unfolded, one per line
our_ar() {
	awk '
		/^$/ { exit }
		/^[ \t]/ { if (cur != "") cur = cur " " $0; next }
		{ if (cur != "") print cur; cur = "" }
		tolower($0) ~ /^authentication-results:/ { cur = $0 }
		END { if (cur != "") print cur }
	' "$1" | tr -d '\r' | grep -i "^authentication-results: *$AUTHSERV *;" || true
}
tr_crlf() { tr -d '\r' <"$1"; }

# signed CASE MSG D N - e2e-MSG was accepted, delivered with N signatures,
# all d=D, all verified by python3-dkim; with "internal" as 5th argument
# also not judged (no A-R of ours)
signed() {
	local c=$1 m=$2 d=$3 n=$4 f out
	if [ "${REPLY_TEXT%% *}" != 250 ]; then fail "$c" "not accepted: $REPLY_TEXT"; return; fi
	if ! f=$(delivered "$m"); then fail "$c" "accepted but not delivered within ${WAIT}s"; return; fi
	# shellcheck disable=SC2086 # $VDNS: two words
	if ! out=$($PY "$STOOL" verify "$f" $VDNS --want-d "$d" --count "$n" 2>&1); then
		fail "$c" "python3-dkim: $(echo "$out" | tr '\n' '|')"
	elif [ "${5:-}" = internal ] && [ -n "$(our_ar "$f")" ]; then
		fail "$c" "signed but also judged: $(our_ar "$f")"
	else
		pass "$c"
	fi
}

# unsigned CASE MSG [judged] - delivered without any DKIM-Signature (and,
# with "judged", with our A-R)
unsigned() {
	local c=$1 m=$2 f n
	if [ "${REPLY_TEXT%% *}" != 250 ]; then fail "$c" "not accepted: $REPLY_TEXT"; return; fi
	if ! f=$(delivered "$m"); then fail "$c" "accepted but not delivered within ${WAIT}s"; return; fi
	n=$($PY "$STOOL" count "$f")
	if [ "$n" != 0 ]; then
		fail "$c" "signed anyway ($n DKIM-Signature): $(grep -i -A1 '^DKIM-Signature' "$f" | tr -d '\r' | tr '\n' ' ' | head -c 300)"
	elif [ "${3:-}" = judged ] && [ -z "$(our_ar "$f")" ]; then
		fail "$c" "not judged: no Authentication-Results: $AUTHSERV"
	else
		pass "$c"
	fi
}

# mad_term - SIGTERM mailauthd (MAD_PID) and wait for it (bounded);
# MAD_RC: its exit status, or "timeout"
mad_term() {
	MAD_RC=timeout
	kill -TERM "$MAD_PID" 2>/dev/null
	for _ in $(seq 1 $((WAIT * 5))); do
		if ! kill -0 "$MAD_PID" 2>/dev/null; then
			wait "$MAD_PID"; MAD_RC=$?; break
		fi
		sleep 0.2
	done
}

# mad_log_clean - no sanitizer report in mailauthd's log
mad_log_clean() { ! grep -q -E "Sanitizer|runtime error:" "$D/mailauthd.log"; }

# e2e_mailauthd_end - mailauthd must have survived everything, stop
# cleanly on SIGTERM and (under the sanitizers) report nothing. The
# caller stops its MTA first.
e2e_mailauthd_end() {
	if kill -0 "$MAD_PID" 2>/dev/null; then
		pass mailauthd-alive
	else
		fail mailauthd-alive "mailauthd exited: $(tail -n 5 "$D/mailauthd.log")"
	fi
	mad_term
	if [ "$MAD_RC" = timeout ]; then
		fail mailauthd-stop "still running ${WAIT}s after SIGTERM"
	elif ! mad_log_clean; then
		fail mailauthd-stop "sanitizer report: $(grep -m 3 -E "Sanitizer|runtime error:" "$D/mailauthd.log")"
	elif [ "$MAD_RC" != 0 ]; then
		fail mailauthd-stop "exit status $MAD_RC after SIGTERM"
	else
		MAD_PID=
		pass mailauthd-stop
	fi
}
