#!/bin/bash
# NAME
#	metrics.sh - the Prometheus endpoint of mailauthd (make check)
# SYNOPSIS
#	tests/metrics.sh [BUILD_DIR]	(make check: top_builddir)
# DESCRIPTION
#	Makes the tests/bench/load_data.py data set (keys, zone file,
#	signed messages) in a private temporary directory and starts
#	mailauthd -f from the build directory: unix milter socket,
#	DNSZoneFile/DNSOffline (no network), signing keys, a private SQLite
#	DMARC history, MetricsListen on a free loopback port. Then sends a
#	known batch with tests/bench/milter_load (N_VERIFY verified messages
#	that pass, N_REJECT that fail DMARC p=reject, N_SIGN outbound ones,
#	one message per connection), scrapes /metrics with curl and checks:
#	  scrape-http           200 with Content-Type text/plain;
#	                        version=0.0.4; charset=utf-8
#	  promtool-fresh, promtool-batch, promtool-end
#	                        promtool check metrics (Debian's prometheus
#	                        package, the Prometheus text parser and
#	                        linter) on the first, the batch's and the
#	                        last scrape: status 0 and no output at all
#	  fresh-zero            every mailauthd_messages_total series is 0
#	                        before any mail
#	  messages-sum, messages-by-action
#	                        mailauthd_messages_total sums to the batch;
#	                        each (mode, action) series as sent, the rest 0
#	  spf-results, dkim-results, dmarc-results, dmarc-disposition
#	                        per method: results add up to the verified
#	                        messages, pass/fail as the data set makes them
#	  no-eval-errors        mailauthd_evaluation_errors_total is 0
#	  histograms            every histogram: buckets never decrease, +Inf
#	                        equals _count; connect, mail and eom counts and
#	                        the MAIL-to-reply histogram equal the messages
#	  connections           connections_total = messages (one each),
#	                        connections_active back at 0
#	  dns-consistent        queries > 0, 0 < cache hits <= queries, cache
#	                        entries > 0, no timeouts or SERVFAIL
#	  report-rows           DMARC history rows handed over = verified
#	                        messages; stored + spooled reach that
#	  build-start           build_info carries the version; start time now
#	  http-404, http-405    another path: 404; POST /metrics: 405, Allow
#	  reload-success        SIGHUP: reloads{success} 1, last successful 1,
#	                        counters not reset (messages, DNS queries)
#	  reload-failure        SIGHUP with an unknown key in the file:
#	                        reloads{failure} 1, last successful 0
#	  key-load-error        SIGHUP with a KeyTable naming a missing key
#	                        file: key_load_errors 1, reloads{failure} 2;
#	                        the good file again: reloads{success} 2
#	  counts-after-reload   more mail after the reloads is counted on
#	  check-mode-no-bind    mailauthd -n succeeds while the port is taken
#	                        (it never starts the endpoint)
#	  bind-failure          a second daemon on the same MetricsListen
#	                        exits 1 naming the address, leaves no socket
#	  grafana-json          contrib/grafana-mailauthd.json parses
#	                        (python3 -m json.tool)
#	  grafana-metrics       every mailauthd_* name its queries use is a
#	                        family of the scrape
#	  grafana-promql        its queries parse as PromQL (promtool check
#	                        rules on them as recording rules)
#	  sigterm-exit, sanitizer-clean
#	                        SIGTERM: status 0, no sanitizer report
#	Prints "PASS name" / "FAIL name: why" and "metrics: N passed, N
#	failed"; exit 1 on any failure, 77 (skip) when python3-dkim, curl
#	or promtool is missing.
# ENVIRONMENT
#	KEEP=1 keeps the directory.
set -u

TOP=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
E2E_TAG=metrics
# pass, fail, port, mad_term, mad_sanitized are the end-to-end tests'
# shellcheck source=tests/e2e/lib.sh
. "$TOP/tests/e2e/lib.sh"
BUILD=${1:-${top_builddir:-$(pwd)}}
BUILD=$(cd "$BUILD" && pwd)
MAD=$BUILD/mailauthd
LOADGEN=$BUILD/tests/bench/milter_load
DASH=$TOP/contrib/grafana-mailauthd.json
N_VERIFY=20
N_REJECT=5
N_SIGN=10
N_MSGS=$((N_VERIFY + N_REJECT + N_SIGN))

finish() {
	echo "metrics: $npass passed, $nfail failed"
	[ "$nfail" = 0 ]
	exit
}

$PY -c 'import dkim' 2>/dev/null || { echo "metrics.sh: python3-dkim missing: skipped"; exit 77; }
for t in curl promtool; do
	command -v $t >/dev/null || { echo "metrics.sh: $t missing: skipped"; exit 77; }
done
for f in "$MAD" "$LOADGEN"; do
	[ -x "$f" ] || { fail build "$f not built"; finish; }
done

mad_workdir metrics || { fail data "load_data.py failed"; finish; }
MPORT=$(port) || { fail data "no free port"; finish; }
URL=http://127.0.0.1:$MPORT
SOCK=$D/mailauthd.sock
cat >"$D/mailauthd.conf" <<EOF
# tests/metrics.sh
Socket unix:$SOCK
PidFile $D/mailauthd.pid
MetricsListen 127.0.0.1:$MPORT
AuthservID mx.metrics.example
Hostname mx.metrics.example
DNSZoneFile $D/zone
DNSOffline yes
InternalHosts 127.0.0.0/8, ::1
RejectFailures yes
KeyTable $D/KeyTable
SigningTable refile:$D/SigningTable.rsa
SigningDaemons ORIGINATING
ReportHistory yes
ReportDatabase sqlite:$D/history.db
ReportSpool $D/history.spool
EOF
cp "$D/mailauthd.conf" "$D/good.conf"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
"$MAD" -f -c "$D/mailauthd.conf" >"$D/mailauthd.log" 2>&1 &
MAD_PID=$!
for _ in $(seq 1 $((WAIT * 10))); do
	[ -S "$SOCK" ] && curl -s -o /dev/null --max-time 2 "$URL/metrics" && break
	kill -0 "$MAD_PID" 2>/dev/null || break
	sleep 0.1
done
if ! [ -S "$SOCK" ] || ! curl -s -o /dev/null --max-time 2 "$URL/metrics"; then
	fail start "$(tail -5 "$D/mailauthd.log" | tr '\n' ' ')"
	finish
fi

# scrape [FILE] - GET /metrics into FILE (default $D/scrape), headers
# into FILE.h; fails unless 200
scrape() {
	local f=${1:-$D/scrape} code
	code=$(curl -sS --max-time 10 -D "$f.h" -o "$f" -w '%{http_code}' "$URL/metrics")
	[ "$code" = 200 ]
}
# val SERIES [FILE] - the value of one series, "absent" when missing
val() {
	awk -v s="$1" '$1 == s { print $2; f = 1; exit } END { if (!f) print "absent" }' \
		"${2:-$D/scrape}"
}
# sum PREFIX [FILE] - the sum of every series whose name+labels start so
sum() {
	awk -v p="$1" 'substr($1, 1, 1) != "#" && index($1, p) == 1 { s += $2 }
		END { printf "%d\n", s }' "${2:-$D/scrape}"
}
# expect CASE "SERIES=WANT ..." [FILE] - every series has its value
expect() {
	local name=$1 want bad='' s w g
	for want in $2; do
		s=${want%=*} w=${want##*=}
		g=$(val "$s" "${3:-$D/scrape}")
		[ "$g" = "$w" ] || bad="$bad $s=$g(want $w)"
	done
	pass_unless "$name" "$bad"
}
# promtool_ok CASE [FILE] - promtool check metrics: status 0, silent
promtool_ok() {
	local out rc
	out=$(promtool check metrics <"${2:-$D/scrape}" 2>&1)
	rc=$?
	if [ $rc = 0 ] && [ -z "$out" ]; then
		pass "$1"
	else
		fail "$1" "status $rc: $(echo "$out" | head -5 | tr '\n' ' ')"
	fi
}
# wait_val SERIES WANT - scrape until SERIES has value WANT (bounded)
wait_val() {
	for _ in $(seq 1 $((WAIT * 5))); do
		scrape && [ "$(val "$1")" = "$2" ] && return 0
		sleep 0.2
	done
	return 1
}

# ------------------------------------------------------------ fresh
if scrape "$D/fresh"; then
	promtool_ok promtool-fresh "$D/fresh"
	if [ "$(sum 'mailauthd_messages_total{' "$D/fresh")" = 0 ] &&
		[ "$(grep -c '^mailauthd_messages_total{' "$D/fresh")" = 8 ]; then
		pass fresh-zero
	else
		fail fresh-zero "$(grep '^mailauthd_messages_total' "$D/fresh" | tr '\n' ' ')"
	fi
else
	fail promtool-fresh "no scrape"
	fail fresh-zero "no scrape"
fi

# ------------------------------------------------------------ the batch
# load N CONC SOURCE... - milter_load, replies checked against expect=
load() {
	local n=$1 c=$2 src args=()
	shift 2
	for src in "$@"; do args+=(-f "$src"); done
	"$LOADGEN" -s "unix:$SOCK" -c "$c" -n "$n" -m 1 -r -q -T 30 "${args[@]}" \
		>>"$D/load.out" 2>&1
}
verify_src=() sign_src=()
for i in 1 2 3 4; do
	verify_src+=("$D/msg/verify-$i.eml,client=203.0.113.25,name=mail.sender$i.example,from=bounce@sender$i.example,rcpt=user$i@rcpt.example,helo=mail.sender$i.example,daemon=MX,expect=accept")
	sign_src+=("$D/msg/sign-$i.eml,client=127.0.0.1,name=localhost,from=newsletter@signer.example,rcpt=user$i@rcpt.example,helo=app.signer.example,daemon=ORIGINATING,expect=accept")
done
reject_src="$D/msg/reject.eml,client=198.51.100.7,from=bounce@sender1.example,rcpt=user1@rcpt.example,helo=mail.sender1.example,daemon=MX,expect=reject"
traffic=''
load $N_VERIFY 4 "${verify_src[@]}" || traffic="$traffic verify"
load $N_REJECT 1 "$reject_src" || traffic="$traffic reject"
load $N_SIGN 2 "${sign_src[@]}" || traffic="$traffic sign"
[ -z "$traffic" ] || fail traffic "milter_load failed:$traffic: $(tail -3 "$D/load.out" | tr '\n' ' ')"
# the server thread may still be closing the last connection
wait_val mailauthd_connections_active 0

if ! scrape; then
	fail scrape-http "no 200 from $URL/metrics"
	finish
fi
if grep -qi '^Content-Type: text/plain; version=0.0.4; charset=utf-8' "$D/scrape.h"; then
	pass scrape-http
else
	fail scrape-http "$(grep -i '^Content-Type' "$D/scrape.h")"
fi
cp "$D/scrape" "$D/batch"
promtool_ok promtool-batch

got=$(sum 'mailauthd_messages_total{')
if [ "$got" = $N_MSGS ]; then pass messages-sum; else fail messages-sum "got $got, want $N_MSGS"; fi
M='mailauthd_messages_total{mode="verify",action="'
O='mailauthd_messages_total{mode="outbound",action="'
expect messages-by-action "${M}accept\"}=$N_VERIFY ${M}reject\"}=$N_REJECT
	${M}quarantine\"}=0 ${M}tempfail\"}=0 ${O}accept\"}=$N_SIGN
	${O}reject\"}=0 ${O}quarantine\"}=0 ${O}tempfail\"}=0"

N_JUDGED=$((N_VERIFY + N_REJECT))
# per method: the sums, then the results the data set makes
per_method() {	# CASE PREFIX "SERIES=WANT ..."
	local got
	got=$(sum "$2")
	if [ "$got" != $N_JUDGED ]; then
		fail "$1" "$2* sums to $got, want $N_JUDGED"
	else
		expect "$1" "$3"
	fi
}
per_method spf-results 'mailauthd_spf_results_total{identity="mailfrom",' \
	"mailauthd_spf_results_total{identity=\"mailfrom\",result=\"pass\"}=$N_VERIFY
	 mailauthd_spf_results_total{identity=\"mailfrom\",result=\"fail\"}=$N_REJECT"
per_method dkim-results 'mailauthd_dkim_results_total{' \
	"mailauthd_dkim_results_total{result=\"pass\"}=$N_VERIFY
	 mailauthd_dkim_results_total{result=\"fail\"}=$N_REJECT"
per_method dmarc-results 'mailauthd_dmarc_results_total{' \
	"mailauthd_dmarc_results_total{result=\"pass\"}=$N_VERIFY
	 mailauthd_dmarc_results_total{result=\"fail\"}=$N_REJECT"
expect dmarc-disposition "mailauthd_dmarc_fail_disposition_total{disposition=\"reject\"}=$N_REJECT
	mailauthd_dmarc_fail_disposition_total{disposition=\"quarantine\"}=0
	mailauthd_dmarc_fail_disposition_total{disposition=\"none\"}=0"
expect no-eval-errors "mailauthd_evaluation_errors_total=0"

# histograms: buckets in order never decrease and end at _count
hbad=$(awk '
	/^# TYPE .* histogram$/ { h[$3] = 1; next }
	/^#/ { next }
	{
		name = $1; sub(/\{.*/, "", name)
		key = $1; sub(/^[^{]*\{?/, "", key); sub(/,?le="[^"]*"/, "", key); sub(/\}$/, "", key)
		base = name; sub(/_(bucket|sum|count)$/, "", base)
		if (!(base in h)) next
		if (name ~ /_bucket$/) {
			if ((base key) in last && $2 + 0 < last[base key])
				print "decreasing:" $1
			last[base key] = $2 + 0
		} else if (name ~ /_count$/) {
			if (!((base key) in last) || last[base key] != $2 + 0)
				print "count!=+Inf:" $1
			n++
		}
	}
	END { if (n < 9) print "only " n " histograms" }' "$D/scrape")
S='mailauthd_stage_duration_seconds_count{stage="'
for want in "${S}connect\"}=$N_MSGS" "${S}mail\"}=$N_MSGS" "${S}eom\"}=$N_MSGS" \
	"mailauthd_message_duration_seconds_count=$N_MSGS"; do
	g=$(val "${want%=*}")
	[ "$g" = "${want##*=}" ] || hbad="$hbad ${want%=*}=$g(want ${want##*=})"
done
g=$(val mailauthd_message_duration_seconds_sum)
awk -v v="$g" 'BEGIN { exit !(v + 0 > 0) }' || hbad="$hbad message_duration_sum=$g"
pass_unless histograms "$(echo "$hbad" | tr '\n' ' ' | sed 's/ *$//')"

expect connections "mailauthd_connections_total=$N_MSGS mailauthd_connections_active=0"

q=$(val mailauthd_dns_queries_total)
h=$(val mailauthd_dns_cache_hits_total)
e=$(val mailauthd_dns_cache_entries)
to=$(val mailauthd_dns_timeouts_total)
sf=$(val mailauthd_dns_servfails_total)
if [ "$q" != absent ] && [ "$h" != absent ] && [ "$e" != absent ] &&
	[ "$q" -gt 0 ] && [ "$h" -gt 0 ] && [ "$h" -le "$q" ] && [ "$e" -gt 0 ] &&
	[ "$to" = 0 ] && [ "$sf" = 0 ]; then
	pass dns-consistent
else
	fail dns-consistent "queries=$q cache_hits=$h cache_entries=$e timeouts=$to servfails=$sf"
fi

# the history writer commits every 200 ms
rows_bad="rows_total=$(val mailauthd_report_rows_total) (want $N_JUDGED)"
if [ "$(val mailauthd_report_rows_total)" = $N_JUDGED ]; then
	rows_bad="stored+spooled never reached $N_JUDGED"
	for _ in $(seq 1 $((WAIT * 5))); do
		scrape "$D/rows" || break
		if [ $(($(val mailauthd_report_rows_stored_total "$D/rows") +
			$(val mailauthd_report_rows_spooled_total "$D/rows"))) = $N_JUDGED ] &&
			[ "$(val mailauthd_report_queue_rows "$D/rows")" = 0 ]; then
			rows_bad=''
			break
		fi
		sleep 0.2
	done
fi
pass_unless report-rows "$rows_bad"

now=$(date +%s)
st=$(val mailauthd_start_time_seconds)
if [ "$(grep -c '^mailauthd_build_info{version="[^"]*"} 1$' "$D/scrape")" = 1 ] &&
	[ "$st" != absent ] && [ "$st" -le "$now" ] && [ "$st" -ge $((now - 600)) ]; then
	pass build-start
else
	fail build-start "start_time=$st now=$now; $(grep '^mailauthd_build_info' "$D/scrape")"
fi

# ------------------------------------------------------------ HTTP
code=$(curl -s --max-time 10 -o /dev/null -w '%{http_code}' "$URL/other")
if [ "$code" = 404 ]; then pass http-404; else fail http-404 "GET /other: $code"; fi
code=$(curl -s --max-time 10 -X POST -d x=1 -D "$D/post.h" -o /dev/null -w '%{http_code}' "$URL/metrics")
if [ "$code" = 405 ] && grep -qi '^Allow: GET' "$D/post.h"; then
	pass http-405
else
	fail http-405 "POST /metrics: $code, $(grep -i '^Allow' "$D/post.h")"
fi

# ------------------------------------------------------------ reloads
R='mailauthd_config_reloads_total{result="'
dns_before=$q
kill -HUP "$MAD_PID"
if wait_val "${R}success\"}" 1; then
	g=$(val mailauthd_dns_queries_total)
	bad=''
	[ "$(sum 'mailauthd_messages_total{')" = $N_MSGS ] || bad="messages now $(sum 'mailauthd_messages_total{')"
	[ "$g" -ge "$dns_before" ] || bad="$bad dns queries $dns_before -> $g"
	[ "$(val mailauthd_config_last_reload_successful)" = 1 ] || bad="$bad last_reload_successful=$(val mailauthd_config_last_reload_successful)"
	[ "$(val "${R}failure\"}")" = 0 ] || bad="$bad failures=$(val "${R}failure\"}")"
	pass_unless reload-success "$bad"
else
	fail reload-success "reloads{success} is $(val "${R}success\"}"): $(tail -2 "$D/mailauthd.log" | tr '\n' ' ')"
fi

echo "NoSuchKey yes" >>"$D/mailauthd.conf"
kill -HUP "$MAD_PID"
if wait_val "${R}failure\"}" 1; then
	expect reload-failure "mailauthd_config_last_reload_successful=0 ${R}success\"}=1
		mailauthd_key_load_errors_total=0"
else
	fail reload-failure "reloads{failure} is $(val "${R}failure\"}")"
fi

sed "s|^KeyTable .*|KeyTable $D/KeyTable.bad|" "$D/good.conf" >"$D/mailauthd.conf"
sed "s|:[^:]*\$|:$D/keys/no-such-key.pem|" "$D/KeyTable" >"$D/KeyTable.bad"
kill -HUP "$MAD_PID"
if wait_val "${R}failure\"}" 2; then
	bad=''
	[ "$(val mailauthd_key_load_errors_total)" = 1 ] || bad="key_load_errors=$(val mailauthd_key_load_errors_total)"
	cp "$D/good.conf" "$D/mailauthd.conf"
	kill -HUP "$MAD_PID"
	if wait_val "${R}success\"}" 2; then
		[ "$(val mailauthd_config_last_reload_successful)" = 1 ] || bad="$bad not successful after the good file"
	else
		bad="$bad the good file again: reloads{success}=$(val "${R}success\"}")"
	fi
	pass_unless key-load-error "$bad"
else
	fail key-load-error "reloads{failure} is $(val "${R}failure\"}"), key_load_errors $(val mailauthd_key_load_errors_total)"
	cp "$D/good.conf" "$D/mailauthd.conf"
fi

if load 4 2 "${verify_src[@]}" && scrape; then
	expect counts-after-reload "${M}accept\"}=$((N_VERIFY + 4))
		mailauthd_dmarc_results_total{result=\"pass\"}=$((N_VERIFY + 4))
		mailauthd_stage_duration_seconds_count{stage=\"eom\"}=$((N_MSGS + 4))"
else
	fail counts-after-reload "milter_load or the scrape failed: $(tail -2 "$D/load.out" | tr '\n' ' ')"
fi

# ------------------------------------------------------------ start-up
out=$("$MAD" -n -c "$D/mailauthd.conf" 2>&1)
rc=$?
if [ $rc = 0 ]; then pass check-mode-no-bind; else fail check-mode-no-bind "status $rc: $out"; fi

sed -e "s|^Socket .*|Socket unix:$D/second.sock|" -e "s|^PidFile .*|PidFile $D/second.pid|" \
	"$D/good.conf" >"$D/second.conf"
timeout $WAIT "$MAD" -f -c "$D/second.conf" >"$D/second.log" 2>&1
rc=$?
if [ $rc != 1 ]; then
	fail bind-failure "status $rc, want 1: $(tail -2 "$D/second.log" | tr '\n' ' ')"
elif ! grep -q "MetricsListen.*127\.0\.0\.1:$MPORT" "$D/second.log"; then
	fail bind-failure "the error does not name 127.0.0.1:$MPORT: $(tail -2 "$D/second.log" | tr '\n' ' ')"
elif [ -e "$D/second.sock" ]; then
	fail bind-failure "it left its milter socket"
else
	pass bind-failure
fi

# ------------------------------------------------------------ Grafana
if $PY -m json.tool "$DASH" >/dev/null 2>"$D/json.err"; then
	pass grafana-json
else
	fail grafana-json "$(head -2 "$D/json.err" | tr '\n' ' ')"
fi
# the queries as recording rules, Grafana's variables given values
$PY - "$DASH" "$D/dash.rules" "$D/dash.names" <<'EOF' 2>"$D/rules.err"
import json, re, sys
d = json.load(open(sys.argv[1]))
exprs = []
def walk(x):
    if isinstance(x, dict):
        if isinstance(x.get("expr"), str):
            exprs.append(x["expr"])
        for v in x.values():
            walk(v)
    elif isinstance(x, list):
        for v in x:
            walk(v)
walk(d)
with open(sys.argv[2], "w") as f:
    f.write("groups:\n- name: dashboard\n  rules:\n")
    for i, e in enumerate(exprs):
        e = e.replace("$__rate_interval", "5m").replace("$instance", ".*")
        f.write("  - record: dashboard:expr%d\n    expr: %s\n" % (i, json.dumps(e)))
names = set()
for e in exprs:
    names.update(re.findall(r"\bmailauthd_[a-z0-9_]+", e))
with open(sys.argv[3], "w") as f:
    f.write("\n".join(sorted(names)) + "\n")
print(len(exprs), file=sys.stderr)
EOF
missing=''
while read -r n; do
	[ -n "$n" ] || continue
	b=$(echo "$n" | sed -E 's/_(bucket|sum|count)$//')
	grep -q "^# TYPE $b " "$D/scrape" || grep -q "^# TYPE $n " "$D/scrape" || missing="$missing $n"
done <"$D/dash.names"
if [ ! -s "$D/dash.names" ]; then
	fail grafana-metrics "no mailauthd_ names found in $DASH: $(cat "$D/rules.err")"
else
	pass_unless grafana-metrics "${missing:+not in the scrape:$missing}"
fi
if out=$(promtool check rules "$D/dash.rules" 2>&1); then
	pass grafana-promql
else
	fail grafana-promql "$(echo "$out" | head -5 | tr '\n' ' ')"
fi

# ------------------------------------------------------------ the end
if scrape "$D/end"; then promtool_ok promtool-end "$D/end"; else fail promtool-end "no scrape"; fi
mad_term "$MAD_PID"
if [ "$MAD_RC" = timeout ]; then
	fail sigterm-exit "still running ${WAIT}s after SIGTERM"
else
	MAD_PID=''
	if [ "$MAD_RC" = 0 ]; then pass sigterm-exit; else fail sigterm-exit "status $MAD_RC"; fi
fi
if out=$(mad_sanitized "$D/mailauthd.log"); then
	fail sanitizer-clean "$out"
	KEEP=1
else
	pass sanitizer-clean
fi
[ "$nfail" = 0 ] || { echo "--- mailauthd.log"; tail -n 30 "$D/mailauthd.log"; }
finish
