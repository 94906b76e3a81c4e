#!/bin/bash
# NAME
#	sendmail.sh - end-to-end test: a real Sendmail, nsd and mailauthd on loopback
# SYNOPSIS
#	tests/e2e/sendmail.sh [BUILD_DIR]
# DESCRIPTION
#	Debian's sendmail-bin conflicts with postfix, so Sendmail is not
#	installed: its .deb is fetched once with `apt-get download` into
#	E2E_CACHE (default /var/cache/mailauthd-tests), the version matching
#	the installed sendmail-cf when the archive has it, and unpacked with
#	`dpkg -x` into a private temporary directory. sendmail-cf's m4 files
#	(an ordinary package) build a private sendmail.cf. Nothing in /etc
#	is changed. Started on free 127.0.0.1 ports:
#	  - nsd serving the test zone, or with E2E_DNS=zone the same records
#	    via DNSZoneFile (tests/e2e/lib.sh);
#	  - mailauthd -f from BUILD_DIR (default: build-ci, then build-e2e,
#	    then build), InternalHosts 127.0.0.1 only, SigningDaemons MSA;
#	  - smtp-sink, dumping every delivered copy;
#	  - sendmail -bD (the daemon, in the foreground) as root with -C the
#	    private cf: an MTA port (Name=MTA) and an MSA port (Name=MSA, so
#	    {daemon_name}=MSA), INPUT_MAIL_FILTER mailauthd with F=T
#	    (tempfail while the filter is unavailable), everything relayed
#	    to [127.0.0.1]:sink (bracketed: no MX lookup), private queue,
#	    pid and status files, hosts-file-only service switch, fixed
#	    confDOMAIN_NAME, no ident, SASL (Cyrus, sasldb) configured by a
#	    private Sendmail.conf found through SASL_CONF_PATH (an E line of
#	    the cf), DontBlameSendmail=TrustStickyBit for the files under
#	    /tmp. It runs in its own mount and UTS namespaces (unshare), host
#	    name mx.e2e.example and private /etc/hosts and /etc/resolv.conf
#	    bind-mounted for it alone: it never waits on a DNS server for its
#	    own name or a client's, and asks none outside the machine. Its
#	    SMTP traffic is logged with -X (there is no syslog here).
#	Sendmail has no XCLIENT: an inbound client is presented by
#	connecting from another loopback address (127.0.0.2 is authorised by
#	the senders' SPF, 127.0.0.3 is not; Linux routes all of 127/8
#	locally). Messages are made (and DKIM-signed) by e2e_tool.py,
#	signatures of delivered copies checked by python3-dkim (sign_tool.py).
#	Cases:
#	  config-check        mailauthd -n accepts the test configuration
#	  pass                signed, SPF pass, p=reject: delivered, A-R has
#	                      dkim=pass spf=pass dmarc=pass
#	  forged-badsig       tampered signature, SPF fail: 550 5.7.1
#	  forged-unsigned     unsigned, SPF fail: 550 5.7.1
#	  quarantine          p=quarantine failure: in Sendmail's quarantine
#	                      (an hf queue file with its q line; listed by
#	                      sendmail -bp -qQ), not delivered
#	  forged-ar           our authserv-id's forged A-R removed, foreign kept
#	  internal            client 127.0.0.1 (InternalHosts): not judged
#	  many-per-connection 51 messages on one SMTP connection (signed,
#	                      tampered, unsigned in turn): each its own reply
#	                      and A-R
#	  sign-internal       client 127.0.0.1: signed, verifies, not judged
#	  sign-msa            MSA port ({daemon_name} MSA, SigningDaemons)
#	                      from an external address: signed, not judged
#	  sign-sasl           SMTP AUTH on the MTA port from an external
#	                      address: signed (needs sasl2-bin, else SKIP;
#	                      a failure under CI=true)
#	  external-not-signed the same port and address without AUTH, From a
#	                      domain we have a key for: judged, not signed
#	  stopped-tempfails   mailauthd stopped: Sendmail answers 4xx (F=T)
#	                      to inbound and outbound mail, accepts nothing
#	  stopped-retry       mailauthd started again: the same messages sent
#	                      again get their verdicts, one copy each
#	  restart-mid-stream  mailauthd stopped and started while a loop sends
#	                      two messages per connection: every message
#	                      delivered with its verdict, rejected by it, or
#	                      temp-failed and delivered/rejected on retry;
#	                      none wrongly 5xx, none lost; the stopped
#	                      mailauthd exited 0
#	  queue-drained       nothing left in Sendmail's queue but the
#	                      quarantined message
#	  mailauthd-alive     mailauthd survived all of it
#	  mailauthd-stop      SIGTERM stops it with status 0, no sanitizer
#	                      report in its log
#	Prints "PASS name" or "FAIL name: why" per case, then
#	"e2e-sendmail: N passed, N failed"; exits 1 on any failure, 77 when
#	it cannot run (not root, no Sendmail to be had, no namespaces).
# ENVIRONMENT
#	E2E_DNS=nsd|zone (default nsd when installed), E2E_KEEP=1 keeps the
#	temporary directory, E2E_VERBOSE=1 prints the logs at the end,
#	E2E_CACHE the .deb cache directory.
# SEE ALSO
#	tests/e2e/postfix.sh, tests/e2e/lib.sh
set -u

TOP=$(cd "$(dirname "$0")/../.." && pwd)
E2E_TAG=e2e-sendmail
# shellcheck source=tests/e2e/lib.sh
. "$TOP/tests/e2e/lib.sh"
GOOD_IP=127.0.0.2		# authorised by the senders' SPF
BAD_IP=127.0.0.3		# not authorised
CACHE=${E2E_CACHE:-/var/cache/mailauthd-tests}
CFDIR=/usr/share/sendmail/cf	# Debian package sendmail-cf
SASL_USER=alice@e2e.example SASL_PASS=e2e-secret-$$

skip() { echo "$E2E_TAG: SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "must run as root (Sendmail's daemon needs it)"
for p in m4 smtp-sink openssl unshare dpkg apt-get; do
	command -v "$p" >/dev/null || skip "$p not installed"
done
[ -f "$CFDIR/m4/cf.m4" ] || skip "sendmail-cf not installed ($CFDIR/m4/cf.m4)"
$PY -c 'import dkim, dnslib' 2>/dev/null || skip "python3-dkim/python3-dnslib missing"
unshare --mount --uts true 2>/dev/null || skip "unshare --mount --uts does not work here"

e2e_find_build "${1:-}"

D=$(mktemp -d /tmp/mailauth-sm.XXXXXX) || exit 1
chmod 755 "$D"
SM=$D/sendmail			# the private Sendmail: binaries, cf, queue
QDIR=$SM/queue
SINKDIR=$D/sink
SINK_PID='' MAD_PID='' SM_PID='' SMBIN='' LOOP_PID=''
E2E_LOGS="$D/mailauthd.log $D/sendmail.out $D/sendmail.log $D/nsd.log $D/sink.log"

# sm_stop - stop the Sendmail daemon, then any of its processes left
# (deliveries and queue runs detach): those run our private binary
sm_stop() {
	local p exe
	stop_pid "$SM_PID"
	SM_PID=
	[ -n "$SMBIN" ] || return 0
	for p in /proc/[0-9]*; do
		exe=$(readlink "$p/exe" 2>/dev/null) || continue
		[ "$exe" = "$SMBIN" ] && stop_pid "${p#/proc/}"
	done
	return 0
}

cleanup() {
	trap - EXIT INT TERM
	stop_pid "$LOOP_PID"
	sm_stop
	stop_pid "$MAD_PID"
	stop_pid "$SINK_PID"
	stop_pid "$NSD_PID"
	[ "${E2E_VERBOSE:-0}" = 1 ] && show_logs
	if [ "${E2E_KEEP:-0}" = 1 ]; then echo "$E2E_TAG: kept $D"; else rm -rf "$D"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- Sendmail
# sendmail_deb - a sendmail-bin .deb in CACHE, fetched once: the version
# of the installed sendmail-cf if the archive has it, else the candidate
sendmail_deb() {
	local ver deb
	ver=$(dpkg-query -W -f='${Version}' sendmail-cf 2>/dev/null)
	for deb in "$CACHE"/sendmail-bin_"${ver/:/%3a}"_*.deb; do
		[ -f "$deb" ] && { echo "$deb"; return 0; }
	done
	mkdir -p "$CACHE" || return 1
	# the download runs as root: apt's sandbox user cannot write CACHE
	(cd "$CACHE" && for t in 1 2; do
		timeout 300 apt-get download -q -o APT::Sandbox::User=root "sendmail-bin=$ver" ||
			timeout 300 apt-get download -q -o APT::Sandbox::User=root sendmail-bin ||
			{ [ $t = 1 ] && timeout 600 apt-get update -q; continue; }
		break
	done) >"$D/apt-download.log" 2>&1 </dev/null
	deb=$(printf '%s\n' "$CACHE"/sendmail-bin_*.deb | sort -V | tail -n 1)
	[ -f "$deb" ] && echo "$deb"
}

DEB=$(sendmail_deb) ||
	skip "cannot download sendmail-bin: $(tail -n 3 "$D/apt-download.log" 2>/dev/null | tr '\n' ' ')"
mkdir -p "$SM/root"
# a damaged download is dropped from the cache: the next run fetches it again
dpkg -x "$DEB" "$SM/root" || { rm -f "$DEB"; die "dpkg -x $DEB failed (removed from the cache)"; }
SMBIN=$SM/root/usr/libexec/sendmail/sendmail
[ -x "$SMBIN" ] || die "no sendmail binary in $DEB"
missing=$(ldd "$SMBIN" 2>/dev/null | awk '/not found/ { print $1 }' | tr '\n' ' ')
# libraries sendmail-bin depends on (Debian: liblockfile1, libwrap0, ...)
[ -z "$missing" ] || skip "libraries sendmail needs are not installed: $missing"

MTA_PORT=$(port) MSA_PORT=$(port) SINK_PORT=$(port) MILTER_PORT=$(port) DNS_PORT=$(port udp)
OUT_PORT=$MSA_PORT
GOOD_CLIENT=(--source "$GOOD_IP") BAD_CLIENT=(--source "$BAD_IP")

# ---------------------------------------------------------------- keys, zone
mkdir -p "$D/keys" "$D/dns" "$D/msg" "$D/opendkim"
e2e_inbound_key
(umask 077; openssl genrsa -traditional -out "$D/opendkim/mail.private" 2048) \
	>/dev/null 2>&1 || die "openssl: signing key"
OUT_REC=$(rsa_rec "$D/opendkim/mail.private")
cat >"$D/opendkim/KeyTable" <<EOF
mail._domainkey.out.example out.example:mail:$D/opendkim/mail.private
EOF
cat >"$D/opendkim/SigningTable" <<EOF
*@out.example mail._domainkey.out.example
EOF

cat >"$D/dns/records" <<EOF
pass.example. 300 IN TXT "v=spf1 ip4:$GOOD_IP -all"
mail.pass.example. 300 IN TXT "v=spf1 ip4:$GOOD_IP -all"
mail.pass.example. 300 IN A $GOOD_IP
_dmarc.pass.example. 300 IN TXT "v=DMARC1; p=reject"
$SELECTOR._domainkey.pass.example. 300 IN TXT $KEYTXT
quar.example. 300 IN TXT "v=spf1 ip4:$GOOD_IP -all"
_dmarc.quar.example. 300 IN TXT "v=DMARC1; p=quarantine"
$SELECTOR._domainkey.quar.example. 300 IN TXT $KEYTXT
bad.example. 300 IN TXT "v=spf1 -all"
mail._domainkey.out.example. 300 IN TXT $OUT_REC
EOF
e2e_dns_start

# ---------------------------------------------------------------- mailauthd
cat >"$D/mailauthd.conf" <<EOF
# mailauthd end-to-end test configuration (Sendmail)
Socket inet:$MILTER_PORT@127.0.0.1
PidFile $D/mailauthd.pid
UserID nobody
AuthservID $AUTHSERV
Hostname $AUTHSERV
$DNS_CONF
DNSTimeout 3
InternalHosts 127.0.0.1
RejectFailures yes
RemoveForgedAuthResults yes
LogWhy yes
KeyTable $D/opendkim/KeyTable
SigningTable refile:$D/opendkim/SigningTable
SigningDaemons MSA
ReportHistory no
EOF
MAD_CONF=$D/mailauthd.conf
if out=$("$MAILAUTHD" -n -c "$MAD_CONF" 2>&1); then
	pass config-check
else
	fail config-check "mailauthd -n: $out"
fi

mad_start || die "mailauthd did not listen on $MILTER_PORT"

# ---------------------------------------------------------------- sink
mkdir -p "$SINKDIR"
chown postfix:postfix "$SINKDIR"
smtp-sink -u postfix -d "$SINKDIR/%H%M%S." "127.0.0.1:$SINK_PORT" 64 >"$D/sink.log" 2>&1 &
SINK_PID=$!
wait_tcp "$SINK_PORT" || die "smtp-sink did not listen on $SINK_PORT"

# ---------------------------------------------------------------- Sendmail
mkdir -p "$QDIR"
chmod 700 "$QDIR"
# what Sendmail's namespace sees as /etc/hosts and /etc/resolv.conf:
# its own name and the test clients' names; no DNS server but loopback's
cat >"$SM/hosts" <<EOF
127.0.0.1 $AUTHSERV localhost
$GOOD_IP good-client.e2e.example
$BAD_IP bad-client.e2e.example
EOF
printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' >"$SM/resolv.conf"
printf 'hosts files\naliases files\n' >"$SM/service.switch"

# SMTP AUTH: Cyrus SASL reads Sendmail.conf from SASL_CONF_PATH, which
# the cf's E line puts into Sendmail's environment; private sasldb
SASL=no SASL_WHY=
if ! command -v saslpasswd2 >/dev/null; then
	SASL_WHY="saslpasswd2 not installed (Debian package sasl2-bin)"
elif ! ls /usr/lib/*/sasl2/libsasldb.so* >/dev/null 2>&1; then
	SASL_WHY="Cyrus SASL sasldb plugin missing (libsasl2-modules-db)"
elif ! ls /usr/lib/*/sasl2/libplain.so* >/dev/null 2>&1; then
	SASL_WHY="Cyrus SASL PLAIN plugin missing (libsasl2-modules)"
else
	mkdir -p "$SM/sasl"
	cat >"$SM/sasl/Sendmail.conf" <<EOF
pwcheck_method: auxprop
auxprop_plugin: sasldb
mech_list: PLAIN LOGIN
sasldb_path: $SM/sasldb2
EOF
	if echo "$SASL_PASS" | saslpasswd2 -p -c -f "$SM/sasldb2" -u "${SASL_USER#*@}" "${SASL_USER%@*}" \
		>"$D/saslpasswd2.log" 2>&1; then
		chmod 600 "$SM/sasldb2"
		SASL=yes
	else
		SASL_WHY="saslpasswd2 failed: $(head -c 200 "$D/saslpasswd2.log")"
	fi
fi

# the .mc, quoted for m4 (no shell expansion): @NAME@ filled in below
cat >"$SM/sendmail.mc.in" <<'EOF'
divert(-1)
# private Sendmail of tests/e2e/sendmail.sh; loopback only
divert(0)dnl
include(`@CFDIR@/m4/cf.m4')dnl
VERSIONID(`mailauthd e2e')dnl
OSTYPE(`linux')dnl
define(`confDOMAIN_NAME', `@AUTHSERV@')dnl
define(`confSERVICE_SWITCH_FILE', `@SM@/service.switch')dnl
define(`confHOSTS_FILE', `@SM@/hosts')dnl
define(`QUEUE_DIR', `@SM@/queue')dnl
define(`confPID_FILE', `@SM@/sendmail.pid')dnl
define(`STATUS_FILE', `@SM@/sendmail.st')dnl
define(`confDEAD_LETTER_DROP', `@SM@/dead.letter')dnl
undefine(`ALIAS_FILE')dnl
define(`confDONT_PROBE_INTERFACES', `true')dnl
define(`confTO_IDENT', `0')dnl
define(`confQUEUE_LA', `1000')dnl
define(`confREFUSE_LA', `1000')dnl
define(`confDONT_BLAME_SENDMAIL', `TrustStickyBit')dnl
define(`confAUTH_MECHANISMS', `PLAIN LOGIN')dnl
define(`SMART_HOST', `relay:[127.0.0.1]')dnl
define(`RELAY_MAILER_ARGS', `TCP $h @SINK_PORT@')dnl
FEATURE(`no_default_msa')dnl
FEATURE(`nocanonify')dnl
FEATURE(`accept_unresolvable_domains')dnl
FEATURE(`accept_unqualified_senders')dnl
DAEMON_OPTIONS(`Family=inet, Name=MTA, Addr=127.0.0.1, Port=@MTA_PORT@')dnl
DAEMON_OPTIONS(`Family=inet, Name=MSA, Addr=127.0.0.1, Port=@MSA_PORT@, M=E')dnl
INPUT_MAIL_FILTER(`mailauthd', `S=inet:@MILTER_PORT@@127.0.0.1, F=T, T=C:5s;S:20s;R:20s;E:1m')dnl
RELAY_DOMAIN(`rcpt.example')dnl
MAILER(`smtp')dnl
LOCAL_CONFIG
ESASL_CONF_PATH=@SM@/sasl
EOF
sed -e "s|@CFDIR@|$CFDIR|g" -e "s|@AUTHSERV@|$AUTHSERV|g" -e "s|@SM@|$SM|g" \
	-e "s|@SINK_PORT@|$SINK_PORT|g" -e "s|@MTA_PORT@|$MTA_PORT|g" \
	-e "s|@MSA_PORT@|$MSA_PORT|g" -e "s|@MILTER_PORT@|$MILTER_PORT|g" \
	"$SM/sendmail.mc.in" >"$SM/sendmail.mc"
m4 "$SM/sendmail.mc" >"$SM/sendmail.cf" 2>"$D/m4.log" || die "m4: $(head -c 300 "$D/m4.log")"
grep -q "^Xmailauthd, S=inet:$MILTER_PORT@127.0.0.1, F=T" "$SM/sendmail.cf" ||
	die "sendmail.cf has no mailauthd filter line"

# "${SMRUN[@]}" ARGS... - our Sendmail with the private cf, in its own
# mount and UTS namespaces: host name $AUTHSERV, $SM/hosts and
# $SM/resolv.conf bind-mounted over /etc/hosts and /etc/resolv.conf for
# it alone (exec: the pid stays the one we started)
# shellcheck disable=SC2016 # expanded by that sh
SMRUN=(unshare --mount --uts --propagation private sh -c '
	hostname "$1" && mount --bind "$2/hosts" /etc/hosts &&
		mount --bind "$2/resolv.conf" /etc/resolv.conf || exit 71
	shift 2
	exec "$@"' sh "$AUTHSERV" "$SM" "$SMBIN" -C "$SM/sendmail.cf")

# -bD: the daemon in the foreground (its pid is ours); -q15s: a queue
# run now and then, so a delivery the sink refused is retried in time
"${SMRUN[@]}" -bD -q15s -X "$D/sendmail.log" >"$D/sendmail.out" 2>&1 &
SM_PID=$!
wait_tcp "$MTA_PORT" || die "sendmail did not listen on $MTA_PORT: $(head -c 300 "$D/sendmail.out")"
wait_tcp "$MSA_PORT" || die "sendmail (MSA) did not listen on $MSA_PORT"

# ---------------------------------------------------------------- helpers
# held NAME - the queue id of e2e-NAME in Sendmail's quarantine: an hf
# file (a quarantined qf) with its q (reason) line (bounded wait)
held() {
	local f
	for _ in $(seq 1 $((WAIT * 2))); do
		for f in "$QDIR"/hf*; do
			[ -f "$f" ] || continue
			if grep -q "^H??Subject: e2e-$1\$" "$f" && grep -q "^q" "$f"; then
				f=${f##*/}; echo "${f#hf}"; return 0
			fi
		done
		sleep 0.5
	done
	return 1
}

# mta_queued PREFIX - print the queue files holding e2e-PREFIX...; fails
# when there are none
mta_queued() {
	local q
	q=$(grep -l -s -E "^H\?\?Subject: e2e-$1" "$QDIR"/*) || return 1
	echo "$q" | sed "s|^$QDIR/||" | tr '\n' ' '
}

# mta_queue_left - the queue files but the quarantined message's ($qid)
mta_queue_left() {
	local f
	for f in "$QDIR"/*; do
		case "${f##*/}" in hf* | "df$qid" | "*") ;; *) printf '%s ' "${f##*/}" ;; esac
	done
}

# ---------------------------------------------------------------- inbound
# (a), (b) pass, forged-badsig, forged-unsigned (lib.sh)
e2e_pass_and_forged

# (c) quarantine: p=quarantine failure lands in Sendmail's quarantine
qid=
mkmsg quar --from alice@quar.example
send --from bounce@quar.example --to user@rcpt.example --file "$D/msg/quar.eml" \
	--source $BAD_IP --helo mail.forger.invalid
if [ "${REPLY_TEXT%% *}" != 250 ]; then
	fail quarantine "not accepted: $REPLY_TEXT"
elif ! qid=$(held quar); then
	fail quarantine "no quarantined queue file (hf with a q line) in $QDIR within ${WAIT}s: $(cd "$QDIR" && echo *)"
elif ! timeout $WAIT "${SMRUN[@]}" -bp -qQ >"$D/mailq.out" 2>&1 </dev/null ||
	! grep -q "^$qid" "$D/mailq.out" ||
	! grep -q "QUARANTINE:" "$D/mailq.out"; then
	fail quarantine "$qid not listed by sendmail -bp -qQ: $(head -c 300 "$D/mailq.out")"
elif sleep 1 && [ "$(copies quar)" != 0 ]; then
	fail quarantine "quarantined but also delivered"
else
	pass quarantine
fi

# (d), (e) forged-ar, internal (lib.sh)
e2e_forged_ar_and_internal

# (f) many messages on one connection
e2e_many_per_connection 51

# ---------------------------------------------------------------- signing
# (g) internal client on the MTA port
mkmsg sigint --from alice@out.example
send --from bounce@out.example --to user@rcpt.example --file "$D/msg/sigint.eml" --helo localhost
signed sign-internal sigint out.example 1 internal

# (h) the MSA port ({daemon_name} MSA) from an external address
mkmsg sigmsa --from alice@out.example
sendp "$MSA_PORT" --from bounce@out.example --to user@rcpt.example --file "$D/msg/sigmsa.eml" \
	--source $BAD_IP --helo mail.out.example
signed sign-msa sigmsa out.example 1 internal

# (i) SMTP AUTH on the MTA port from an external address
if [ "$SASL" = yes ]; then
	mkmsg sigsasl --from alice@out.example
	send --from bounce@out.example --to user@rcpt.example --file "$D/msg/sigsasl.eml" \
		--source $BAD_IP --helo mail.out.example --auth "$SASL_USER" "$SASL_PASS"
	signed sign-sasl sigsasl out.example 1
elif [ "${CI:-}" = true ]; then
	fail sign-sasl "$SASL_WHY"
else
	echo "SKIP sign-sasl: $SASL_WHY"
fi

# (j) the same port and address without AUTH: judged, not signed
mkmsg sigext --from alice@out.example
send --from bounce@out.example --to user@rcpt.example --file "$D/msg/sigext.eml" \
	--source $BAD_IP --helo mail.forger.invalid
unsigned external-not-signed sigext judged

# ---------------------------------------------------------------- default action
# (k)-(n) mailauthd stopped, started again, and stopped and started
# while a loop sends: F=T makes Sendmail answer 4xx while it is away
e2e_stopped_tempfails
e2e_stopped_retry
e2e_restart_mid_stream
e2e_queue_drained

# mailauthd must have survived everything, stop cleanly on SIGTERM and
# (under the sanitizers) report nothing
sm_stop
e2e_mailauthd_end
e2e_finish
