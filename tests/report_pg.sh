#!/bin/sh
# report_pg.sh - the report store against a real PostgreSQL on loopback
#
# Starts a throw-away PostgreSQL server (initdb into a temp dir, as the
# postgres user when run as root), listening on 127.0.0.1 at a free
# port; then, through tests/report_pg_driver:
#   - two writers (different reporter names) start together against
#     the empty database (schema creation under the advisory lock) and
#     append rows concurrently; every row arrives once, intact;
#   - sent-report bookkeeping;
#   - two instances (mailauth-check --record, the daemon's code path)
#     record evaluations into the one database; mailauth-report makes
#     one schema-valid report holding both instances' rows;
#   - the server is stopped while a writer keeps appending (rows go to
#     the spool) and started again: every row arrives exactly once.
# Prints "PASS name" / "FAIL name: why" and "report_pg: N passed, N failed".
# Without PostgreSQL server binaries: exit 77 (skip), or 1 when CI=true.

top_builddir=${top_builddir:-.}
DRIVER=$top_builddir/tests/report_pg_driver
pass=0
fail=0

ok() { echo "PASS $1"; pass=$((pass + 1)); }
nok() { echo "FAIL $1: $2"; fail=$((fail + 1)); }
skip() {
	echo "report_pg: skipped: $1"
	if [ "$CI" = true ]; then exit 1; fi
	exit 77
}

PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[ -n "$PGBIN" ] && [ -x "$PGBIN/initdb" ] && [ -x "$PGBIN/pg_ctl" ] ||
	skip "PostgreSQL server binaries not found (apt-get install postgresql)"
[ -x "$DRIVER" ] || skip "$DRIVER not built (make check builds it)"

AS=""
if [ "$(id -u)" = 0 ]; then
	id postgres >/dev/null 2>&1 || skip "running as root and no postgres user"
	AS="runuser -u postgres --"
fi

T=$(mktemp -d /tmp/report_pg.XXXXXX) || exit 1
chmod 755 "$T"
mkdir "$T/data" "$T/sock"
[ -n "$AS" ] && chown postgres "$T/data" "$T/sock"

stop_server() {
	$AS "$PGBIN/pg_ctl" -D "$T/data" -m immediate -w stop >/dev/null 2>&1
}
cleanup() {
	stop_server
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
start_server() {
	$AS "$PGBIN/pg_ctl" -D "$T/data" -l "$T/data/server.log" -w -t 60 \
		-o "-c listen_addresses=127.0.0.1 -p $PORT -k $T/sock -c fsync=off" \
		start >/dev/null 2>&1
}

if ! $AS "$PGBIN/initdb" -D "$T/data" -A trust -U postgres -E UTF8 \
		--no-sync >"$T/initdb.log" 2>&1; then
	cat "$T/initdb.log"
	nok initdb "initdb failed"
	echo "report_pg: $pass passed, $fail failed"
	exit 1
fi
if ! start_server; then
	cat "$T/data/server.log" 2>/dev/null
	nok start "server did not start"
	echo "report_pg: $pass passed, $fail failed"
	exit 1
fi
if ! $AS "$PGBIN/createdb" -h 127.0.0.1 -p "$PORT" -U postgres mailauth \
		>"$T/createdb.log" 2>&1; then
	cat "$T/createdb.log"
	nok createdb "createdb failed"
	echo "report_pg: $pass passed, $fail failed"
	exit 1
fi
ok server
URL="postgresql://postgres@127.0.0.1:$PORT/mailauth"

# 1. two writers at once into the empty database
"$DRIVER" write "$URL" "$T/spool.a" mx-a 0 2000 0 >"$T/a.out" 2>"$T/a.err" &
pa=$!
"$DRIVER" write "postgres://postgres@127.0.0.1:$PORT/mailauth" "$T/spool.b" \
	mx-b 0 2000 0 >"$T/b.out" 2>"$T/b.err" &
pb=$!
wait $pa; ra=$?
wait $pb; rb=$?
if [ $ra = 0 ] && [ $rb = 0 ]; then
	ok two_writers
else
	nok two_writers "writer exit $ra/$rb: $(cat "$T/a.err" "$T/b.err" | head -5)"
fi
for r in mx-a mx-b; do
	if out=$("$DRIVER" check "$URL" $r 0 2000 2>&1); then
		ok "rows_$r"
	else
		nok "rows_$r" "$(echo "$out" | head -5)"
	fi
done

# 2. sent-report bookkeeping
if out=$("$DRIVER" sent "$URL" 2>&1); then ok sent; else nok sent "$out"; fi

# 2b. two instances record real evaluations (mailauth-check --record, the
# daemon's code path) into the one database; one report comes out of it
# with both instances' rows
top_srcdir=${top_srcdir:-$(dirname "$0")/..}
CHECK=$top_builddir/mailauth-check
REPORTER=$top_builddir/mailauth-report
XSD=${SHARED_DIR:-$top_srcdir/../shared}/conformance/dmarc/rfc9990-aggregate.xsd
n_each=0
for inst in mx-one mx-two; do
	printf 'AuthservID %s.example\nHostname %s.example\nReportDatabase %s\nReportSpool %s\n' \
		"$inst" "$inst" "$URL" "$T/$inst.spool" >"$T/$inst.conf"
	for m in signed-rsa unsigned tampered-body; do
		"$CHECK" --record -c "$T/$inst.conf" --dns-zone "$top_srcdir/tests/data/test.zone" \
			--client-ip 198.51.100.7 --helo mail.example.net --time 1700000000 \
			--mail-from bounce@football.example.com --rcpt u@rcpt.example \
			"$top_srcdir/tests/data/msg/$m.eml" >/dev/null 2>>"$T/inst.err"
	done
	n_each=3
done
rm -rf "$T/rep"; mkdir -p "$T/rep"
if ! "$REPORTER" -c "$T/mx-one.conf" --dry-run --output-dir "$T/rep" \
	--begin 1699999000 --end 1700001000 >"$T/rep.log" 2>&1; then
	nok two_instances_one_report "mailauth-report: $(tail -c 300 "$T/rep.log")"
else
	f=$(ls "$T/rep"/*football.example.com*.xml.gz 2>/dev/null | head -n 1)
	if [ -z "$f" ]; then
		nok two_instances_one_report "no report for football.example.com: $(ls "$T/rep")"
	else
		gunzip -c "$f" >"$T/rep.xml"
		total=$(sed -n 's:.*<count>\([0-9]*\)</count>.*:\1:p' "$T/rep.xml" |
			awk '{ t += $1 } END { print t + 0 }')
		if ! xmllint --noout --schema "$XSD" "$T/rep.xml" 2>"$T/xmllint.err"; then
			nok two_instances_one_report "xmllint: $(head -c 300 "$T/xmllint.err")"
		elif [ "$total" -ne $((2 * n_each)) ]; then
			nok two_instances_one_report "counts add up to $total, want $((2 * n_each))"
		else
			ok two_instances_one_report
		fi
	fi
fi

# 3. the server goes away while a writer appends
"$DRIVER" write "$URL" "$T/spool.c" mx-c 0 3000 1000 >"$T/c.out" 2>"$T/c.err" &
pc=$!
sleep 1
$AS "$PGBIN/pg_ctl" -D "$T/data" -m fast -w stop >/dev/null 2>&1
sleep 2
start_server || nok restart "server did not start again"
wait $pc; rc=$?
if [ $rc = 0 ]; then
	ok outage_writer
else
	nok outage_writer "writer exit $rc: $(head -5 "$T/c.err")"
fi
spooled=$(sed -n 's/.*spooled=\([0-9]*\).*/\1/p' "$T/c.out")
if [ -n "$spooled" ] && [ "$spooled" -gt 0 ]; then
	ok outage_spooled
else
	nok outage_spooled "no row went to the spool ($(cat "$T/c.out"))"
fi
if out=$("$DRIVER" check "$URL" mx-c 0 3000 2>&1); then
	ok outage_rows_once
else
	nok outage_rows_once "$(echo "$out" | head -5)"
fi
if [ -s "$T/spool.c" ] || [ -e "$T/spool.c.replay" ]; then
	nok outage_spool_empty "spool not emptied"
else
	ok outage_spool_empty
fi

echo "report_pg: $pass passed, $fail failed"
[ $fail = 0 ]
