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
if out=$("$MAILAUTHD" -n -c "$D/mailauthd.conf" 2>&1); then
	pass config-check
else
	fail config-check "mailauthd -n: $out"
fi

# mad_start - start mailauthd (MAD_PID), its log appended to
mad_start() {
	"$MAILAUTHD" -f -c "$D/mailauthd.conf" >>"$D/mailauthd.log" 2>&1 &
	MAD_PID=$!
	wait_tcp "$MILTER_PORT"
}
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

# copies NAME - how many copies of e2e-NAME the sink holds
copies() { grep -l -s "^Subject: e2e-$1\$" "$SINKDIR"/* | wc -l; }

# is_4xx, is_5xx REPLY
is_4xx() { case "$1" in 4[0-9][0-9]" "*) return 0 ;; esac; return 1; }
is_5xx() { case "$1" in 5[0-9][0-9]" "*) return 0 ;; esac; return 1; }

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
declare -A SINK_AR SINK_N SINK_COPIES
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

# ---------------------------------------------------------------- inbound
# (a) pass: signed, SPF pass, p=reject domain
mkmsg pass --from alice@pass.example --sign "$D/keys/e2e.key" --domain pass.example --selector $SELECTOR
send --from bounce@pass.example --to user@rcpt.example --file "$D/msg/pass.eml" \
	--source $GOOD_IP --helo mail.pass.example
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

# (b) forged: bad signature / unsigned, SPF fail, p=reject
mkmsg badsig --from alice@pass.example --sign "$D/keys/e2e.key" --domain pass.example --selector $SELECTOR --tamper
send --from bounce@pass.example --to user@rcpt.example --file "$D/msg/badsig.eml" \
	--source $BAD_IP --helo mail.forger.invalid
case "$REPLY_TEXT" in
"550 5.7.1"*) pass forged-badsig ;;
*) fail forged-badsig "want 550 5.7.1, got: $REPLY_TEXT" ;;
esac

mkmsg unsigned --from alice@pass.example
send --from bounce@pass.example --to user@rcpt.example --file "$D/msg/unsigned.eml" \
	--source $BAD_IP --helo mail.forger.invalid
case "$REPLY_TEXT" in
"550 5.7.1"*) pass forged-unsigned ;;
*) fail forged-unsigned "want 550 5.7.1, got: $REPLY_TEXT" ;;
esac

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

# (d) forged A-R with our authserv-id removed, a foreign one kept
mkmsg forgedar --from alice@pass.example --sign "$D/keys/e2e.key" --domain pass.example --selector $SELECTOR \
	--header "Authentication-Results: $AUTHSERV; dkim=pass header.d=forged.example (FORGED-AR)" \
	--header "Authentication-Results: other.example; spf=pass smtp.mailfrom=x@other.example (FOREIGN-AR)" \
	--header "Authentication-Results: $AUTHSERV;
	dmarc=pass header.from=forged.example (FORGED-AR2)"
send --from bounce@pass.example --to user@rcpt.example --file "$D/msg/forgedar.eml" \
	--source $GOOD_IP --helo mail.pass.example
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

# (e) internal client 127.0.0.1, From a domain without a key: not judged
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

# (f) many messages on one connection, in turn: signed (dkim=pass,
# delivered), tampered with a failing envelope domain (550 5.7.1),
# unsigned with an aligned SPF pass (dkim not pass, delivered)
MANY=51
SIGN="--sign $D/keys/e2e.key --domain pass.example --selector $SELECTOR"
for i in $(seq 1 $MANY); do
	case $((i % 3)) in
	1) echo "many$i --from alice@pass.example $SIGN" ;;
	2) echo "many$i --from alice@pass.example $SIGN --tamper" ;;
	0) echo "many$i --from alice@pass.example" ;;
	esac
done | mkmsgs
many_args=()
for i in $(seq 1 $MANY); do
	mfrom=bounce@pass.example
	[ $((i % 3)) = 2 ] && mfrom=bounce@bad.example
	if [ "$i" = 1 ]; then
		many_args=(--from "$mfrom" --file "$D/msg/many$i.eml")
	else
		many_args+=(--more "$mfrom" "$D/msg/many$i.eml")
	fi
done
send "${many_args[@]}" --to user@rcpt.example --source $GOOD_IP --helo mail.pass.example
echo "$REPLY_TEXT" >"$D/many.replies"
mapfile -t replies <"$D/many.replies"
why='' want=()
if [ ${#replies[@]} != $MANY ]; then
	why="want $MANY replies, got ${#replies[@]}: $(tail -n 2 "$D/many.replies" | tr '\n' '|')"
fi
for i in $(seq 1 $MANY); do
	[ -n "$why" ] && break
	r=${replies[$((i - 1))]}
	case $((i % 3)):$r in
	1:"250 "* | 0:"250 "*) want+=("e2e-many$i") ;;
	2:"550 5.7.1"*) ;;
	*) why="message $i: unexpected reply '$r'" ;;
	esac
done
if [ -z "$why" ] && ! sink_wait "${want[@]}"; then
	why="not all ${#want[@]} accepted messages delivered within ${WAIT}s"
fi
for m in "${want[@]}"; do
	[ -n "$why" ] && break
	i=${m#e2e-many} ar=${SINK_AR[$m]}
	if [ "${SINK_N[$m]}" != 1 ] || [ "${SINK_COPIES[$m]}" != 1 ]; then
		why="message $i: want one copy with one A-R of ours, got ${SINK_COPIES[$m]} with: $ar"
	elif [[ "$ar" != *spf=pass* || "$ar" != *dmarc=pass* ]]; then
		why="message $i: want spf=pass dmarc=pass: $ar"
	elif [ $((i % 3)) = 1 ] && [[ "$ar" != *dkim=pass* ]]; then
		why="message $i (signed): no dkim=pass: $ar"
	elif [ $((i % 3)) = 0 ] && [[ "$ar" == *dkim=pass* ]]; then
		why="message $i (unsigned): dkim=pass, another message's result: $ar"
	fi
done
if [ -n "$why" ]; then fail many-per-connection "$why"; else pass many-per-connection; fi

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
# (k) mailauthd stopped: F=T makes Sendmail answer 4xx, accept nothing;
# the client keeps the mail and, once mailauthd is back, sends it again
mad_term
rc_down=$MAD_RC
mkmsg downpass --from alice@pass.example --sign "$D/keys/e2e.key" --domain pass.example --selector $SELECTOR
mkmsg downforged --from alice@pass.example
mkmsg downsig --from alice@out.example
send --from bounce@pass.example --to user@rcpt.example --file "$D/msg/downpass.eml" \
	--source $GOOD_IP --helo mail.pass.example
r1=$REPLY_TEXT
send --from bounce@pass.example --to user@rcpt.example --file "$D/msg/downforged.eml" \
	--source $BAD_IP --helo mail.forger.invalid
r2=$REPLY_TEXT
sendp "$MSA_PORT" --from bounce@out.example --to user@rcpt.example --file "$D/msg/downsig.eml" \
	--source $BAD_IP --helo mail.out.example
r3=$REPLY_TEXT
sleep 1
if [ "$rc_down" != 0 ]; then
	fail stopped-tempfails "mailauthd did not stop cleanly on SIGTERM: $rc_down"
elif ! is_4xx "$r1" || ! is_4xx "$r2" || ! is_4xx "$r3"; then
	fail stopped-tempfails "want 4xx three times, got: [$r1] [$r2] [$r3]"
elif [ "$(copies downpass)" != 0 ] || [ "$(copies downforged)" != 0 ] || [ "$(copies downsig)" != 0 ]; then
	fail stopped-tempfails "delivered although temp-failed"
elif grep -l -s -E "^H\?\?Subject: e2e-down" "$QDIR"/* >/dev/null; then
	fail stopped-tempfails "temp-failed but queued: $(cd "$QDIR" && echo *)"
else
	pass stopped-tempfails
fi

# (l) mailauthd back: the client's retries get their verdicts
mad_start || die "mailauthd did not listen on $MILTER_PORT after a restart"
send --from bounce@pass.example --to user@rcpt.example --file "$D/msg/downpass.eml" \
	--source $GOOD_IP --helo mail.pass.example
r1=$REPLY_TEXT
send --from bounce@pass.example --to user@rcpt.example --file "$D/msg/downforged.eml" \
	--source $BAD_IP --helo mail.forger.invalid
r2=$REPLY_TEXT
sendp "$MSA_PORT" --from bounce@out.example --to user@rcpt.example --file "$D/msg/downsig.eml" \
	--source $BAD_IP --helo mail.out.example
r3=$REPLY_TEXT
# shellcheck disable=SC2086 # $VDNS: two words
if [ "${r1%% *}" != 250 ] || [ "${r3%% *}" != 250 ]; then
	fail stopped-retry "retries not accepted: [$r1] [$r3]"
elif [ "${r2#550 5.7.1}" = "$r2" ]; then
	fail stopped-retry "forged retry: want 550 5.7.1, got: $r2"
elif ! f=$(delivered downpass) || ! g=$(delivered downsig); then
	fail stopped-retry "accepted retries not delivered within ${WAIT}s"
elif ! our_ar "$f" | grep -qi "dmarc=pass"; then
	fail stopped-retry "retry delivered without its verdict: $(our_ar "$f")"
elif ! out=$($PY "$STOOL" verify "$g" $VDNS --want-d out.example --count 1 2>&1); then
	fail stopped-retry "outbound retry not signed: $(echo "$out" | tr '\n' '|')"
elif ! { sleep 1; [ "$(copies downpass)" = 1 ] && [ "$(copies downsig)" = 1 ]; }; then
	fail stopped-retry "want one copy each, got $(copies downpass) and $(copies downsig)"
else
	pass stopped-retry
fi

# (m) mailauthd stopped and started while a loop sends, per connection,
# a signed message (250, dkim=pass) and a forged one (550 5.7.1). Every
# reply must be that verdict or a 4xx; the 4xx ones are sent again
# afterwards and must then get it; no accepted message may go missing.
LOOP_N=24
mkdir -p "$D/loop"
for i in $(seq 1 $LOOP_N); do
	echo "loop$i-a --from alice@pass.example $SIGN"
	echo "loop$i-b --from alice@pass.example $SIGN --tamper"
done | mkmsgs
# loop_send - the loop; $D/loop/I holds connection I's replies
loop_send() {
	local i
	for i in $(seq 1 $LOOP_N); do
		sendp "$MTA_PORT" --from bounce@pass.example --file "$D/msg/loop$i-a.eml" \
			--from2 bounce@bad.example --file2 "$D/msg/loop$i-b.eml" \
			--to user@rcpt.example --source $GOOD_IP --helo mail.pass.example --pause 0.5
		echo "$REPLY_TEXT" >"$D/loop/$i.tmp" && mv "$D/loop/$i.tmp" "$D/loop/$i"
		sleep 0.1
	done
}
# loop_done N - until the loop has finished N connections (bounded)
loop_done() {
	for _ in $(seq 1 $((WAIT * 5))); do
		[ -f "$D/loop/$1" ] && return 0
		kill -0 "$LOOP_PID" 2>/dev/null || return 1
		sleep 0.2
	done
	return 1
}
loop_send &
LOOP_PID=$!
why=
loop_done 4 || why="the loop did not get going: $(cat "$D/loop/"* 2>/dev/null | tr '\n' '|')"
sleep 0.3			# most likely between the messages of connection 5
mad_term
stop_at=0			# connections finished when it stopped
for f in "$D/loop"/[0-9]*; do [ -f "$f" ] && stop_at=$((stop_at + 1)); done
if [ -z "$why" ] && [ "$MAD_RC" != 0 ]; then why="mailauthd stopped mid-stream with status $MAD_RC"; fi
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
n4=0 nafter=0 want=()		# temp-failed; accepted after the first 4xx
for i in $(seq 1 $LOOP_N); do
	[ -n "$why" ] && break
	ra=$(sed -n 1p "$D/loop/$i" 2>/dev/null) rb=$(sed -n 2p "$D/loop/$i" 2>/dev/null)
	# signed: 250, or 4xx (or not sent after a 4xx that closed the
	# connection) and 250 when the client sends it again
	if is_4xx "$ra" || [ -z "$ra" ]; then
		n4=$((n4 + 1))
		send --from bounce@pass.example --to user@rcpt.example --file "$D/msg/loop$i-a.eml" \
			--source $GOOD_IP --helo mail.pass.example
		ra=$REPLY_TEXT
	elif [ $n4 -gt 0 ]; then
		nafter=$((nafter + 1))
	fi
	if [ "${ra%% *}" != 250 ]; then why="connection $i, signed message: got '$ra'"; break; fi
	want+=("e2e-loop$i-a")
	# forged: 550 5.7.1 from mailauthd, or 4xx and then 550 on a retry
	if is_4xx "$rb" || [ -z "$rb" ]; then
		n4=$((n4 + 1))
		send --from bounce@bad.example --to user@rcpt.example --file "$D/msg/loop$i-b.eml" \
			--source $GOOD_IP --helo mail.pass.example
		rb=$REPLY_TEXT
	fi
	if [ "${rb#550 5.7.1}" = "$rb" ]; then why="connection $i, forged message: want 550 5.7.1, got '$rb'"; break; fi
done
# every accepted message delivered once, with its verdict
if [ -z "$why" ] && ! sink_wait "${want[@]}"; then
	why="accepted messages missing from the sink after ${WAIT}s"
fi
for m in "${want[@]}"; do
	[ -n "$why" ] && break
	if [ "${SINK_COPIES[$m]}" != 1 ]; then
		why="$m: ${SINK_COPIES[$m]} copies delivered"
	elif [ "${SINK_N[$m]}" != 1 ] || [[ "${SINK_AR[$m]}" != *dkim=pass* ]]; then
		why="$m delivered without its verdict: ${SINK_AR[$m]}"
	fi
done
if [ -z "$why" ] && [ $n4 = 0 ]; then why="no connection saw mailauthd down (nothing temp-failed)"; fi
if [ -z "$why" ] && [ $nafter = 0 ]; then why="no connection accepted after the restart"; fi
if [ -z "$why" ] && ! mad_log_clean; then
	why="sanitizer report: $(grep -m 3 -E "Sanitizer|runtime error:" "$D/mailauthd.log")"
fi
if [ -n "$why" ]; then
	fail restart-mid-stream "$why"
else
	pass restart-mid-stream
fi

# (n) nothing stuck in Sendmail's queue but the quarantined message
left=
for _ in $(seq 1 $((WAIT * 2))); do
	left=
	for f in "$QDIR"/*; do
		case "${f##*/}" in hf* | "df$qid" | "*") ;; *) left="$left ${f##*/}" ;; esac
	done
	[ -z "$left" ] && break
	sleep 0.5
done
if [ -n "$left" ]; then
	fail queue-drained "left in $QDIR:$left"
else
	pass queue-drained
fi

# mailauthd must have survived everything, stop cleanly on SIGTERM and
# (under the sanitizers) report nothing
sm_stop
e2e_mailauthd_end
e2e_finish
