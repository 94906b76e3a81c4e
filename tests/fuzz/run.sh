#!/bin/sh
# NAME
#	run.sh - build and run the libFuzzer targets for a while
# SYNOPSIS
#	tests/fuzz/run.sh SECONDS [TARGET...]
# DESCRIPTION
#	Configures (once) and builds a separate build directory with
#	CC=clang --enable-fuzz --enable-asan --enable-ubsan: $FUZZ_BUILD, else
#	$top_builddir-fuzz, else <srcdir>/build-fuzz. Runs each TARGET (default:
#	all) for SECONDS on a temporary copy of tests/fuzz/seeds/<name>/
#	(name without "fuzz_"), so the tree is not modified, and prints
#	    fuzz <target>: <executions> execs, <crashes> crashes
#	A crash, leak, timeout, OOM or sanitizer report counts as a crash; its
#	input is kept in $FUZZ_BUILD/tests/fuzz/crashes/<target>/ and its path
#	printed. A target that does not build prints "not built".
#	Ends with "fuzz: N passed, N failed"; exit 1 on any failure.
# ENVIRONMENT
#	FUZZ_BUILD, top_builddir, MAKE (default make), FUZZ_JOBS (make -j,
#	default 1), FUZZ_ARGS (extra libFuzzer options).
set -u

ALL="fuzz_from fuzz_authres fuzz_dmarc_record fuzz_spf_record fuzz_config
fuzz_keytable fuzz_zone fuzz_dkim fuzz_engine fuzz_milter"

usage() { echo "usage: $0 SECONDS [TARGET...]" >&2; exit 2; }
[ $# -ge 1 ] || usage
secs=$1; shift
case $secs in ''|*[!0-9]*) usage ;; esac
[ $# -gt 0 ] && targets=$* || targets=$ALL

srcdir=$(cd "$(dirname "$0")/../.." && pwd)
# fuzz_engine loads the test zone from here
export FUZZ_DATA_DIR=${FUZZ_DATA_DIR:-$srcdir/tests/data}
if [ -n "${FUZZ_BUILD:-}" ]; then build=$FUZZ_BUILD
elif [ -n "${top_builddir:-}" ]; then build=$(cd "$top_builddir" && pwd)-fuzz
else build=$srcdir/build-fuzz
fi
make=${MAKE:-make}
mkdir -p "$build" || exit 1
build=$(cd "$build" && pwd)

# configure once; later runs rely on make re-running config.status
if [ ! -f "$build/Makefile" ]; then
	echo "fuzz: configuring $build" >&2
	(cd "$build" && CC=clang "$srcdir/configure" --enable-fuzz --enable-asan \
		--enable-ubsan >"$build/fuzz-configure.log" 2>&1) || {
		echo "fuzz: configure failed, see $build/fuzz-configure.log" >&2
		exit 1; }
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mailauth-fuzz.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM
passed=0 failed=0

for t in $targets; do
	t=${t##*/}
	name=${t#fuzz_}
	prog=$build/tests/fuzz/$t
	if ! (cd "$build" && $make -j"${FUZZ_JOBS:-1}" "tests/fuzz/$t" \
		>"$build/fuzz-build-$t.log" 2>&1) || [ ! -x "$prog" ]; then
		echo "fuzz $t: not built (see $build/fuzz-build-$t.log)"
		failed=$((failed + 1))
		continue
	fi
	corpus=$tmp/$name
	mkdir -p "$corpus"
	[ -d "$srcdir/tests/fuzz/seeds/$name" ] &&
		cp -R "$srcdir/tests/fuzz/seeds/$name/." "$corpus/"
	crashdir=$build/tests/fuzz/crashes/$t
	mkdir -p "$crashdir"
	log=$build/tests/fuzz/$t.log
	# one job; a finding stops the run, its input goes to crashdir
	# shellcheck disable=SC2086 # FUZZ_ARGS is a list of options
	ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
	UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
		"$prog" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 \
		-print_final_stats=1 -artifact_prefix="$crashdir/" \
		${FUZZ_ARGS:-} "$corpus" >"$log" 2>&1
	rc=$?
	# executions: "Done N runs", else the last "#N ..." status line,
	# else stat::number_of_executed_units
	execs=$(sed -n 's/^Done \([0-9][0-9]*\) runs.*/\1/p' "$log" | tail -n 1)
	[ -n "$execs" ] || execs=$(sed -n 's/^#\([0-9][0-9]*\)[^0-9].*/\1/p' "$log" | tail -n 1)
	[ -n "$execs" ] || execs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$log" | tail -n 1)
	[ -n "$execs" ] || execs=0
	# libFuzzer names every saved input ("crash-", "leak-", "timeout-",
	# "oom-" + sha1) on a "Test unit written to" line
	new=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log")
	crashes=$(printf '%s\n' "$new" | grep -c .)
	if [ "$crashes" -eq 0 ] && { [ $rc -ne 0 ] ||
		grep -qE '^==[0-9]+==ERROR|runtime error:|^SUMMARY: |deadly signal' "$log"; }; then
		crashes=1	# a report without an artifact (e.g. startup)
	fi
	echo "fuzz $t: $execs execs, $crashes crashes"
	if [ "$crashes" -gt 0 ]; then
		failed=$((failed + 1))
		for f in $new; do echo "  input: $f"; done
		echo "  log: $log"
	else
		passed=$((passed + 1))
	fi
done

echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
