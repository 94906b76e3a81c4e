#!/bin/bash
# NAME
#	load.sh - mailauthd alone under milter-protocol load
# SYNOPSIS
#	tests/bench/load.sh [BUILD_DIR] [WORKLOAD...]
#	(make bench runs it after sign.sh with the build directory)
# DESCRIPTION
#	Makes a data set in a private temporary directory (load_data.py
#	through /usr/bin/python3 with python3-dkim): an RSA-2048 and an
#	Ed25519 key for signer.example, sender1..4.example each with an
#	RSA-2048 DKIM key, SPF "include:_spf.senderN.example -all" (the
#	include authorises 203.0.113.0/24), DMARC p=reject, and ~4 KB
#	multipart messages with 15 header fields signed rsa-sha256
#	relaxed/relaxed. DNS comes from a zone file (DNSZoneFile,
#	DNSOffline), or with DNS=nsd from a private nsd on a free loopback
#	port (Nameservers 127.0.0.1@PORT).
#
#	Per workload it starts mailauthd -f from BUILD_DIR (no UserID, so
#	no root needed) on a unix socket in the temporary directory (with
#	TRANSPORT=inet on a free 127.0.0.1 port), runs
#	tests/bench/milter_load against it (WARMUP messages untimed, then
#	COUNT messages at CONCURRENCY connections, one message each),
#	checks every reply and the expected header field, and stops it:
#	  verify        inbound from 203.0.113.25, daemon MX, four
#	                senders round robin: accept + Authentication-Results
#	  sign          client 127.0.0.1, daemon ORIGINATING, From
#	                @signer.example, RSA key: DKIM-Signature
#	  sign-ed25519  the same with the Ed25519 key
#	  sign-dual     two SigningTable lines for the domain: both
#	  reject        body altered after signing, client not in SPF:
#	                DMARC fail, p=reject: reject
#	Prints a markdown table (msg/s, mailauthd CPU ms per message with
#	the issue's target, load generator CPU, p50/p99 of EOM -> reply,
#	RSS at start/end and peak, errors, and "other CPU": the share of
#	all CPUs busy (/proc/stat) but not charged to mailauthd or
#	milter_load during the run: other processes, kernel threads and
#	accounting skew; compare it between runs, as a noise indicator). With STRACE=1 each workload is
#	then run once more, STRACE_COUNT messages with
#	strace -c -f -p PID attached, and syscalls per message are printed
#	with the most frequent ones.
#	A benchmark: it prints figures; it exits 1 only when a run had
#	errors or wrong replies (or could not run at all).
# ENVIRONMENT
#	COUNT (20000), CONCURRENCY (8), WARMUP (500), PER_CONN (1),
#	TIME_LIMIT (600 s per run), STRACE (0), STRACE_COUNT (2000),
#	DNS (zone|nsd, default zone), TRANSPORT (unix|inet, default unix),
#	EXTRA_CONF (lines appended to mailauthd's configuration),
#	KEEP=1 keeps the temporary directory, VERBOSE=1 shows the logs.
set -u

TOP=$(cd "$(dirname "$0")/../.." && pwd)
PY=/usr/bin/python3
WAIT=20				# seconds, every bounded wait
COUNT=${COUNT:-20000}
CONCURRENCY=${CONCURRENCY:-8}
WARMUP=${WARMUP:-500}
PER_CONN=${PER_CONN:-1}
TIME_LIMIT=${TIME_LIMIT:-600}
STRACE=${STRACE:-0}
STRACE_COUNT=${STRACE_COUNT:-2000}
DNS=${DNS:-zone}
TRANSPORT=${TRANSPORT:-unix}
ALL_WORKLOADS="verify sign sign-ed25519 sign-dual reject"

BUILD=
if [ $# -gt 0 ] && [ -d "$1" ]; then BUILD=$(cd "$1" && pwd); shift; fi
[ -z "$BUILD" ] && BUILD=${top_builddir:-}
[ -z "$BUILD" ] && [ -x ./mailauthd ] && BUILD=$(pwd)
WORKLOADS=${*:-$ALL_WORKLOADS}
for w in $WORKLOADS; do
	case " $ALL_WORKLOADS " in
	*" $w "*) ;;
	*) echo "load.sh: unknown workload $w (have: $ALL_WORKLOADS)" >&2; exit 2 ;;
	esac
done
MAILAUTHD=$BUILD/mailauthd
LOADGEN=$BUILD/tests/bench/milter_load
for f in "$MAILAUTHD" "$LOADGEN"; do
	[ -x "$f" ] || { echo "load.sh: $f not built (make bench in the build dir)" >&2; exit 1; }
done
$PY -c 'import dkim' 2>/dev/null || { echo "load.sh: python3-dkim missing" >&2; exit 1; }
if [ "$DNS" = nsd ] && ! command -v nsd >/dev/null; then
	echo "load.sh: DNS=nsd but nsd is not installed" >&2; exit 1
fi
if [ "$STRACE" = 1 ] && ! command -v strace >/dev/null; then
	echo "load.sh: STRACE=1 but strace is not installed" >&2; exit 1
fi

D=$(mktemp -d /tmp/mailauth-load.XXXXXX) || exit 1
MAD_PID='' NSD_PID='' STRACE_PID=''

# stop_pid - TERM a process we started, KILL it after a bounded wait
stop_pid() {
	local pid=$1 sig=${2:-TERM}
	[ -n "$pid" ] || return 0
	kill -"$sig" "$pid" 2>/dev/null || return 0
	for _ in $(seq 1 $((WAIT * 10))); do
		kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return; }
		sleep 0.1
	done
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	return 137
}

cleanup() {
	trap - EXIT INT TERM
	stop_pid "$STRACE_PID" INT
	stop_pid "$MAD_PID"
	stop_pid "$NSD_PID"
	if [ "${VERBOSE:-0}" = 1 ]; then
		for f in "$D"/mailauthd-*.log "$D/nsd.log"; do
			[ -s "$f" ] && { echo "--- $f"; tail -n 20 "$f"; }
		done
	fi
	if [ "${KEEP:-0}" = 1 ]; then echo "load.sh: kept $D"; else rm -rf "$D"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

freeport() {
	$PY -c 'import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM if sys.argv[1] == "udp" else socket.SOCK_STREAM)
s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' "$1"
}

# ------------------------------------------------------------------ data
echo "load.sh: making keys, zone and messages in $D"
$PY "$TOP/tests/bench/load_data.py" "$D" || exit 1

if [ "$DNS" = nsd ]; then
	DNS_PORT=$(freeport udp)
	{
		echo "\$TTL 3600"
		echo 'example. 3600 IN SOA ns.example. hostmaster.example. 1 3600 600 86400 300'
		echo 'example. 3600 IN NS ns.example.'
		echo 'ns.example. 3600 IN A 127.0.0.1'
		cat "$D/zone"
	} >"$D/example.zone"
	cat >"$D/nsd.conf" <<EOF
server:
  ip-address: 127.0.0.1@$DNS_PORT
  do-ip6: no
  server-count: 1
  username: ""
  chroot: ""
  zonesdir: "$D"
  database: ""
  zonelistfile: "$D/zone.list"
  xfrdfile: "$D/xfrd.state"
  xfrdir: "$D"
  pidfile: "$D/nsd.pid"
  logfile: "$D/nsd.log"
  verbosity: 1
  hide-version: yes
remote-control:
  control-enable: no
zone:
  name: example
  zonefile: example.zone
EOF
	nsd -d -c "$D/nsd.conf" >>"$D/nsd.log" 2>&1 &
	NSD_PID=$!
	# a TXT query for _dmarc.sender1.example answered NOERROR (bounded)
	ok=0
	for _ in $(seq 1 $((WAIT * 5))); do
		kill -0 "$NSD_PID" 2>/dev/null || break
		$PY - "$DNS_PORT" <<'EOF' && { ok=1; break; }
import socket, struct, sys
q = struct.pack(">HHHHHH", 4711, 0x0100, 1, 0, 0, 0)
q += b"".join(bytes([len(p)]) + p for p in b"_dmarc.sender1.example".split(b".")) + b"\0"
q += struct.pack(">HH", 16, 1)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(0.5)
s.sendto(q, ("127.0.0.1", int(sys.argv[1])))
r = s.recv(4096)
sys.exit(0 if r[:2] == q[:2] and (r[3] & 15) == 0 and r[7] > 0 else 1)
EOF
		sleep 0.2
	done
	[ $ok = 1 ] || { echo "load.sh: nsd did not answer on 127.0.0.1:$DNS_PORT" >&2; tail "$D/nsd.log" >&2; exit 1; }
	DNS_CONF="Nameservers 127.0.0.1@$DNS_PORT
DNSTimeout 3"
else
	DNS_CONF="DNSZoneFile $D/zone
DNSOffline yes"
fi

# ------------------------------------------------------------------ mailauthd
# start_mailauthd TABLE NAME - a fresh mailauthd signing with
# SigningTable.TABLE, logging to mailauthd-NAME.log; sets MAD_PID, SPEC
start_mailauthd() {
	local table=$1 log=$D/mailauthd-$2.log port=''
	if [ "$TRANSPORT" = inet ]; then
		port=$(freeport tcp)
		SPEC="inet:$port@127.0.0.1"
	else
		rm -f "$D/mailauthd.sock"
		SPEC="unix:$D/mailauthd.sock"
	fi
	cat >"$D/mailauthd.conf" <<EOF
# tests/bench/load.sh
Socket $SPEC
PidFile $D/mailauthd.pid
AuthservID mx.bench.example
Hostname mx.bench.example
$DNS_CONF
InternalHosts 127.0.0.0/8, ::1
RejectFailures yes
KeyTable $D/KeyTable
SigningTable refile:$D/SigningTable.$table
SigningDaemons ORIGINATING
ReportDatabase sqlite:$D/history.db
ReportSpool $D/history.spool
${EXTRA_CONF:-}
EOF
	"$MAILAUTHD" -n -c "$D/mailauthd.conf" >"$log" 2>&1 ||
		{ echo "load.sh: mailauthd -n refuses the configuration:" >&2; cat "$log" >&2; return 1; }
	"$MAILAUTHD" -f -c "$D/mailauthd.conf" >>"$log" 2>&1 &
	MAD_PID=$!
	for _ in $(seq 1 $((WAIT * 10))); do	# bounded: until it listens
		kill -0 "$MAD_PID" 2>/dev/null || break
		if [ -n "$port" ]; then
			timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" 2>/dev/null && return 0
		elif [ -S "$D/mailauthd.sock" ]; then
			return 0
		fi
		sleep 0.1
	done
	echo "load.sh: mailauthd did not start:" >&2
	tail -n 20 "$log" >&2
	return 1
}

# stop_mailauthd NAME - SIGTERM; report an unclean exit
stop_mailauthd() {
	local rc=0
	stop_pid "$MAD_PID" || rc=$?
	[ "$rc" = 0 ] || echo "load.sh: $1: mailauthd exited with status $rc" >&2
	MAD_PID=''
	return 0
}

# ------------------------------------------------------------------ workloads
# sources WORKLOAD - the milter_load -f arguments, one per line
sources() {
	local i
	case $1 in
	verify)
		for i in 1 2 3 4; do
			echo "$D/msg/verify-$i.eml,client=203.0.113.25,name=mail.sender$i.example,from=bounce@sender$i.example,rcpt=user$i@rcpt.example,helo=mail.sender$i.example,daemon=MX,expect=accept"
		done ;;
	sign|sign-ed25519|sign-dual)
		for i in 1 2 3 4; do
			echo "$D/msg/sign-$i.eml,client=127.0.0.1,name=localhost,from=newsletter@signer.example,rcpt=user$i@rcpt.example,helo=app.signer.example,daemon=ORIGINATING,expect=accept"
		done ;;
	reject)
		echo "$D/msg/reject.eml,client=198.51.100.7,from=bounce@sender1.example,rcpt=user1@rcpt.example,helo=mail.sender1.example,daemon=MX,expect=reject" ;;
	esac
}

# table_of WORKLOAD - which SigningTable.* mailauthd gets
table_of() {
	case $1 in sign-ed25519) echo ed25519 ;; sign-dual) echo dual ;; *) echo rsa ;; esac
}

# header_of WORKLOAD - the field every message must get (-H), or empty
header_of() {
	case $1 in
	verify) echo Authentication-Results ;;
	sign*) echo DKIM-Signature ;;
	*) echo '' ;;
	esac
}

# loadgen WORKLOAD COUNT WARMUP - run milter_load; its machine line on stdout
loadgen() {
	local w=$1 n=$2 warm=$3 hdr src args=()
	hdr=$(header_of "$w")
	while read -r src; do args+=(-f "$src"); done < <(sources "$w")
	[ -n "$hdr" ] && args+=(-H "$hdr")
	timeout $((TIME_LIMIT + 60)) "$LOADGEN" -q -r -s "$SPEC" -c "$CONCURRENCY" \
		-m "$PER_CONN" -n "$n" -w "$warm" -t "$TIME_LIMIT" -p "$MAD_PID" \
		"${args[@]}" 2>>"$D/loadgen-$w.err"
}

# cpu_busy - "busy total" jiffies of all CPUs (/proc/stat)
cpu_busy() {
	awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9; exit }' /proc/stat
}

# other_cpu BEFORE AFTER LINE - % of all CPUs used by neither mailauthd nor
# milter_load during the run (warm-up counted at the timed cost: rough)
other_cpu() {
	local b0 t0 b1 t1 hz
	read -r b0 t0 <<<"$1"
	read -r b1 t1 <<<"$2"
	hz=$(getconf CLK_TCK)
	awk -v b="$((b1 - b0))" -v t="$((t1 - t0))" -v hz="$hz" -v n="$(field "$3" msgs)" \
		-v m="$(field "$3" cpu_ms_per_msg)" -v l="$(field "$3" lg_cpu_ms_per_msg)" \
		-v w="$WARMUP" 'BEGIN {
		if (t <= 0 || n == "" || n == 0 || m == "-") { print "-"; exit }
		ours = (n + w) * (m + l) / 1000 * hz
		o = (b - ours) / t * 100
		printf "%.0f%%", o < 0 ? 0 : o
	}'
}

# field LINE KEY - the value of KEY= in a machine line
field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

# strace_run WORKLOAD - STRACE_COUNT messages with strace -c attached
strace_run() {
	local w=$1 out=$D/strace-$1.txt line msgs
	strace -c -f -S calls -o "$out" -p "$MAD_PID" 2>"$D/strace-$w.err" &
	STRACE_PID=$!
	for _ in $(seq 1 $((WAIT * 10))); do	# bounded: until attached
		grep -q attached "$D/strace-$w.err" 2>/dev/null && break
		kill -0 "$STRACE_PID" 2>/dev/null || break
		sleep 0.1
	done
	if ! kill -0 "$STRACE_PID" 2>/dev/null; then
		echo "| $w | - | - | strace could not attach: $(head -c 120 "$D/strace-$w.err") |" >>"$D/strace.md"
		STRACE_PID=''
		return
	fi
	sleep 0.5
	line=$(loadgen "$w" "$STRACE_COUNT" 0)
	stop_pid "$STRACE_PID" INT
	STRACE_PID=''
	msgs=$(field "$line" msgs)
	if [ -z "$msgs" ] || [ "$msgs" -eq 0 ]; then
		echo "| $w | - | - | no messages under strace |" >>"$D/strace.md"
		return
	fi
	# strace -c: % time, seconds, usecs/call, calls, [errors,] syscall
	awk -v w="$w" -v m="$msgs" '
		$NF == "total" { total = $4; terr = (NF == 6) ? $5 : 0; next }
		NF >= 5 && $1 ~ /^[0-9.]+$/ {
			if (n < 10)
				top = top sprintf("%s%s %.1f", n ? ", " : "", $NF, $4 / m)
			n++
		}
		END {
			if (total == "") { printf "| %s | - | - | no strace table |\n", w; exit }
			printf "| %s | %.1f | %.1f | %s |\n", w, total / m, terr / m, top
		}' "$out" >>"$D/strace.md"
}

# target WORKLOAD - the issue's CPU target in ms per message, or empty
target() {
	case $1 in
	verify) echo 0.30 ;;
	sign) [ -n "$OPENSSL_RSA_MS" ] &&
		awk -v o="$OPENSSL_RSA_MS" 'BEGIN { printf "%.2f", 1.3 * o }' ;;
	sign-dual) echo 0.45 ;;
	esac
}

OPENSSL_RSA_MS=''
case " $WORKLOADS " in
*" sign "*)
	s=$(openssl speed -seconds 2 rsa2048 2>/dev/null | awk '/^rsa 2048 bits/ { print $6 }')
	[ -n "$s" ] && OPENSSL_RSA_MS=$(awk -v s="$s" 'BEGIN { printf "%.3f", 1000 / s }') ;;
esac

echo "load.sh: $COUNT messages per workload after $WARMUP warm-up, $CONCURRENCY" \
	"connections, $PER_CONN message(s) per connection, DNS $DNS, transport $TRANSPORT"
status=0
{
	echo "| workload | msgs | msg/s | mailauthd CPU ms/msg | target | loadgen CPU ms/msg | p50 µs | p99 µs | RSS start / end / HWM kB | other CPU | errors |"
	echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | --- |"
} >"$D/table.md"
: >"$D/strace.md"
for w in $WORKLOADS; do
	echo "load.sh: $w ..."
	if ! start_mailauthd "$(table_of "$w")" "$w"; then
		echo "| $w | - | - | - | - | - | - | - | - | - | mailauthd did not start |" >>"$D/table.md"
		status=1
		continue
	fi
	c0=$(cpu_busy)
	line=$(loadgen "$w" "$COUNT" "$WARMUP")
	rc=$?
	c1=$(cpu_busy)
	echo "  $line"
	[ -s "$D/loadgen-$w.err" ] && sed 's/^/  /' "$D/loadgen-$w.err" | head -n 8
	if [ -z "$line" ]; then
		errs="milter_load failed (status $rc)"
	else
		errs="$(field "$line" errors) errors, $(field "$line" mismatches) wrong replies"
		[ -n "$(header_of "$w")" ] &&
			errs="$errs, $(field "$line" hdr_missing) without $(header_of "$w")"
	fi
	warns=$(grep -c -E ' (warn|error|panic|fatal): ' "$D/mailauthd-$w.log")
	[ "$warns" -gt 0 ] && errs="$errs; $warns warnings in its log"
	[ "$rc" = 0 ] || status=1
	t=$(target "$w")
	echo "| $w | $(field "$line" msgs) | $(field "$line" rate) | $(field "$line" cpu_ms_per_msg) | ${t:+≤ $t} | $(field "$line" lg_cpu_ms_per_msg) | $(field "$line" p50_us) | $(field "$line" p99_us) | $(field "$line" rss_kb_start) / $(field "$line" rss_kb_end) / $(field "$line" hwm_kb) | $(other_cpu "$c0" "$c1" "$line") | $errs |" >>"$D/table.md"
	[ "$STRACE" = 1 ] && strace_run "$w"
	stop_mailauthd "$w"
done

echo
cat "$D/table.md"
echo
echo "mailauthd CPU: utime + stime of all its threads (/proc/PID/stat) over the"
echo "timed messages. Targets from the issue; sign: 1.3 x openssl speed rsa2048"
echo "sign (${OPENSSL_RSA_MS:-not measured} ms here). Latency: EOM sent -> final reply."
echo "Other CPU: share of all $(getconf _NPROCESSORS_ONLN) CPUs busy but not charged to mailauthd or milter_load"
echo "(other processes, kernel threads, accounting skew): a noise indicator between runs."
if [ "$STRACE" = 1 ]; then
	echo
	echo "Syscalls per message (strace -c -f -p PID, $STRACE_COUNT messages each):"
	echo
	echo "| workload | syscalls/msg | failed/msg | most frequent (calls/msg) |"
	echo "| --- | ---: | ---: | --- |"
	cat "$D/strace.md"
fi
exit $status
