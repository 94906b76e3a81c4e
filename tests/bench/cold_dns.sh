#!/bin/bash
# NAME
#	cold_dns.sh - per-message latency with a slow, cold DNS:
#	mailauthd beside OpenDKIM + OpenDMARC
# SYNOPSIS
#	tests/bench/cold_dns.sh [COUNT]	(as root; COUNT default 200)
# DESCRIPTION
#	Makes an RSA-2048 DKIM key and 2 x COUNT messages (load_data.py's
#	~4 KB multipart messages, /usr/bin/python3 with python3-dkim), each
#	from its own sender domain sN.cold.example and signed rsa-sha256
#	relaxed/relaxed by it: s1..sCOUNT for mailauthd, sCOUNT+1..s2COUNT
#	for the reference chain, so each sees only names its own resolver
#	has never asked. Starts slow_dns.py, an authoritative server for
#	example. that answers every query after DELAY_MS (20) ms, on
#	DNS_ADDR:53 (127.0.0.2; OpenDMARC's libc resolver reads
#	resolv.conf, which cannot name a port).
#
#	Then, sequentially (one connection, one message, one milter_load
#	process per message; client 203.0.113.25, HELO and MAIL FROM in the
#	sender's domain, whose SPF include authorises 203.0.113.0/24; DMARC
#	p=reject), the time from the first header sent to the final reply
#	(milter_load -D): the span a milter holds Postfix up after end of
#	data, as Postfix's cleanup sends header, body and EOM only then.
#	(EOM -> reply alone would hide a wait done in the header or EOH
#	stage: OpenDKIM fetches keys at EOH.) GAP_MS (default 0) pauses
#	after DATA's reply, before the header (milter_load -G): the time a
#	real client's RCPT/DATA round trips and upload give DNS work started
#	at MAIL FROM; milter_load has none of it otherwise.
#
#	  mailauthd   BUILD/mailauthd -f, Nameservers DNS_ADDR@53, verify
#	              mode (InternalHosts 127.0.0.1), unix socket
#	  chain       opendkim (Mode v, Nameservers DNS_ADDR@53: libunbound
#	              takes addr@port) and opendmarc (SPFSelfValidate), each
#	              started as ../shared/bench/bench.py does, under
#	              unshare --mount with a private resolv.conf bind-mounted
#	              ("nameserver DNS_ADDR"; /etc is never modified).
#	              Per message, as Postfix's cleanup does: the whole
#	              transaction to opendkim, then to opendmarc with the
#	              Authentication-Results field opendkim adds (dkim=pass
#	              header.d=..., authserv-id in opendmarc's
#	              TrustedAuthservIDs) already in the message. The chain's
#	              end-of-data latency is the sum of the two milters'
#	              times for that message.
#	Each milter is a fresh process (an empty cache) for the cold pass;
#	the warm pass sends the same messages again to the same processes.
#	slow_dns.py counts the queries of each pass (SIGUSR1 snapshots).
#
#	Prints a markdown table: messages, p50/p90/p99/max latency in ms,
#	DNS queries per message, failures; then the chain's two parts and
#	the queries of each pass by kind and type.
#	A benchmark: it prints figures; it exits 1 only when a message got
#	no reply, a wrong reply or no Authentication-Results.
# ENVIRONMENT
#	BUILD (directory with mailauthd and tests/bench/milter_load; default
#	build), DNS_ADDR (127.0.0.2), DELAY_MS (20), GAP_MS (0),
#	LATENCY=eom (EOM -> reply instead), CHAIN=0 (mailauthd only),
#	KEEP=1 keeps the temporary directory (logs, per-message latencies
#	lat.tsv, the query log dns-queries.log).
set -u

TOP=$(cd "$(dirname "$0")/../.." && pwd)
PY=/usr/bin/python3
WAIT=20				# seconds, every bounded wait
COUNT=${1:-200}
BUILD=${BUILD:-$TOP/build}
DNS_ADDR=${DNS_ADDR:-127.0.0.2}
DNS_PORT=53
DELAY_MS=${DELAY_MS:-20}
GAP_MS=${GAP_MS:-0}
LATENCY=${LATENCY:-data}
CHAIN=${CHAIN:-1}
AUTHSERV=mx.bench.example
CLIENT=203.0.113.25

die() { echo "cold_dns.sh: $*" >&2; exit 1; }

case $COUNT in '' | *[!0-9]* | 0) die "COUNT must be a positive number" ;; esac
case $GAP_MS in '' | *[!0-9]*) die "GAP_MS must be a number" ;; esac
case $LATENCY in data) SPAN=-D ;; eom) SPAN='' ;; *) die "LATENCY is data or eom" ;; esac
[ "$(id -u)" = 0 ] || die "run as root (DNS on port 53, unshare --mount)"
MAILAUTHD=$BUILD/mailauthd
LOADGEN=$BUILD/tests/bench/milter_load
for f in "$MAILAUTHD" "$LOADGEN"; do
	[ -x "$f" ] || die "$f not built (make mailauthd tests/bench/milter_load in $BUILD)"
done
$PY -c 'import dkim, dnslib' 2>/dev/null || die "python3-dkim and python3-dnslib needed"
if [ "$CHAIN" = 1 ]; then
	for c in opendkim opendmarc unshare; do
		command -v $c >/dev/null || die "$c not installed"
	done
fi

# one invocation at a time (the DNS address is fixed)
exec 8>>/tmp/cold_dns.lock
flock -n 8 || die "another cold_dns.sh is running"

D=$(mktemp -d /tmp/cold-dns.XXXXXX) || exit 1
chmod 755 "$D"
mkdir -p "$D/sock" "$D/msg" "$D/keys"
chmod 1777 "$D/sock"		# the reference milters drop root first
DNS_PID='' MAD_PID='' DKIM_PID='' DMARC_PID=''

# stop_pid PID... - TERM processes we started (libmilter takes a few
# seconds to stop), KILL what is left after a bounded wait
stop_pid() {
	local pid left
	for pid in "$@"; do
		[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null
	done
	for _ in $(seq 1 $((WAIT * 10))); do
		left=''
		for pid in "$@"; do
			[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && left=1
		done
		[ -z "$left" ] && break
		sleep 0.1
	done
	for pid in "$@"; do
		[ -n "$pid" ] || continue
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	return 0
}

cleanup() {
	trap - EXIT INT TERM HUP
	stop_pid "$MAD_PID" "$DKIM_PID" "$DMARC_PID" "$DNS_PID"
	if [ "${KEEP:-0}" = 1 ]; then echo "cold_dns.sh: kept $D"; else rm -rf "$D"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# ------------------------------------------------------------------ data
echo "cold_dns.sh: key and $((2 * COUNT)) signed messages in $D"
$PY - "$TOP/tests/bench" "$D" "$COUNT" "$AUTHSERV" <<'EOF' || die "data set failed"
import os, random, re, subprocess, sys
sys.path.insert(0, sys.argv[1])
import load_data as ld
d, count, authserv = sys.argv[2], int(sys.argv[3]), sys.argv[4]
pem = os.path.join(d, "keys", "sel.pem")
pub = ld.new_key(pem, "rsa")
ld.openssl("pkey", "-in", pem, "-pubout", "-out", os.path.join(d, "keys", "sel.pub"))
key = open(pem, "rb").read()
rng = random.Random(20251110)
for n in range(1, 2 * count + 1):
    dom = "s%d.cold.example" % n
    msg = ld.sign(ld.message(rng, n, dom, "news"), dom, "sel", key)
    if n in (1, count + 1):
        ld.check(msg, {"sel._domainkey.%s." % dom: ("v=DKIM1; k=rsa; p=" + pub).encode()})
    with open(os.path.join(d, "msg", "%d.eml" % n), "w") as f:
        f.write(msg)
    if n > count:
        # what opendkim adds, as opendmarc then sees it (Postfix cleanup)
        sig = re.match(r"DKIM-Signature:(.*?)\n(?=\S)", msg, re.S).group(1)
        b = re.search(r"(?:^|;)b=([^;]*)", re.sub(r"\s+", "", sig)).group(1)[:8]
        ar = ("Authentication-Results: %s;\n\tdkim=pass (2048-bit key; unprotected) "
              "header.d=%s header.i=@%s header.a=rsa-sha256 header.s=sel header.b=%s\n"
              % (authserv, dom, dom, b))
        with open(os.path.join(d, "msg", "%d.ar.eml" % n), "w") as f:
            f.write(ar + msg)
EOF

# ------------------------------------------------------------------ DNS
$PY -c 'import socket, sys
for t in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
    s = socket.socket(socket.AF_INET, t)
    s.bind((sys.argv[1], int(sys.argv[2])))
    s.close()' "$DNS_ADDR" "$DNS_PORT" 2>/dev/null ||
	die "$DNS_ADDR:$DNS_PORT is in use (set DNS_ADDR to another loopback address)"
$PY "$TOP/tests/bench/slow_dns.py" -d "$DELAY_MS" -l "$D/dns-queries.log" \
	"$DNS_ADDR" "$DNS_PORT" "$D/keys/sel.pub" >"$D/dns.out" 2>&1 8>&- &
DNS_PID=$!
for _ in $(seq 1 $((WAIT * 10))); do
	grep -q '^slow_dns: listening' "$D/dns.out" && break
	kill -0 "$DNS_PID" 2>/dev/null || break
	sleep 0.1
done
grep -q '^slow_dns: listening' "$D/dns.out" || { cat "$D/dns.out" >&2; die "slow_dns.py did not start"; }

# snap NAME - ask slow_dns.py for its counts, record them as NAME
snap() {
	local n
	n=$(grep -c '^counts ' "$D/dns.out")
	kill -USR1 "$DNS_PID" 2>/dev/null || die "slow_dns.py is gone"
	for _ in $(seq 1 $((WAIT * 20))); do
		[ "$(grep -c '^counts ' "$D/dns.out")" -gt "$n" ] && break
		sleep 0.05
	done
	[ "$(grep -c '^counts ' "$D/dns.out")" -gt "$n" ] || die "slow_dns.py does not report"
	echo "$1 $(grep '^counts ' "$D/dns.out" | tail -n 1)" >>"$D/snaps"
}

# ------------------------------------------------------------------ milters
# wait_sock PATH PID NAME - until the milter listens (bounded)
wait_sock() {
	for _ in $(seq 1 $((WAIT * 10))); do
		[ -S "$1" ] && return 0
		kill -0 "$2" 2>/dev/null || break
		sleep 0.1
	done
	tail -n 20 "$D/$3.log" >&2
	die "$3 did not start"
}

# IN_NS CMD... runs CMD with our resolv.conf over /etc/resolv.conf, in a
# private mount namespace; unshare and sh exec, so $! is CMD's PID
IN_NS=(unshare --mount --propagation private -- /bin/sh -c
	'mount --bind "$0" /etc/resolv.conf && exec "$@"' "$D/resolv.conf")

start_mailauthd() {
	cat >"$D/mailauthd.conf" <<EOF
# tests/bench/cold_dns.sh
Socket unix:$D/sock/mailauthd.sock
PidFile $D/mailauthd.pid
AuthservID $AUTHSERV
Hostname $AUTHSERV
Nameservers $DNS_ADDR@$DNS_PORT
DNSTimeout 5
InternalHosts 127.0.0.1
RejectFailures yes
ReportDatabase sqlite:$D/history.db
ReportSpool $D/history.spool
EOF
	"$MAILAUTHD" -n -c "$D/mailauthd.conf" >"$D/mailauthd.log" 2>&1 ||
		{ cat "$D/mailauthd.log" >&2; die "mailauthd -n refuses the configuration"; }
	"$MAILAUTHD" -f -c "$D/mailauthd.conf" >>"$D/mailauthd.log" 2>&1 8>&- &
	MAD_PID=$!
	wait_sock "$D/sock/mailauthd.sock" "$MAD_PID" mailauthd
}

start_chain() {
	printf 'nameserver %s\noptions timeout:2 attempts:2\n' "$DNS_ADDR" >"$D/resolv.conf"
	cat >"$D/opendkim.conf" <<EOF
Syslog	no
UMask	000
UserID	opendkim
Socket	local:$D/sock/opendkim.sock
AuthservID	$AUTHSERV
Nameservers	$DNS_ADDR@$DNS_PORT
DNSTimeout	5
Canonicalization	relaxed/relaxed
MinimumKeyBits	1024
Background	no
Mode	v
InternalHosts	192.0.2.254
EOF
	echo 192.0.2.254 >"$D/opendmarc.ignore"
	: >"$D/opendmarc.history"
	chown opendmarc:opendmarc "$D/opendmarc.history"
	cat >"$D/opendmarc.conf" <<EOF
Syslog	false
UserID	opendmarc
UMask	000
Socket	local:$D/sock/opendmarc.sock
AuthservID	$AUTHSERV
TrustedAuthservIDs	$AUTHSERV
IgnoreHosts	$D/opendmarc.ignore
RejectFailures	true
SPFSelfValidate	true
SPFIgnoreResults	true
PublicSuffixList	/usr/share/publicsuffix/public_suffix_list.dat
HistoryFile	$D/opendmarc.history
Background	false
EOF
	"${IN_NS[@]}" opendkim -f -x "$D/opendkim.conf" >"$D/opendkim.log" 2>&1 8>&- &
	DKIM_PID=$!
	"${IN_NS[@]}" opendmarc -f -c "$D/opendmarc.conf" >"$D/opendmarc.log" 2>&1 8>&- &
	DMARC_PID=$!
	wait_sock "$D/sock/opendkim.sock" "$DKIM_PID" opendkim
	wait_sock "$D/sock/opendmarc.sock" "$DMARC_PID" opendmarc
}

# one SOCKET FILE DOMAIN - one message, one connection: "US STATUS"
# (STATUS ok, or what went wrong)
one() {
	local line e
	line=$(timeout $((WAIT + 30)) "$LOADGEN" -q -r -H Authentication-Results \
		$SPAN -G "$GAP_MS" -s "$1" -c 1 -n 1 -t "$WAIT" -T 10 -e 1 \
		-f "$2,client=$CLIENT,name=mail.$3,helo=mail.$3,from=bounce@$3,rcpt=user@rcpt.example,daemon=MX,expect=accept" \
		2>>"$D/loadgen.err")
	e=$(echo "$line" | awk '{
		for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
		bad = ""
		if (v["msgs"] != 1) bad = bad "noreply,"
		if (v["errors"] + 0 > 0) bad = bad "error,"
		if (v["mismatches"] + 0 > 0) bad = bad "wrongreply,"
		if (v["hdr_missing"] + 0 > 0) bad = bad "noA-R,"
		printf "%s %s", (v["max_us"] == "" ? "-" : v["max_us"]), (bad == "" ? "ok" : bad)
	}')
	echo "${e:-- noreply,}"
}

# pass_mailauthd PASS - every mailauthd message once
pass_mailauthd() {
	local n r
	for n in $(seq 1 "$COUNT"); do
		r=$(one "unix:$D/sock/mailauthd.sock" "$D/msg/$n.eml" "s$n.cold.example")
		echo "mailauthd $1 $n $r" >>"$D/lat.tsv"
	done
}

# pass_chain PASS - every chain message to opendkim, then to opendmarc
pass_chain() {
	local n r
	for n in $(seq $((COUNT + 1)) $((2 * COUNT))); do
		r=$(one "unix:$D/sock/opendkim.sock" "$D/msg/$n.eml" "s$n.cold.example")
		echo "opendkim $1 $n $r" >>"$D/lat.tsv"
		r=$(one "unix:$D/sock/opendmarc.sock" "$D/msg/$n.ar.eml" "s$n.cold.example")
		echo "opendmarc $1 $n $r" >>"$D/lat.tsv"
	done
}

: >"$D/lat.tsv"
: >"$D/snaps"
echo "cold_dns.sh: $COUNT messages per pass, DNS $DNS_ADDR:$DNS_PORT +$DELAY_MS ms per answer," \
	"latency from $([ "$LATENCY" = data ] && echo "first header" || echo EOM), gap $GAP_MS ms," \
	"load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "cold_dns.sh: mailauthd $("$MAILAUTHD" -V 2>&1 | head -n 1) from $BUILD"
start_mailauthd
snap mailauthd-cold-start
pass_mailauthd cold
snap mailauthd-cold-end
pass_mailauthd warm
snap mailauthd-warm-end
stop_pid "$MAD_PID"
MAD_PID=''
if [ "$CHAIN" = 1 ]; then
	echo "cold_dns.sh: $(opendkim -V 2>&1 | head -n 1), $(opendmarc -V 2>&1 | head -n 1)"
	start_chain
	snap chain-cold-start
	pass_chain cold
	snap chain-cold-end
	pass_chain warm
	snap chain-warm-end
	stop_pid "$DKIM_PID" "$DMARC_PID"
	DKIM_PID='' DMARC_PID=''
fi
[ -s "$D/loadgen.err" ] && { echo "milter_load said:"; sort "$D/loadgen.err" | uniq -c | head -n 8; }

# ------------------------------------------------------------------ report
$PY - "$D/lat.tsv" "$D/snaps" "$COUNT" "$DELAY_MS" "$LATENCY" "$GAP_MS" <<'EOF'
import math, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
snaps = {}
for l in open(sys.argv[2]):
    f = l.split()
    snaps[f[0]] = {k: int(v) for k, v in (x.split("=") for x in f[2:])}
count, delay, span, gap = int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6]
lat, bad = {}, {}
for m, p, n, us, st in rows:
    lat.setdefault((m, p), {})[int(n)] = None if us == "-" else int(us) / 1000.0
    if st != "ok":
        bad[(m, p)] = bad.get((m, p), 0) + 1
for p in ("cold", "warm"):      # the chain: both parts of each message
    a, b = lat.get(("opendkim", p), {}), lat.get(("opendmarc", p), {})
    if a:
        lat[("chain", p)] = {n: (a[n] + b[n] if a.get(n) is not None and b.get(n) is not None
                                 else None) for n in a}
        bad[("chain", p)] = bad.get(("opendkim", p), 0) + bad.get(("opendmarc", p), 0)

def pct(v, q):
    return v[max(0, math.ceil(q * len(v)) - 1)]

def diff(a, b):
    x, y = snaps.get(a), snaps.get(b)
    if x is None or y is None:
        return None
    return {k: y.get(k, 0) - x.get(k, 0) for k in y if y.get(k, 0) != x.get(k, 0)}

phases = {("mailauthd", "cold"): ("mailauthd-cold-start", "mailauthd-cold-end"),
          ("mailauthd", "warm"): ("mailauthd-cold-end", "mailauthd-warm-end"),
          ("chain", "cold"): ("chain-cold-start", "chain-cold-end"),
          ("chain", "warm"): ("chain-cold-end", "chain-warm-end")}
names = {"mailauthd": "mailauthd", "chain": "OpenDKIM + OpenDMARC (sum)",
         "opendkim": "  of which opendkim", "opendmarc": "  of which opendmarc"}
print()
print("| milter | cache | messages | p50 ms | p90 ms | p99 ms | max ms | DNS queries/msg | failed |")
print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
for m in ("mailauthd", "chain", "opendkim", "opendmarc"):
    for p in ("cold", "warm"):
        if (m, p) not in lat:
            continue
        v = sorted(x for x in lat[(m, p)].values() if x is not None)
        q = "-"
        if (m, p) in phases:
            d = diff(*phases[(m, p)])
            if d is not None:
                q = "%.2f" % (d.get("total", 0) / float(count))
        if not v:
            print("| %s | %s | 0 | - | - | - | - | %s | %d |" % (names[m], p, q, bad.get((m, p), 0)))
            continue
        print("| %s | %s | %d | %.1f | %.1f | %.1f | %.1f | %s | %d |"
              % (names[m], p, len(v), pct(v, .5), pct(v, .9), pct(v, .99), v[-1], q,
                 bad.get((m, p), 0)))
print()
print("%s -> final reply, one message per connection, sequential; DNS +%s ms per"
      % ("First header" if span == "data" else "EOM", delay))
print("answer; %s ms between DATA's reply and the header. Chain = opendkim's + opendmarc's"
      % gap)
print("time for the same message (Postfix runs them one after the other at end of data).")
print("failed = no reply, wrong reply or no Authentication-Results.")
print()
print("DNS queries per pass (kind/type = count; dkim = key, spf = sender TXT, include = its")
print("include, dmarc = _dmarc.sN, helo = mail.sN, parent = _dmarc above sN, nx = other):")
for (m, p), (a, b) in phases.items():
    d = diff(a, b)
    if d is None:
        continue
    parts = " ".join("%s=%d" % kv for kv in sorted(d.items())
                     if kv[0] not in ("total", "udp", "tcp", "seq"))
    print("  %-9s %s: total %d (udp %d, tcp %d) %s" % (m, p, d.get("total", 0), d.get("udp", 0),
                                                      d.get("tcp", 0), parts))
EOF

status=0
grep -qv ' ok$' "$D/lat.tsv" && { echo "cold_dns.sh: some messages failed (first: $(grep -v ' ok$' "$D/lat.tsv" | head -n 1))"; status=1; }
grep -E ' (warn|error|panic|fatal): ' "$D/mailauthd.log" 2>/dev/null | head -n 3
exit $status
