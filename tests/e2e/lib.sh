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
#	MILTER_PORT, DNS_PORT, MAD_CONF (mailauthd's configuration) and
#	MAD_PID. Provides:
#	  pass, fail, die, e2e_finish   case results and the summary line
#	  stop_pid PID, wait_tcp PORT, port [udp]
#	  wait_log FILE PATTERN PID     until a process logs a line
#	  e2e_find_build [DIR]          BUILD, MAILAUTHD (or exit 1)
#	  e2e_inbound_key               $D/keys/e2e.key and its KEYTXT
#	  rsa_rec KEY, ed_rec KEY       DKIM key records of private keys
#	  e2e_dns_start                 nsd serving $D/dns/records (or the
#	                                records as DNSZoneFile); DNS_CONF
#	                                for mailauthd.conf, VDNS for sign_tool
#	  mkmsg, mkmsgs, send, sendp    make and send test messages
#	  delivered, our_ar, tr_crlf    look at the sink's copies
#	  copies, sink_wait, sink_once, sink_none
#	                                count them, wait for many at once
#	  is_4xx                        a temporary failure reply
#	  signed, unsigned              the outbound signing checks
#	  mad_start, mad_term           start mailauthd, SIGTERM it
#	  e2e_mailauthd_end             the cases mailauthd-alive and
#	                                mailauthd-stop
#	The cases both MTAs run (see "shared cases" below for what the
#	caller provides): e2e_many_per_connection, e2e_stopped_tempfails,
#	e2e_stopped_retry, e2e_restart_mid_stream, e2e_queue_drained.
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

# wait_log FILE PATTERN PID - until FILE has a line matching PATTERN
# (bounded) or PID is gone; fails unless the line came
wait_log() {
	for _ in $(seq 1 $((WAIT * 5))); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		kill -0 "$3" 2>/dev/null || break
		sleep 0.2
	done
	grep -q "$2" "$1" 2>/dev/null
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
# its record (selector $SELECTOR) in KEYTXT, PASS_SIGN the mkmsg
# arguments signing with it for pass.example
e2e_inbound_key() {
	local pub
	mkdir -p "$D/keys"
	openssl genrsa -out "$D/keys/e2e.key" 2048 2>/dev/null || die "openssl genrsa"
	pub=$(openssl rsa -in "$D/keys/e2e.key" -pubout -outform DER 2>/dev/null | base64 -w0)
	[ -n "$pub" ] || die "public key"
	KEYTXT=$($PY "$TOOL" txtsplit "v=DKIM1; k=rsa; p=$pub")
	PASS_SIGN=(--sign "$D/keys/e2e.key" --domain pass.example --selector "$SELECTOR")
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

# copies NAME - how many copies of e2e-NAME the sink holds
copies() { grep -l -s "^Subject: e2e-$1\$" "$SINKDIR"/* | wc -l; }

# is_4xx REPLY - whether REPLY is a temporary failure
is_4xx() { case "$1" in 4[0-9][0-9]" "*) return 0 ;; esac; return 1; }

# sink_scan - one line per complete copy in the sink: "SUBJECT<TAB>N<TAB>
# AR", N the number of A-R fields of ours, AR those fields unfolded and
# joined by " | " (one awk over every copy: many messages, few processes)
sink_scan() {
	awk -v id="$(echo "$AUTHSERV" | tr '[:upper:]' '[:lower:]')" '
		function fin() {
			if (cur != "" && index(tolower(cur), "authentication-results:") == 1) {
				v = tolower(substr(cur, 24)); sub(/^[ \t]*/, "", v)
				if (index(v, id) == 1 && substr(v, length(id) + 1) ~ /^[ \t]*;/) {
					n++; ar = ar (ar == "" ? "" : " | ") cur
				}
			}
			cur = ""
		}
		function out() { if (subj != "" && body) print subj "\t" n "\t" ar }
		FNR == 1 { if (NR > 1) { fin(); out() }
			   hdr = 1; subj = ""; n = 0; ar = ""; cur = ""; body = 0 }
		{ sub(/\r$/, "") }
		hdr && /^$/ { fin(); hdr = 0; next }
		hdr && /^[ \t]/ { if (cur != "") cur = cur " " $0; next }
		hdr { fin(); cur = $0; if ($0 ~ /^Subject: /) subj = substr($0, 10); next }
		/^mailauthd e2e/ { body = 1 }
		END { if (NR > 0) { fin(); out() } }
	' "$SINKDIR"/* 2>/dev/null
}

# sink_wait SUBJECT... - until the sink holds every one (bounded); then
# SINK_AR[SUBJECT], SINK_N[SUBJECT] and SINK_COPIES[SUBJECT] describe them
declare -gA SINK_AR SINK_N SINK_COPIES
sink_wait() {
	local subj n ar missing
	for _ in $(seq 1 $((WAIT * 2))); do
		SINK_AR=() SINK_N=() SINK_COPIES=()
		while IFS=$'\t' read -r subj n ar; do
			SINK_COPIES[$subj]=$((${SINK_COPIES[$subj]:-0} + 1))
			SINK_N[$subj]=$n SINK_AR[$subj]=$ar
		done < <(sink_scan)
		missing=
		for subj in "$@"; do
			[ -n "${SINK_COPIES[$subj]:-}" ] || { missing=$subj; break; }
		done
		[ -z "$missing" ] && return 0
		sleep 0.5
	done
	return 1
}

# sink_once SUBJECT... - sink_wait for them; fails, saying why in
# SINK_WHY, unless each is there once with one A-R of ours
sink_once() {
	local m
	SINK_WHY=
	if ! sink_wait "$@"; then
		SINK_WHY="not all $# accepted messages delivered within ${WAIT}s"
		return 1
	fi
	for m in "$@"; do
		if [ "${SINK_COPIES[$m]}" != 1 ] || [ "${SINK_N[$m]}" != 1 ]; then
			SINK_WHY="$m: want one copy with one A-R of ours, got ${SINK_COPIES[$m]} with: ${SINK_AR[$m]}"
			return 1
		fi
	done
}

# sink_none SUBJECT... - after sink_once: fails, saying why in SINK_WHY,
# when one of them was delivered
sink_none() {
	local m
	for m in "$@"; do
		if [ -n "${SINK_COPIES[$m]:-}" ]; then
			SINK_WHY="$m delivered although rejected"
			return 1
		fi
	done
}

# pass_unless CASE WHY - pass CASE when WHY is empty, else fail it
pass_unless() { if [ -z "$2" ]; then pass "$1"; else fail "$1" "$2"; fi; }

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

# mad_start - start mailauthd -f -c MAD_CONF (MAD_PID), its output
# appended to $D/mailauthd.log; fails when it does not listen on
# MILTER_PORT within WAIT seconds
mad_start() {
	"$MAILAUTHD" -f -c "$MAD_CONF" >>"$D/mailauthd.log" 2>&1 &
	MAD_PID=$!
	wait_tcp "$MILTER_PORT"
}

# mad_workdir NAME - $D: a private directory holding the
# tests/bench/load_data.py data set (keys, zone file, messages); removed
# at exit unless KEEP=1, and a daemon left in $MAD_PID is killed then.
# Status 1 when the data could not be made.
mad_workdir() {
	D=$(mktemp -d "/tmp/mailauth-$1.XXXXXX") || exit 1
	MAD_PID=''
	MAD_WORKDIR_NAME=$1
	trap mad_workdir_cleanup EXIT
	$PY "$TOP/tests/bench/load_data.py" "$D" >/dev/null
}
mad_workdir_cleanup() {
	[ -n "$MAD_PID" ] && kill -9 "$MAD_PID" 2>/dev/null
	if [ "${KEEP:-0}" = 1 ]; then echo "$MAD_WORKDIR_NAME.sh: kept $D"
	else rm -rf "$D"; fi
}

# mad_term [PID] - SIGTERM mailauthd (PID, default MAD_PID) and wait for
# it (bounded); MAD_RC: its exit status, or "timeout"
mad_term() {
	local pid=${1:-$MAD_PID}
	MAD_RC=timeout
	kill -TERM "$pid" 2>/dev/null
	for _ in $(seq 1 $((WAIT * 5))); do
		if ! kill -0 "$pid" 2>/dev/null; then
			wait "$pid"; MAD_RC=$?; break
		fi
		sleep 0.2
	done
}

# mad_sanitized [LOG] - print the first lines of a sanitizer report in
# mailauthd's log (LOG, default $D/mailauthd.log); fails when there is none
mad_sanitized() { grep -m 3 -E "Sanitizer|runtime error:" "${1:-$D/mailauthd.log}"; }

# mad_stop PID [LOG] - mad_term PID; MAD_WHY: why that was not a clean
# stop (still running, a sanitizer report in LOG, a non-zero status),
# empty when it was; fails when it was not
mad_stop() {
	local out
	mad_term "$1"
	MAD_WHY=
	if [ "$MAD_RC" = timeout ]; then
		MAD_WHY="still running ${WAIT}s after SIGTERM"
	elif out=$(mad_sanitized "${2:-}"); then
		MAD_WHY="sanitizer report: $out"
	elif [ "$MAD_RC" != 0 ]; then
		MAD_WHY="exit status $MAD_RC after SIGTERM"
	fi
	[ -z "$MAD_WHY" ]
}

# e2e_mailauthd_end - mailauthd must have survived everything, stop
# cleanly on SIGTERM and (under the sanitizers) report nothing. The
# caller stops its MTA first.
e2e_mailauthd_end() {
	if kill -0 "$MAD_PID" 2>/dev/null; then
		pass mailauthd-alive
	else
		fail mailauthd-alive "mailauthd exited: $(tail -n 5 "$D/mailauthd.log")"
	fi
	if mad_stop "$MAD_PID"; then
		MAD_PID=
		pass mailauthd-stop
	else
		fail mailauthd-stop "$MAD_WHY"
	fi
}

# ---------------------------------------------------------------- shared cases
# The cases both MTAs run. The caller sets GOOD_CLIENT and BAD_CLIENT,
# send arguments presenting a client the senders' SPF authorises and
# one it does not (--source IP for Sendmail, --xclient-addr IP for
# Postfix), and OUT_PORT, where mail from an external address is signed
# (Sendmail's MSA port, Postfix's ORIGINATING one); it defines
#   mta_queued PREFIX   print the MTA's queue files holding a message
#                       e2e-PREFIX...; fail when there are none
#   mta_queue_left      print what the MTA's queue holds besides the
#                       quarantined message (nothing: drained)
# and stops LOOP_PID in its cleanup.

# e2e_pass_and_forged - cases pass (signed, SPF pass, p=reject: delivered
# with dkim=pass spf=pass dmarc=pass), forged-badsig and forged-unsigned
# (SPF fail, p=reject: 550 5.7.1), the client shown by GOOD_CLIENT or
# BAD_CLIENT
e2e_pass_and_forged() {
	local f ar miss want
	mkmsg pass --from alice@pass.example "${PASS_SIGN[@]}"
	send --from bounce@pass.example --to user@rcpt.example --file "$D/msg/pass.eml" \
		"${GOOD_CLIENT[@]}" --helo mail.pass.example
	if [ "${REPLY_TEXT%% *}" != 250 ]; then
		fail pass "not accepted: $REPLY_TEXT"
	elif ! f=$(delivered pass); then
		fail pass "accepted but not delivered to the sink within ${WAIT}s"
	else
		ar=$(our_ar "$f")
		miss=
		for want in dkim=pass spf=pass dmarc=pass; do
			echo "$ar" | grep -qi "$want" || miss="$miss $want"
		done
		if [ -z "$ar" ]; then fail pass "no Authentication-Results: $AUTHSERV in the copy"
		elif [ -n "$miss" ]; then fail pass "A-R lacks$miss: $ar"
		else pass pass; fi
	fi

	mkmsg badsig --from alice@pass.example "${PASS_SIGN[@]}" --tamper
	send --from bounce@pass.example --to user@rcpt.example --file "$D/msg/badsig.eml" \
		"${BAD_CLIENT[@]}" --helo mail.forger.invalid
	case "$REPLY_TEXT" in
	"550 5.7.1"*) pass forged-badsig ;;
	*) fail forged-badsig "want 550 5.7.1, got: $REPLY_TEXT" ;;
	esac

	mkmsg unsigned --from alice@pass.example
	send --from bounce@pass.example --to user@rcpt.example --file "$D/msg/unsigned.eml" \
		"${BAD_CLIENT[@]}" --helo mail.forger.invalid
	case "$REPLY_TEXT" in
	"550 5.7.1"*) pass forged-unsigned ;;
	*) fail forged-unsigned "want 550 5.7.1, got: $REPLY_TEXT" ;;
	esac
}

# e2e_forged_ar_and_internal - cases forged-ar (our authserv-id's A-R
# fields removed, a foreign one kept, exactly one of ours added) and
# internal (plain connection from 127.0.0.1: delivered, not judged)
e2e_forged_ar_and_internal() {
	local f
	mkmsg forgedar --from alice@pass.example "${PASS_SIGN[@]}" \
		--header "Authentication-Results: $AUTHSERV; dkim=pass header.d=forged.example (FORGED-AR)" \
		--header "Authentication-Results: other.example; spf=pass smtp.mailfrom=x@other.example (FOREIGN-AR)" \
		--header "Authentication-Results: $AUTHSERV;
	dmarc=pass header.from=forged.example (FORGED-AR2)"
	send --from bounce@pass.example --to user@rcpt.example --file "$D/msg/forgedar.eml" \
		"${GOOD_CLIENT[@]}" --helo mail.pass.example
	if [ "${REPLY_TEXT%% *}" != 250 ]; then
		fail forged-ar "not accepted: $REPLY_TEXT"
	elif ! f=$(delivered forgedar); then
		fail forged-ar "accepted but not delivered within ${WAIT}s"
	elif tr_crlf "$f" | grep -q "FORGED-AR"; then
		fail forged-ar "forged A-R still present"
	elif ! tr_crlf "$f" | grep -q "FOREIGN-AR"; then
		fail forged-ar "foreign A-R was removed"
	elif [ "$(our_ar "$f" | wc -l)" != 1 ]; then
		fail forged-ar "want exactly one A-R of ours, got: $(our_ar "$f")"
	else
		pass forged-ar
	fi

	mkmsg internal --from alice@pass.example
	send --from bounce@pass.example --to user@rcpt.example --file "$D/msg/internal.eml" \
		--helo localhost
	if [ "${REPLY_TEXT%% *}" != 250 ]; then
		fail internal "not accepted: $REPLY_TEXT"
	elif ! f=$(delivered internal); then
		fail internal "accepted but not delivered within ${WAIT}s"
	elif [ -n "$(our_ar "$f")" ]; then
		fail internal "judged anyway: $(our_ar "$f")"
	else
		pass internal
	fi
}

# e2e_many_per_connection N - case many-per-connection: N messages on one
# SMTP connection from the authorised client, in turn signed (delivered,
# dkim=pass), tampered with a failing envelope domain (550 5.7.1) and
# unsigned with an aligned SPF pass (delivered, dkim not pass): each its
# own reply and A-R, delivered once (the rejected ones not at all)
e2e_many_per_connection() {
	local n=$1 i r m ar mfrom why='' args=() want=() rejected=() replies=()
	for i in $(seq 1 "$n"); do
		case $((i % 3)) in
		1) echo "many$i --from alice@pass.example ${PASS_SIGN[*]}" ;;
		2) echo "many$i --from alice@pass.example ${PASS_SIGN[*]} --tamper" ;;
		0) echo "many$i --from alice@pass.example" ;;
		esac
	done | mkmsgs
	args=(--from bounce@pass.example --file "$D/msg/many1.eml")
	for i in $(seq 2 "$n"); do
		mfrom=bounce@pass.example
		[ $((i % 3)) = 2 ] && mfrom=bounce@bad.example
		args+=(--more "$mfrom" "$D/msg/many$i.eml")
	done
	send "${args[@]}" --to user@rcpt.example "${GOOD_CLIENT[@]}" --helo mail.pass.example
	mapfile -t replies <<<"$REPLY_TEXT"
	if [ ${#replies[@]} != "$n" ]; then
		why="want $n replies, got ${#replies[@]}: $(echo "$REPLY_TEXT" | tail -n 2 | tr '\n' '|')"
	fi
	for i in $(seq 1 "$n"); do
		[ -n "$why" ] && break
		r=${replies[$((i - 1))]}
		case $((i % 3)):$r in
		1:"250 "* | 0:"250 "*) want+=("e2e-many$i") ;;
		2:"550 5.7.1"*) rejected+=("e2e-many$i") ;;
		*) why="message $i: unexpected reply '$r'" ;;
		esac
	done
	if [ -z "$why" ] && ! { sink_once "${want[@]}" && sink_none "${rejected[@]}"; }; then
		why=$SINK_WHY
	fi
	for m in "${want[@]}"; do
		[ -n "$why" ] && break
		i=${m#e2e-many} ar=${SINK_AR[$m]}
		if [[ "$ar" != *spf=pass* || "$ar" != *dmarc=pass* ]]; then
			why="message $i: want spf=pass dmarc=pass: $ar"
		elif [ $((i % 3)) = 1 ] && [[ "$ar" != *dkim=pass* ]]; then
			why="message $i (signed): no dkim=pass: $ar"
		elif [ $((i % 3)) = 0 ] && [[ "$ar" == *dkim=pass* ]]; then
			why="message $i (unsigned): dkim=pass, another message's result: $ar"
		fi
	done
	pass_unless many-per-connection "$why"
}

# down_send - send e2e-downpass (signed, authorised client), e2e-downforged
# (unsigned, unauthorised client) and to OUT_PORT, from an external
# address, e2e-downsig (From out.example); replies in R1, R2, R3
down_send() {
	send --from bounce@pass.example --to user@rcpt.example --file "$D/msg/downpass.eml" \
		"${GOOD_CLIENT[@]}" --helo mail.pass.example
	R1=$REPLY_TEXT
	send --from bounce@pass.example --to user@rcpt.example --file "$D/msg/downforged.eml" \
		"${BAD_CLIENT[@]}" --helo mail.forger.invalid
	R2=$REPLY_TEXT
	sendp "$OUT_PORT" --from bounce@out.example --to user@rcpt.example --file "$D/msg/downsig.eml" \
		"${BAD_CLIENT[@]}" --helo mail.out.example
	R3=$REPLY_TEXT
}

# e2e_stopped_tempfails - case stopped-tempfails: mailauthd stopped
# (cleanly: status 0, no sanitizer report), the MTA (default action
# tempfail) answers 4xx to inbound and outbound mail and takes none of it:
# nothing delivered, nothing queued. The client keeps the mail and sends
# it again in e2e_stopped_retry.
e2e_stopped_tempfails() {
	local why='' q
	mad_stop "$MAD_PID" || why="mailauthd did not stop cleanly: $MAD_WHY"
	mkmsg downpass --from alice@pass.example "${PASS_SIGN[@]}"
	mkmsg downforged --from alice@pass.example
	mkmsg downsig --from alice@out.example
	down_send
	sleep 1
	if [ -n "$why" ]; then
		:
	elif ! is_4xx "$R1" || ! is_4xx "$R2" || ! is_4xx "$R3"; then
		why="want 4xx three times, got: [$R1] [$R2] [$R3]"
	elif [ "$(copies downpass)" != 0 ] || [ "$(copies downforged)" != 0 ] || [ "$(copies downsig)" != 0 ]; then
		why="delivered although temp-failed"
	elif q=$(mta_queued down); then
		why="temp-failed but queued: $q"
	fi
	pass_unless stopped-tempfails "$why"
}

# e2e_stopped_retry - case stopped-retry: mailauthd started again, the
# client's retries get their verdicts, one copy each
e2e_stopped_retry() {
	local why='' f g out
	mad_start || die "mailauthd did not listen on $MILTER_PORT after a restart"
	down_send
	# shellcheck disable=SC2086 # $VDNS: two words
	if [ "${R1%% *}" != 250 ] || [ "${R3%% *}" != 250 ]; then
		why="retries not accepted: [$R1] [$R3]"
	elif [ "${R2#550 5.7.1}" = "$R2" ]; then
		why="forged retry: want 550 5.7.1, got: $R2"
	elif ! f=$(delivered downpass) || ! g=$(delivered downsig); then
		why="accepted retries not delivered within ${WAIT}s"
	elif ! our_ar "$f" | grep -qi "dmarc=pass"; then
		why="retry delivered without its verdict: $(our_ar "$f")"
	elif ! out=$($PY "$STOOL" verify "$g" $VDNS --want-d out.example --count 1 2>&1); then
		why="outbound retry not signed: $(echo "$out" | tr '\n' '|')"
	elif ! { sleep 1; [ "$(copies downpass)" = 1 ] && [ "$(copies downsig)" = 1 ]; }; then
		why="want one copy each, got $(copies downpass) and $(copies downsig)"
	fi
	pass_unless stopped-retry "$why"
}

# loop_send N - the loop of e2e_restart_mid_stream: N connections from
# the authorised client, each a signed message (e2e-loopI-a) and, half a
# second later, a forged one (e2e-loopI-b); $D/loop/I holds connection
# I's replies once it is over
loop_send() {
	local i
	for i in $(seq 1 "$1"); do
		send --from bounce@pass.example --file "$D/msg/loop$i-a.eml" \
			--from2 bounce@bad.example --file2 "$D/msg/loop$i-b.eml" \
			--to user@rcpt.example "${GOOD_CLIENT[@]}" --helo mail.pass.example --pause 0.5
		echo "$REPLY_TEXT" >"$D/loop/$i.tmp" && mv "$D/loop/$i.tmp" "$D/loop/$i"
		sleep 0.1
	done
}

# loop_done N - until the loop (LOOP_PID) has finished N connections
# (bounded); fails when it did not
loop_done() {
	for _ in $(seq 1 $((WAIT * 5))); do
		[ -f "$D/loop/$1" ] && return 0
		kill -0 "$LOOP_PID" 2>/dev/null || return 1
		sleep 0.2
	done
	return 1
}

# settle REPLY ARGS... - REPLY_TEXT: REPLY, or when that was a 4xx (or
# empty: not sent after a 4xx that ended the connection) the reply to
# send ARGS, the client's retry; RETRIES counts those
settle() {
	local r=$1; shift
	if is_4xx "$r" || [ -z "$r" ]; then
		RETRIES=$((RETRIES + 1))
		send "$@"
	else
		REPLY_TEXT=$r
	fi
}

# e2e_restart_mid_stream - case restart-mid-stream: mailauthd stopped
# (cleanly) and started again while loop_send runs. Every reply must be
# the message's verdict (250, 550 5.7.1) or a 4xx; the 4xx ones, sent
# again afterwards, must then get it; none wrongly 5xx; every accepted
# message delivered once, with dkim=pass, no rejected one delivered
e2e_restart_mid_stream() {
	local n=24 i f m ra rb stop_at=0 nafter=0 why='' want=() rejected=()
	mkdir -p "$D/loop"
	for i in $(seq 1 $n); do
		echo "loop$i-a --from alice@pass.example ${PASS_SIGN[*]}"
		echo "loop$i-b --from alice@pass.example ${PASS_SIGN[*]} --tamper"
	done | mkmsgs
	loop_send $n &
	LOOP_PID=$!
	loop_done 4 || why="the loop did not get going: $(cat "$D/loop/"* 2>/dev/null | tr '\n' '|')"
	sleep 0.3			# most likely between the messages of connection 5
	if ! mad_stop "$MAD_PID" && [ -z "$why" ]; then why="mailauthd stopped mid-stream: $MAD_WHY"; fi
	for f in "$D/loop"/[0-9]*; do [ -f "$f" ] && stop_at=$((stop_at + 1)); done
	# stay down for two connections of the loop, then come back
	loop_done $((stop_at + 2)) || true
	mad_start || die "mailauthd did not listen on $MILTER_PORT after a restart"
	for _ in $(seq 1 $((WAIT * 5))); do
		kill -0 "$LOOP_PID" 2>/dev/null || break
		sleep 0.2
	done
	if kill -0 "$LOOP_PID" 2>/dev/null; then
		stop_pid "$LOOP_PID"
		[ -z "$why" ] && why="the loop did not end within ${WAIT}s"
	fi
	LOOP_PID=
	RETRIES=0
	for i in $(seq 1 $n); do
		[ -n "$why" ] && break
		ra=$(sed -n 1p "$D/loop/$i" 2>/dev/null) rb=$(sed -n 2p "$D/loop/$i" 2>/dev/null)
		[ $RETRIES -gt 0 ] && [ "${ra%% *}" = 250 ] && nafter=$((nafter + 1))
		settle "$ra" --from bounce@pass.example --to user@rcpt.example --file "$D/msg/loop$i-a.eml" \
			"${GOOD_CLIENT[@]}" --helo mail.pass.example
		if [ "${REPLY_TEXT%% *}" != 250 ]; then
			why="connection $i, signed message: got '$REPLY_TEXT'"
			break
		fi
		want+=("e2e-loop$i-a")
		settle "$rb" --from bounce@bad.example --to user@rcpt.example --file "$D/msg/loop$i-b.eml" \
			"${GOOD_CLIENT[@]}" --helo mail.pass.example
		if [ "${REPLY_TEXT#550 5.7.1}" = "$REPLY_TEXT" ]; then
			why="connection $i, forged message: want 550 5.7.1, got '$REPLY_TEXT'"
		fi
		rejected+=("e2e-loop$i-b")
	done
	if [ -z "$why" ] && ! { sink_once "${want[@]}" && sink_none "${rejected[@]}"; }; then
		why=$SINK_WHY
	fi
	for m in "${want[@]}"; do
		[ -n "$why" ] && break
		[[ "${SINK_AR[$m]}" == *dkim=pass* ]] || why="$m delivered without its verdict: ${SINK_AR[$m]}"
	done
	if [ -z "$why" ] && [ $RETRIES = 0 ]; then why="no connection saw mailauthd down (nothing temp-failed)"; fi
	if [ -z "$why" ] && [ $nafter = 0 ]; then why="no connection accepted after the restart"; fi
	pass_unless restart-mid-stream "$why"
}

# e2e_queue_drained - case queue-drained: nothing left in the MTA's queue
# but the quarantined message (mta_queue_left, bounded wait)
e2e_queue_drained() {
	local left
	for _ in $(seq 1 $((WAIT * 2))); do
		left=$(mta_queue_left)
		[ -z "$left" ] && break
		sleep 0.5
	done
	pass_unless queue-drained "${left:+left in the queue: $left}"
}
