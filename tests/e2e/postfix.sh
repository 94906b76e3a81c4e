#!/bin/bash
# NAME
#	postfix.sh - end-to-end test: a real Postfix, nsd and mailauthd on loopback
# SYNOPSIS
#	tests/e2e/postfix.sh [BUILD_DIR]
# DESCRIPTION
#	Starts, in a private temporary directory and on free 127.0.0.1 ports:
#	  - nsd serving the test zone (DKIM key, SPF, DMARC records), or with
#	    E2E_DNS=zone, no server: the same records via DNSZoneFile;
#	  - mailauthd -f from BUILD_DIR (default: build-ci, then build-e2e,
#	    then build) with a test configuration on an inet: socket;
#	  - a private Postfix instance (own config_directory, queue_directory,
#	    no chroot, XCLIENT allowed from 127.0.0.1) with smtpd_milters
#	    pointing at mailauthd, milter_default_action = tempfail, and
#	    relaying to a dumping smtp-sink; one more smtpd port whose
#	    milter is a second mailauthd on a unix: socket (the timing case).
#	Messages are made (and DKIM-signed with a fresh RSA 2048 key) by
#	e2e_tool.py through /usr/bin/python3 and sent over SMTP, the client
#	address presented with XCLIENT. Cases:
#	  config-check        mailauthd -n accepts the test configuration
#	  pass                signed, SPF pass, p=reject: delivered, A-R has
#	                      dkim=pass spf=pass dmarc=pass
#	  forged-badsig       tampered signature, SPF fail: 550 5.7.1
#	  forged-unsigned     unsigned, SPF fail: 550 5.7.1
#	  quarantine          p=quarantine failure: in Postfix's hold queue
#	  forged-ar           our authserv-id's forged A-R removed, foreign kept
#	  internal            client 127.0.0.1 (InternalHosts): not judged
#	  two-per-connection  two messages on one SMTP connection keep
#	                      their own results
#	  many-per-connection 51 messages on one SMTP connection (signed,
#	                      tampered, unsigned in turn): each its own reply
#	                      and A-R, delivered once
#	  inet-not-slower-than-unix
#	                      Postfix's milter client sets no TCP_NODELAY:
#	                      20 connections (one signed message each) to
#	                      the port whose milter is mailauthd on inet:,
#	                      20 to the one with a second mailauthd (same
#	                      configuration) on unix:, interleaved; the inet
#	                      median time may be at most 20 ms above the
#	                      unix one (both printed)
#	Outbound signing (keys from an OpenDKIM-format KeyTable and refile:
#	SigningTable; each delivered copy verified by python3-dkim against
#	the test DNS, via sign_tool.py):
#	  opendkim-key-owned-by-userid  mailauthd -n accepts key files
#	                      owned by its UserID (mode 600), as OpenDKIM's
#	                      documentation has them (chown opendkim)
#	  opendkim-tables     the tables as OpenDKIM documents them (keyname
#	                      selector._domainkey.domain, PKCS#1 key file as
#	                      opendkim-genkey writes it): mailauth-check --sign
#	                      with the same configuration signs d=/s= from them
#	  sign-internal       plain connection from 127.0.0.1: signed, d= the
#	                      From domain, verifies, not judged
#	  sign-internal-xclient  XCLIENT ADDR=127.0.0.2 (InternalHosts): signed
#	  sign-dual           two SigningTable lines for one domain: an RSA
#	                      and an Ed25519 signature, both verify
#	  sign-originating    port with -o milter_macro_daemon_name=ORIGINATING
#	                      (SigningDaemons ORIGINATING), external XCLIENT
#	                      address: signed
#	  sign-sasl           SMTP AUTH (Cyrus SASL, sasldb; needs sasl2-bin's
#	                      saslpasswd2, else SKIP) from an external address
#	                      on a port without ORIGINATING: signed
#	  sasl-port-unauthenticated  the same port and address without AUTH:
#	                      not signed
#	  external-not-signed external client, From a domain we have a key for:
#	                      not signed, judged (our A-R)
#	  no-key-not-signed   internal client, From a domain without a key:
#	                      delivered unsigned
#	  sign-after-sighup, sign-after-sigusr1
#	                      SIGHUP/SIGUSR1 reload configuration and keys (as
#	                      the UserID by then) and mail is still signed
#	  broken-reload-keeps-old
#	                      a broken configuration on SIGHUP is refused with
#	                      a log line; the old one stays and still signs
#	  stopped-tempfails   mailauthd stopped: Postfix answers 4xx
#	                      (milter_default_action = tempfail) to inbound
#	                      and outbound mail, delivers and queues nothing
#	  stopped-retry       mailauthd started again: the same messages sent
#	                      again get their verdicts, one copy each
#	  restart-mid-stream  mailauthd stopped and started while a loop sends
#	                      two messages per connection: every message
#	                      delivered with its verdict, rejected by it, or
#	                      temp-failed and delivered/rejected on retry;
#	                      none wrongly 5xx, none lost or duplicated; the
#	                      stopped mailauthd exited 0
#	  queue-drained       nothing in Postfix's queue (postqueue -p) but
#	                      the quarantined message in the hold queue
#	  milter-*            protocol edge cases (milter_proto.py): close
#	                      without connect, abort mid-body, an empty
#	                      message, many messages per connection
#	  mailauthd-alive     mailauthd survived all of it
#	  mailauthd-stop      SIGTERM stops it with status 0, no sanitizer
#	                      report in its log
#	Prints "PASS name" or "FAIL name: why" per case, then
#	"e2e: N passed, N failed"; exits 1 on any failure, 77 when it cannot
#	run (not root, Postfix missing).
#	The system's Postfix instance is neither used nor touched.
# ENVIRONMENT
#	E2E_DNS=nsd|zone (default nsd when installed), E2E_KEEP=1 keeps the
#	temporary directory, E2E_VERBOSE=1 prints the logs at the end.
# SEE ALSO
#	tests/e2e/lib.sh (helpers and cases shared with sendmail.sh),
#	tests/e2e/sendmail.sh
set -u

TOP=$(cd "$(dirname "$0")/../.." && pwd)
E2E_TAG=e2e
# shellcheck source=tests/e2e/lib.sh
. "$TOP/tests/e2e/lib.sh"
GOOD_IP=192.0.2.10		# authorised by the senders' SPF
BAD_IP=198.51.100.7		# not authorised

if [ "$(id -u)" != 0 ]; then
	echo "e2e: SKIP: must run as root (a private Postfix needs it)"; exit 77
fi
for p in postfix postconf smtp-sink openssl; do
	command -v "$p" >/dev/null || { echo "e2e: SKIP: $p not installed"; exit 77; }
done
$PY -c 'import dkim, dnslib' 2>/dev/null ||
	{ echo "e2e: SKIP: python3-dkim/python3-dnslib missing"; exit 77; }

e2e_find_build "${1:-}"

D=$(mktemp -d /tmp/mailauth-e2e.XXXXXX) || exit 1
chmod 755 "$D"
ETC=$D/postfix/etc SPOOL=$D/postfix/spool PFDATA=$D/postfix/data
SINKDIR=$D/sink
UDIR=$D/unix			# root's, mode 755: Postfix's smtpd reaches the socket
SINK_PID='' MAD_PID='' UMAD_PID='' LOOP_PID=''
E2E_LOGS="$D/mailauthd.log $D/mailauthd-unix.log $D/postfix.log $D/nsd.log $D/sink.log"

cleanup() {
	trap - EXIT INT TERM
	if [ -f "$ETC/main.cf" ]; then
		timeout 30 postfix -c "$ETC" stop >/dev/null 2>&1
		# a master that does not stop in time is killed by its own pid
		local mp
		mp=$(tr -d ' ' <"$SPOOL/pid/master.pid" 2>/dev/null)
		[ -n "$mp" ] && kill -0 "$mp" 2>/dev/null && sleep 2 && stop_pid "$mp"
	fi
	stop_pid "$LOOP_PID"
	stop_pid "$MAD_PID"
	stop_pid "$UMAD_PID"
	stop_pid "$SINK_PID"
	stop_pid "$NSD_PID"
	[ "${E2E_VERBOSE:-0}" = 1 ] && show_logs
	if [ "${E2E_KEEP:-0}" = 1 ]; then echo "e2e: kept $D"; else rm -rf "$D"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

SMTPD_PORT=$(port) SINK_PORT=$(port) MILTER_PORT=$(port) DNS_PORT=$(port udp)
MTA_PORT=$SMTPD_PORT
ORIG_PORT=$(port) SASL_PORT=$(port) UNIX_PORT=$(port)
OUT_PORT=$ORIG_PORT
GOOD_CLIENT=(--xclient-addr "$GOOD_IP") BAD_CLIENT=(--xclient-addr "$BAD_IP")
SASL_USER=alice@e2e.example SASL_PASS=e2e-secret-$$

# ---------------------------------------------------------------- keys, zone
mkdir -p "$D/keys" "$D/dns" "$D/msg"
e2e_inbound_key

# signing keys, laid out as OpenDKIM documents it: opendkim-genkey's
# PKCS#1 "selector.private", KeyTable "keyname domain:selector:path" with
# keyname selector._domainkey.domain, SigningTable (refile:) "pattern
# keyname". Mode 600, owned by root (mailauthd reads them before it
# becomes UserID); a copy owned by the UserID, as OpenDKIM documents it
# (chown opendkim), is checked by the case opendkim-key-owned-by-userid.
OD=$D/opendkim
mkdir -p "$OD/keys/out.example" "$OD/keys/duo.example"
(umask 077
 openssl genrsa -traditional -out "$OD/keys/out.example/mail.private" 2048 &&
 openssl genrsa -traditional -out "$OD/keys/duo.example/rsa.private" 2048 &&
 openssl genpkey -algorithm ED25519 -out "$OD/keys/duo.example/ed.private") \
	>/dev/null 2>&1 || die "openssl: signing keys"
chmod 600 "$OD"/keys/*/*.private
cp -a "$OD/keys" "$OD/keys-userid"
chown -R nobody:nogroup "$OD/keys-userid"
OUT_REC=$(rsa_rec "$OD/keys/out.example/mail.private")
DUO_RSA_REC=$(rsa_rec "$OD/keys/duo.example/rsa.private")
DUO_ED_REC=$(ed_rec "$OD/keys/duo.example/ed.private")
cat >"$OD/KeyTable" <<EOF
# OpenDKIM KeyTable: keyname domain:selector:keyfile
mail._domainkey.out.example out.example:mail:$OD/keys/out.example/mail.private
rsa._domainkey.duo.example duo.example:rsa:$OD/keys/duo.example/rsa.private
ed._domainkey.duo.example duo.example:ed:$OD/keys/duo.example/ed.private
EOF
cat >"$OD/SigningTable" <<EOF
# OpenDKIM SigningTable (refile:): pattern keyname
*@out.example mail._domainkey.out.example
*@duo.example rsa._domainkey.duo.example
*@duo.example ed._domainkey.duo.example
EOF

# records shared by both DNS modes (fully qualified names)
cat >"$D/dns/records" <<EOF
pass.example. 300 IN TXT "v=spf1 ip4:$GOOD_IP -all"
mail.pass.example. 300 IN TXT "v=spf1 ip4:$GOOD_IP -all"
mail.pass.example. 300 IN A $GOOD_IP
_dmarc.pass.example. 300 IN TXT "v=DMARC1; p=reject; rua=mailto:dmarc@pass.example"
$SELECTOR._domainkey.pass.example. 300 IN TXT $KEYTXT
quar.example. 300 IN TXT "v=spf1 ip4:$GOOD_IP -all"
_dmarc.quar.example. 300 IN TXT "v=DMARC1; p=quarantine"
$SELECTOR._domainkey.quar.example. 300 IN TXT $KEYTXT
bad.example. 300 IN TXT "v=spf1 -all"
mail._domainkey.out.example. 300 IN TXT $OUT_REC
rsa._domainkey.duo.example. 300 IN TXT $DUO_RSA_REC
ed._domainkey.duo.example. 300 IN TXT $DUO_ED_REC
EOF

e2e_dns_start

# ---------------------------------------------------------------- mailauthd
cat >"$D/mailauthd.conf" <<EOF
# mailauthd end-to-end test configuration
Socket inet:$MILTER_PORT@127.0.0.1
PidFile $D/mailauthd.pid
UserID nobody
AuthservID $AUTHSERV
Hostname $AUTHSERV
$DNS_CONF
DNSTimeout 3
InternalHosts 127.0.0.0/8, ::1
RejectFailures yes
RemoveForgedAuthResults yes
LogWhy yes
KeyTable $OD/KeyTable
SigningTable refile:$OD/SigningTable
RequireSafeKeys yes
SigningDaemons ORIGINATING
ReportDatabase sqlite:$D/history/history.db
ReportSpool $D/history/history.spool
ReportRelay 127.0.0.1:$SMTPD_PORT
ReportOrgName e2e.example
ReportEmail dmarc-reports@e2e.example
EOF

if out=$("$MAILAUTHD" -n -c "$D/mailauthd.conf" 2>&1); then
	pass config-check
else
	fail config-check "mailauthd -n: $out"
fi
# the same tables with the key files owned by the UserID (mode 600), as
# OpenDKIM's documentation has them: safe, must load
sed "s|$OD/keys/|$OD/keys-userid/|" "$OD/KeyTable" >"$OD/KeyTable.userid"
sed "s|^KeyTable .*|KeyTable $OD/KeyTable.userid|" "$D/mailauthd.conf" >"$D/mailauthd-userid.conf"
if out=$("$MAILAUTHD" -n -c "$D/mailauthd-userid.conf" 2>&1); then
	pass opendkim-key-owned-by-userid
else
	fail opendkim-key-owned-by-userid "mailauthd -n: $out"
fi
# served with the UserID-owned keys: a reload (as UserID by then) must
# be able to read them again
MAD_CONF=$D/mailauthd-userid.conf
mad_start || die "mailauthd did not listen on $MILTER_PORT"

# ---------------------------------------------------------------- sink
mkdir -p "$SINKDIR"
chown postfix:postfix "$SINKDIR"
smtp-sink -u postfix -d "$SINKDIR/%H%M%S." "127.0.0.1:$SINK_PORT" 64 >"$D/sink.log" 2>&1 &
SINK_PID=$!
wait_tcp "$SINK_PORT" || die "smtp-sink did not listen on $SINK_PORT"

# ---------------------------------------------------------------- Postfix
mkdir -p "$ETC" "$SPOOL" "$PFDATA"
chown postfix:postfix "$PFDATA"

# SMTP AUTH: Cyrus SASL with a private sasldb (auxprop), enabled only on
# the SASL port; needs saslpasswd2 (sasl2-bin) and the sasldb plugin
SASL=no SASL_WHY=
if ! command -v saslpasswd2 >/dev/null; then
	SASL_WHY="saslpasswd2 not installed (Debian package sasl2-bin)"
elif ! ls /usr/lib/*/sasl2/libsasldb.so* >/dev/null 2>&1; then
	SASL_WHY="Cyrus SASL sasldb plugin missing (libsasl2-modules-db)"
elif ! postconf -c "$ETC" -a 2>/dev/null | grep -qx cyrus; then
	SASL_WHY="this Postfix has no Cyrus SASL support (postconf -a)"
else
	mkdir -p "$ETC/sasl"
	cat >"$ETC/sasl/smtpd.conf" <<EOF
pwcheck_method: auxprop
auxprop_plugin: sasldb
mech_list: PLAIN LOGIN
sasldb_path: $D/sasldb2
EOF
	if echo "$SASL_PASS" | saslpasswd2 -p -c -f "$D/sasldb2" -u "${SASL_USER#*@}" "${SASL_USER%@*}" \
		>"$D/saslpasswd2.log" 2>&1; then
		chown postfix:postfix "$D/sasldb2"
		chmod 600 "$D/sasldb2"
		SASL=yes
	else
		SASL_WHY="saslpasswd2 failed: $(head -c 200 "$D/saslpasswd2.log")"
	fi
fi
cat >"$ETC/main.cf" <<EOF
# private instance of tests/e2e/postfix.sh; loopback only
compatibility_level = 3.6
queue_directory = $SPOOL
data_directory = $PFDATA
mail_owner = postfix
setgid_group = postdrop
myhostname = $AUTHSERV
mydomain = e2e.example
myorigin = \$myhostname
mydestination =
relay_domains = rcpt.example
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relayhost = [127.0.0.1]:$SINK_PORT
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_authorized_xclient_hosts = 127.0.0.1
smtpd_peername_lookup = no
smtp_dns_support_level = disabled
alias_maps =
alias_database =
local_recipient_maps =
biff = no
append_dot_mydomain = no
smtputf8_enable = no
smtpd_tls_security_level = none
smtp_tls_security_level = none
maillog_file = $D/postfix.log
maillog_file_prefixes = $D
milter_default_action = tempfail
milter_protocol = 6
milter_macro_daemon_name = MX
smtpd_milters = inet:127.0.0.1:$MILTER_PORT
non_smtpd_milters =
smtpd_sasl_type = cyrus
smtpd_sasl_path = smtpd
cyrus_sasl_config_path = $ETC/sasl
smtpd_sasl_security_options = noanonymous
smtpd_tls_auth_only = no
EOF
cat >"$ETC/master.cf" <<EOF
127.0.0.1:$SMTPD_PORT inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
127.0.0.1:$ORIG_PORT inet n - n - - smtpd
  -o milter_macro_daemon_name=ORIGINATING
127.0.0.1:$UNIX_PORT inet n - n - - smtpd
  -o smtpd_milters=unix:$UDIR/mailauthd.sock
EOF
[ "$SASL" = yes ] && cat >>"$ETC/master.cf" <<EOF
127.0.0.1:$SASL_PORT inet n - n - - smtpd
  -o smtpd_sasl_auth_enable=yes
EOF
timeout 60 postfix -c "$ETC" check >"$D/postfix-check.log" 2>&1 ||
	die "postfix check: $(cat "$D/postfix-check.log")"
timeout 60 postfix -c "$ETC" start >"$D/postfix-start.log" 2>&1 ||
	die "postfix start: $(cat "$D/postfix-start.log")"
wait_tcp "$SMTPD_PORT" || die "postfix smtpd did not listen on $SMTPD_PORT"
wait_tcp "$ORIG_PORT" || die "postfix smtpd (ORIGINATING) did not listen on $ORIG_PORT"
wait_tcp "$UNIX_PORT" || die "postfix smtpd (unix: milter) did not listen on $UNIX_PORT"
if [ "$SASL" = yes ]; then
	wait_tcp "$SASL_PORT" || die "postfix smtpd (SASL) did not listen on $SASL_PORT"
fi

# ---------------------------------------------------------------- helpers
# held NAME - the queue id of e2e-NAME in the hold queue (bounded wait)
held() {
	local f
	for _ in $(seq 1 $((WAIT * 2))); do
		f=$(grep -l -s -r "Subject: e2e-$1" "$SPOOL/hold" | head -n 1)
		[ -n "$f" ] && { echo "${f##*/}"; return 0; }
		sleep 0.5
	done
	return 1
}

# mta_queued PREFIX - print the queue files holding e2e-PREFIX...; fails
# when there are none
mta_queued() {
	local q
	q=$(grep -l -s -r "Subject: e2e-$1" "$SPOOL"/{maildrop,incoming,active,deferred,hold}) || return 1
	echo "$q" | sed "s|^$SPOOL/||" | tr '\n' ' '
}

# mta_queue_left - the queue ids postqueue -p lists, but the quarantined
# message's ($qid, in the hold queue: "!")
mta_queue_left() {
	local out
	if ! out=$(timeout $WAIT postqueue -c "$ETC" -p 2>&1); then
		echo "postqueue -p failed: $out"
		return
	fi
	echo "$out" | awk -v q="$qid!" '/^[0-9A-F]+[*!]?[ \t]/ && $1 != q { printf "%s ", $1 }'
}

# ---------------------------------------------------------------- cases
# (a), (b) pass, forged-badsig, forged-unsigned (lib.sh)
e2e_pass_and_forged

# (c) quarantine: p=quarantine failure lands in the hold queue
qid=
mkmsg quar --from alice@quar.example
send --from bounce@quar.example --to user@rcpt.example --file "$D/msg/quar.eml" \
	--xclient-addr $BAD_IP --helo mail.forger.invalid
if [ "${REPLY_TEXT%% *}" != 250 ]; then
	fail quarantine "not accepted: $REPLY_TEXT"
elif ! qid=$(held quar); then
	fail quarantine "not in the hold queue ($SPOOL/hold) within ${WAIT}s"
elif [ "$(copies quar)" != 0 ]; then
	fail quarantine "held but also delivered"
else
	pass quarantine
fi

# (d), (e) forged-ar, internal (lib.sh)
e2e_forged_ar_and_internal

# (f) two messages on one connection: pass, then forged
mkmsg two1 --from alice@pass.example --sign "$D/keys/e2e.key" --domain pass.example --selector $SELECTOR
mkmsg two2 --from alice@pass.example
send --from bounce@pass.example --to user@rcpt.example --file "$D/msg/two1.eml" \
	--file2 "$D/msg/two2.eml" --xclient-addr $GOOD_IP --helo mail.pass.example
first=$(echo "$REPLY_TEXT" | sed -n 1p) second=$(echo "$REPLY_TEXT" | sed -n 2p)
# the second is unsigned but SPF passes and aligns: DMARC pass, delivered
if [ "${first%% *}" != 250 ] || [ "${second%% *}" != 250 ]; then
	fail two-per-connection "want 250 twice, got: $(echo "$REPLY_TEXT" | tr '\n' '|')"
elif ! f=$(delivered two1) || ! g=$(delivered two2); then
	fail two-per-connection "not both delivered within ${WAIT}s"
elif ! our_ar "$f" | grep -qi "dkim=pass" || our_ar "$g" | grep -qi "dkim=pass"; then
	fail two-per-connection "results mixed between messages: [$(our_ar "$f")] [$(our_ar "$g")]"
else
	pass two-per-connection
fi

# (f2) many messages on one connection
e2e_many_per_connection 51

# (f3) the TCP socket without the Nagle stall: Postfix's milter client
# sets no TCP_NODELAY and writes a macro packet, then its command; a
# milter that delays its ACK of the first makes Nagle hold the second
# for the delayed-ACK timer (40 ms), several times a message.
# mailauthd on inet: (the MTA port) against a second mailauthd,
# the same configuration on unix: (UNIX_PORT; its own PidFile and
# history, group postfix for the socket's mode 0660), connections
# interleaved, each one signed message: the inet median may be at most
# TIME_SLACK_MS above the unix one.
TIME_N=20 TIME_SLACK_MS=20
mkdir -p "$UDIR"
sed -e "s|^Socket .*|Socket unix:$UDIR/mailauthd.sock|" \
	-e "s|^PidFile .*|PidFile $UDIR/mailauthd.pid|" \
	-e "s|^UserID .*|UserID nobody:postfix|" \
	-e "s|$D/history/|$D/history-unix/|" "$MAD_CONF" >"$D/mailauthd-unix.conf"
"$MAILAUTHD" -f -c "$D/mailauthd-unix.conf" >>"$D/mailauthd-unix.log" 2>&1 &
UMAD_PID=$!
mkmsg timed --from alice@pass.example "${PASS_SIGN[@]}"
# timed_send PORT - send e2e-timed to PORT; TIMED: the seconds the
# connection took; fails unless accepted
timed_send() {
	sendp "$1" --from bounce@pass.example --to user@rcpt.example --file "$D/msg/timed.eml" \
		"${GOOD_CLIENT[@]}" --helo mail.pass.example --time
	TIMED=${REPLY_TEXT##*time }
	[ "${REPLY_TEXT%% *}" = 250 ] && [ "$TIMED" != "$REPLY_TEXT" ]
}
# median - of the numbers on standard input, in milliseconds
median() {
	sort -g | awk '{ v[NR] = $1 }
		END { printf "%.1f", 1000 * (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}
why='' t_inet=() t_unix=()
# it serves once it logs "starting" (socket chowned, privileges dropped)
if ! wait_log "$D/mailauthd-unix.log" "starting mailauthd" "$UMAD_PID"; then
	why="mailauthd on unix: did not start: $(tail -n 3 "$D/mailauthd-unix.log")"
fi
# the first of each: smtpd processes, DNS caches; not timed
for p in "$MTA_PORT" "$UNIX_PORT"; do
	[ -n "$why" ] || timed_send "$p" || why="port $p: $REPLY_TEXT"
done
for _ in $(seq 1 $TIME_N); do
	[ -n "$why" ] && break
	timed_send "$MTA_PORT" || { why="inet: $REPLY_TEXT"; break; }
	t_inet+=("$TIMED")
	timed_send "$UNIX_PORT" || { why="unix: $REPLY_TEXT"; break; }
	t_unix+=("$TIMED")
done
if ! mad_stop "$UMAD_PID" "$D/mailauthd-unix.log" && [ -z "$why" ]; then
	why="mailauthd on unix: $MAD_WHY"
fi
UMAD_PID=
if [ -z "$why" ]; then
	m_inet=$(printf '%s\n' "${t_inet[@]}" | median)
	m_unix=$(printf '%s\n' "${t_unix[@]}" | median)
	medians="median of $TIME_N: inet $m_inet ms, unix $m_unix ms"
	if awk -v i="$m_inet" -v u="$m_unix" -v s=$TIME_SLACK_MS 'BEGIN { exit !(i - u <= s) }'; then
		pass "inet-not-slower-than-unix ($medians)"
	else
		why="$medians: more than $TIME_SLACK_MS ms apart (Nagle and delayed ACK?)"
	fi
fi
if [ -n "$why" ]; then fail inet-not-slower-than-unix "$why"; fi

# ---------------------------------------------------------------- signing
# delivered copies are verified (sign_tool.py, $VDNS) against the test
# DNS (nsd), or the same records when there is no server
# (h) the OpenDKIM-format tables, offline: mailauth-check --sign with the
# very configuration mailauthd runs
mkmsg odk --from alice@out.example
if [ ! -x "$BUILD/mailauth-check" ]; then
	fail opendkim-tables "$BUILD/mailauth-check not built"
elif ! out=$("$BUILD/mailauth-check" --sign -c "$D/mailauthd.conf" "$D/msg/odk.eml" 2>&1); then
	fail opendkim-tables "mailauth-check --sign: $out"
else
	sig=$(echo "$out" | tr -d '\r' | tr '\n' ' ')
	case "$sig" in
	*DKIM-Signature:*d=out.example\;*) ;;
	*) sig="BAD $sig" ;;
	esac
	case "$sig" in
	BAD*) fail opendkim-tables "no d=out.example signature: ${sig#BAD }" ;;
	*s=mail\;*) pass opendkim-tables ;;
	*) fail opendkim-tables "no s=mail (from the KeyTable): $sig" ;;
	esac
fi

# (i) internal client, plain connection from 127.0.0.1: signed
mkmsg sigint --from alice@out.example
send --from bounce@out.example --to user@rcpt.example --file "$D/msg/sigint.eml" --helo localhost
signed sign-internal sigint out.example 1 internal

# (j) internal by XCLIENT address (127.0.0.2 is in InternalHosts 127.0.0.0/8)
mkmsg sigxc --from alice@out.example
send --from bounce@out.example --to user@rcpt.example --file "$D/msg/sigxc.eml" \
	--xclient-addr 127.0.0.2 --helo localhost
signed sign-internal-xclient sigxc out.example 1 internal

# (k) two SigningTable lines for one domain: RSA and Ed25519
mkmsg sigduo --from alice@duo.example
send --from bounce@duo.example --to user@rcpt.example --file "$D/msg/sigduo.eml" --helo localhost
signed sign-dual sigduo duo.example 2 internal

# (l) the ORIGINATING port, from an external address
mkmsg sigorig --from alice@out.example
sendp "$ORIG_PORT" --from bounce@out.example --file "$D/msg/sigorig.eml" \
	--xclient-addr $BAD_IP --helo mail.out.example
signed sign-originating sigorig out.example 1

# (m) SMTP AUTH from an external address (port without ORIGINATING)
if [ "$SASL" = yes ]; then
	mkmsg sigsasl --from alice@out.example
	sendp "$SASL_PORT" --from bounce@out.example --file "$D/msg/sigsasl.eml" \
		--xclient-addr $BAD_IP --helo mail.out.example --auth "$SASL_USER" "$SASL_PASS"
	signed sign-sasl sigsasl out.example 1
	mkmsg saslnoauth --from alice@out.example
	sendp "$SASL_PORT" --from bounce@out.example --file "$D/msg/saslnoauth.eml" \
		--xclient-addr $BAD_IP --helo mail.out.example
	unsigned sasl-port-unauthenticated saslnoauth judged
elif [ "${CI:-}" = true ]; then
	# CI installs sasl2-bin: a missing SASL set-up there is a failure
	fail sign-sasl "$SASL_WHY"
else
	echo "SKIP sign-sasl: $SASL_WHY"
	echo "SKIP sasl-port-unauthenticated: $SASL_WHY"
fi

# (n) external client, From a domain we hold a key for: judged, not signed
mkmsg sigext --from alice@out.example
send --from bounce@out.example --to user@rcpt.example --file "$D/msg/sigext.eml" \
	--xclient-addr $BAD_IP --helo mail.forger.invalid
unsigned external-not-signed sigext judged

# (o) internal client, From a domain without a key: not signed
mkmsg signokey --from alice@nokey.example
send --from bounce@nokey.example --to user@rcpt.example --file "$D/msg/signokey.eml" --helo localhost
unsigned no-key-not-signed signokey

# (p) SIGHUP (and SIGUSR1) reload configuration and keys (now as
# UserID): must succeed and still sign; a broken configuration is refused
# and the running one stays in force.
# reload_and_sign NAME SIGNAL WANT(reloaded|keeping) - signal, wait for
# the next reload line, send a message that must still be signed
reload_and_sign() {
	local name=$1 sig=$2 want=$3 before rl=
	before=$(grep -cE "reloaded|reload:" "$D/mailauthd.log")
	kill -"$sig" "$MAD_PID" 2>/dev/null
	for _ in $(seq 1 $((WAIT * 5))); do
		if [ "$(grep -cE "reloaded|reload:" "$D/mailauthd.log")" -gt "$before" ]; then
			rl=$(grep -E "reloaded|reload:" "$D/mailauthd.log" | tail -n 1)
			break
		fi
		sleep 0.2
	done
	if [ -z "$rl" ]; then
		fail "$name" "no reload logged within ${WAIT}s of SIG$sig"
	elif ! echo "$rl" | grep -q "$want"; then
		fail "$name" "reload: got '$rl', want '$want'"
	elif ! kill -0 "$MAD_PID" 2>/dev/null; then
		fail "$name" "mailauthd is gone after SIG$sig"
	else
		mkmsg "$name" --from alice@out.example
		send --from bounce@out.example --to user@rcpt.example --file "$D/msg/$name.eml" --helo localhost
		signed "$name" "$name" out.example 1 internal
	fi
}
reload_and_sign sign-after-sighup HUP reloaded
reload_and_sign sign-after-sigusr1 USR1 reloaded
cp "$D/mailauthd-userid.conf" "$D/mailauthd-userid.conf.good"
echo "NoSuchKey yes" >>"$D/mailauthd-userid.conf"
reload_and_sign broken-reload-keeps-old HUP keeping
cp "$D/mailauthd-userid.conf.good" "$D/mailauthd-userid.conf"

# (q) DMARC aggregate report through Postfix: mailauthd recorded the DMARC
# evaluations of this run (SQLite history); mailauth-report, as the
# UserID, sends pass.example's report (rua=mailto:dmarc@pass.example)
# through this Postfix to the sink: a well-formed report mail whose gzip
# attachment is valid RFC 9990 XML.
REPORTER=$(dirname "$MAILAUTHD")/mailauth-report
XSD=${SHARED_DIR:-$TOP/../shared}/conformance/dmarc/rfc9990-aggregate.xsd
if [ ! -x "$REPORTER" ]; then
	fail report-via-postfix "$REPORTER not built"
else
	rep_end=$(($(date +%s) + 60))
	rep_dir=$D/history/dry
	rep_ok=
	for _ in $(seq 1 $((WAIT * 2))); do	# the writer thread is asynchronous
		rm -rf "$rep_dir"; mkdir -p "$rep_dir"; chown nobody "$rep_dir"
		runuser -u nobody -- "$REPORTER" -c "$D/mailauthd-userid.conf" --dry-run \
			--output-dir "$rep_dir" --begin 0 --end "$rep_end" \
			>"$D/report-dry.log" 2>&1
		if ls "$rep_dir" 2>/dev/null | grep -q "pass.example.*xml.gz"; then
			rep_ok=1; break
		fi
		sleep 0.5
	done
	if [ -z "$rep_ok" ]; then
		fail report-via-postfix "no dry-run report: $(tail -c 300 "$D/report-dry.log")"
	elif ! runuser -u nobody -- "$REPORTER" -c "$D/mailauthd-userid.conf" \
		--begin 0 --end "$rep_end" >"$D/report-send.log" 2>&1; then
		fail report-via-postfix "mailauth-report: $(tail -c 300 "$D/report-send.log")"
	else
		rep_file=
		for _ in $(seq 1 $((WAIT * 5))); do
			rep_file=$(grep -l -s "^Subject: Report Domain: pass.example" "$SINKDIR"/* | head -n 1)
			[ -n "$rep_file" ] && break
			sleep 0.2
		done
		if [ -z "$rep_file" ]; then
			fail report-via-postfix "no report mail reached the sink"
		elif out=$($PY "$TOOL" reportcheck "$rep_file" "$XSD" 2>&1); then
			pass report-via-postfix
		else
			fail report-via-postfix "$out"
		fi
	fi
fi

# ---------------------------------------------------------------- default action
# (r)-(u) mailauthd stopped, started again, and stopped and started
# while a loop sends: milter_default_action = tempfail makes Postfix
# answer 4xx while it is away
e2e_stopped_tempfails
e2e_stopped_retry
e2e_restart_mid_stream
e2e_queue_drained

# (g) milter protocol edge cases, straight to mailauthd (no Postfix)
while read -r verdict name why; do
	case "$verdict" in
	PASS) pass "$name" ;;
	FAIL) fail "${name%:}" "$why" ;;
	*) fail milter-proto "unexpected output: $verdict $name $why" ;;
	esac
done < <(timeout $((WAIT * 3)) $PY "$TOP/tests/e2e/milter_proto.py" \
	"$MILTER_PORT" "$AUTHSERV" "$GOOD_IP" pass.example 2>&1)

# mailauthd must have survived everything, stop cleanly on SIGTERM and
# (under the sanitizers) report nothing
timeout 30 postfix -c "$ETC" stop >/dev/null 2>&1
e2e_mailauthd_end
e2e_finish
