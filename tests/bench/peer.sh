#!/bin/bash
# NAME
#	peer.sh - mailauthd beside OpenDKIM + OpenDMARC through a real Postfix
# SYNOPSIS
#	tests/bench/peer.sh [workload...]	(as root; default: all)
# DESCRIPTION
#	Runs the loopback harness of ../shared/bench (real Postfix, nsd,
#	OpenDKIM and OpenDMARC as the reference chain) with mailauthd as the
#	candidate, in the same interleaved rounds, and prints the harness's
#	summary (also in /tmp/bench-run/results/<stamp>.md and .json).
#
#	It installs what the harness needs when missing (postfix, nsd,
#	opendkim, opendkim-tools, opendmarc, python3-dkim, python3-dnslib;
#	services kept from starting), lets the harness build its data set,
#	and writes the mailauthd configurations that data needs into
#	/tmp/bench-run/mailauthd/: one instance that verifies inbound mail
#	(client 203.0.113.25, {daemon_name} MX) and signs rsa-sha256 for
#	signer.example ({daemon_name} ORIGINATING), configured like the
#	reference (relaxed/relaxed, From oversigned, DMARC history recorded,
#	one log line per message); one that signs ed25519-sha256; one that
#	signs with both keys in one pass. The three run under one
#	foreground wrapper (MILTER_CMD), so the harness charges all their
#	CPU to the candidate.
#
#	Workloads: baseline verify verify-ed25519 sign sign-ed25519
#	sign-dual (the harness's names; "all" is every one).
#	A benchmark: it prints figures and asserts nothing.
# ENVIRONMENT
#	BUILD (directory with the mailauthd binary; default build-bench,
#	then build-ci, then build), TRANSPORT=unix|inet (mailauthd's socket;
#	the reference follows), and every variable of ../shared/bench/README.md
#	(ROUNDS, COUNT, CONCURRENCY, ...), passed through.
set -u
TOP=$(cd "$(dirname "$0")/../.." && pwd)
HARNESS=${HARNESS:-$TOP/../shared/bench}
RUN_DIR=${RUN_DIR:-/tmp/bench-run}
MD="$RUN_DIR/mailauthd"
TRANSPORT=${TRANSPORT:-unix}
export DEBIAN_FRONTEND=noninteractive

die() { echo "peer.sh: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (the harness starts Postfix and nsd on port 53)"
[ -x "$HARNESS/run.sh" ] || die "no harness at $HARNESS"

if [ -z "${BUILD:-}" ]; then
	for b in build-bench build-ci build; do
		[ -x "$TOP/$b/mailauthd" ] && { BUILD=$TOP/$b; break; }
	done
fi
MAILAUTHD=${BUILD:-}/mailauthd
[ -x "$MAILAUTHD" ] || die "no mailauthd binary (set BUILD=dir)"

# ---------------------------------------------------------------- packages
need=""
for p in postfix nsd opendkim opendkim-tools opendmarc python3-dkim \
	python3-dnslib publicsuffix; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
		grep -q "install ok installed" || need="$need $p"
done
if [ -n "$need" ]; then
	echo "peer.sh: installing$need"
	rc_made=0
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod 755 /usr/sbin/policy-rc.d
		rc_made=1
	fi
	echo "postfix postfix/main_mailer_type select No configuration" |
		debconf-set-selections
	apt-get install -y -q $need >/tmp/peer-apt.log 2>&1
	st=$?
	[ $rc_made = 1 ] && rm -f /usr/sbin/policy-rc.d
	[ $st = 0 ] || die "apt-get install$need failed (see /tmp/peer-apt.log)"
fi

# ---------------------------------------------------------------- data set
if [ ! -f "$RUN_DIR/data/info.json" ]; then
	RUN_DIR=$RUN_DIR "$HARNESS/run.sh" prepare >/dev/null ||
		die "the harness could not build its data set"
fi
DATA=$RUN_DIR/data
[ -f "$DATA/opendkim/KeyTable" ] || die "no $DATA/opendkim/KeyTable"

# ---------------------------------------------------------------- configs
# never pull the configuration from under a run in progress
mkdir -p "$RUN_DIR"
exec 9>>"$RUN_DIR/bench.lock"
flock -n 9 || die "another benchmark run is active in $RUN_DIR"
exec 9>&-
rm -rf "$MD"
mkdir -p "$MD"
chmod 755 "$MD"

# sock NAME PORT - the socket spec of one instance
sock() {
	if [ "$TRANSPORT" = inet ]; then
		echo "inet:$2@127.0.0.1"
	else
		echo "unix:$MD/$1.sock"
	fi
}
# spec NAME PORT - the same for Postfix's smtpd_milters
spec() {
	if [ "$TRANSPORT" = inet ]; then
		echo "inet:127.0.0.1:$2"
	else
		echo "unix:$MD/$1.sock"
	fi
}

# The harness's nsd serves only the test zones and REFUSEs the rest.
# RFC 9989's tree walk asks _dmarc.example as well (the TLD of every test
# domain); on the Internet a TLD answers NXDOMAIN there, a REFUSED makes
# the organizational domain unknown and an unaligned message temperror.
# Say locally what the missing parent zone would: no DMARC record.
cat >"$MD/parent.zone" <<EOF
; what the example. zone would answer (tests/bench/peer.sh)
_dmarc.example. 3600 IN TXT "no DMARC record here"
EOF

# conf NAME PORT KEYTABLE SIGNINGTABLE - write $MD/NAME.conf
conf() {
	mkdir -p "$MD/$1-history"
	cat >"$MD/$1.conf" <<EOF
# mailauthd for ../shared/bench (tests/bench/peer.sh): instance $1
Socket $(sock "$1" "$2")
PidFile $MD/$1.pid
UserID postfix
AuthservID bench.mailauthd
Nameservers 127.0.0.1
DNSZoneFile $MD/parent.zone
DNSTimeout 5
InternalHosts 127.0.0.1
SigningDaemons ORIGINATING
RejectFailures yes
KeyTable $3
SigningTable refile:$4
Canonicalization relaxed/relaxed
OversignHeaders From
ReportDatabase sqlite:$MD/$1-history/history.db
ReportSpool $MD/$1-history/history.spool
EOF
}
conf main 18801 "$DATA/opendkim/KeyTable" "$DATA/opendkim/SigningTable"
conf ed 18802 "$DATA/opendkim/KeyTable.ed25519" "$DATA/opendkim/SigningTable.ed25519"
# both keys for one domain: one pass, two signatures (the harness's data
# has a table pair per algorithm; OpenDKIM needs two daemons for this)
cat "$DATA/opendkim/KeyTable" "$DATA/opendkim/KeyTable.ed25519" >"$MD/KeyTable.dual"
cat "$DATA/opendkim/SigningTable" "$DATA/opendkim/SigningTable.ed25519" >"$MD/SigningTable.dual"
conf dual 18803 "$MD/KeyTable.dual" "$MD/SigningTable.dual"
for n in main ed dual; do
	out=$("$MAILAUTHD" -n -c "$MD/$n.conf" 2>&1) ||
		die "mailauthd -n -c $MD/$n.conf: $out"
done

# one foreground process for the harness to start, charge and stop
cat >"$MD/candidate.sh" <<EOF
#!/bin/sh
# started by the harness as MILTER_CMD; stops its three mailauthd on TERM
"$MAILAUTHD" -f -c "$MD/main.conf" 2>>"$MD/main.log" & p1=\$!
"$MAILAUTHD" -f -c "$MD/ed.conf" 2>>"$MD/ed.log" & p2=\$!
"$MAILAUTHD" -f -c "$MD/dual.conf" 2>>"$MD/dual.log" & p3=\$!
trap 'kill -TERM \$p1 \$p2 \$p3 2>/dev/null; wait' TERM INT HUP
wait
EOF
chmod 755 "$MD/candidate.sh"

# ---------------------------------------------------------------- run
export RUN_DIR
export MILTER_CMD="$MD/candidate.sh"
export MILTER_VERIFY=${MILTER_VERIFY:-$(spec main 18801)}
export MILTER_VERIFY_ED25519=${MILTER_VERIFY_ED25519:-$(spec main 18801)}
export MILTER_SIGN=${MILTER_SIGN:-$(spec main 18801)}
export MILTER_SIGN_ED25519=${MILTER_SIGN_ED25519:-$(spec ed 18802)}
export MILTER_SIGN_DUAL=${MILTER_SIGN_DUAL:-$(spec dual 18803)}
export MILTER=$MILTER_VERIFY
[ "$TRANSPORT" = inet ] && export MILTER_TRANSPORT=${MILTER_TRANSPORT:-inet}
echo "peer.sh: mailauthd $("$MAILAUTHD" -V 2>&1 | head -n 1) from $BUILD"
echo "peer.sh: configurations in $MD; running $HARNESS/run.sh ${*:-all}"
exec "$HARNESS/run.sh" "${@:-all}"
