#!/bin/bash
# NAME
#	run-all.sh - every test layer of mailauthd; the README's test command
# SYNOPSIS
#	./tests/run-all.sh		(as root, from anywhere)
# DESCRIPTION
#	1. installs the Debian packages the build and the tests need (only
#	   when one is missing; apt-get, noninteractive, Postfix preseeded to
#	   "No configuration", services kept from starting);
#	2. autoreconf -fi; build-ci: configure --enable-werror, make check
#	   (unit, conformance, script tests);
#	3. build-asan: configure --enable-asan --enable-ubsan, make check;
#	3b. build-dist: make distcheck (the tarball configures, builds,
#	   passes make check from a read-only copy, installs, uninstalls);
#	4. the unit tests of build-ci once more under valgrind;
#	5. tests/e2e/postfix.sh and tests/e2e/sendmail.sh against build-ci,
#	   and against build-asan (mailauthd under the sanitizers); Sendmail
#	   is not installed (it conflicts with postfix): sendmail.sh fetches
#	   sendmail-bin with apt-get download into /var/cache/mailauthd-tests
#	   and runs it from a private directory;
#	5b. tests/soak.sh build-asan SOAK_COUNT (100000): mixed milter
#	   traffic under LeakSanitizer, RSS after warm-up and at the end;
#	6. tests/fuzz/run.sh: every libFuzzer target for FUZZ_SECONDS (20)
#	   under ASan+UBSan, executions and crashes printed per target;
#	then prints the counts of each layer and a last line
#	"N passed, N failed" summed over all layers. Exit status 0 only when
#	nothing failed.
# ENVIRONMENT
#	JOBS (make -j; default: number of CPUs), SKIP_DEPS=1 (no apt-get),
#	SKIP_AUTORECONF=1, SKIP_ASAN=1, SKIP_VALGRIND=1, SKIP_E2E=1, SKIP_SOAK=1, SKIP_FUZZ=1, SKIP_DISTCHECK=1 (for
#	local runs only; CI runs everything), CI=true: a layer that cannot
#	run is a failure.
set -u
cd "$(dirname "$0")/.." || exit 1
TOP=$(pwd)
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
CI=${CI:-}
export DEBIAN_FRONTEND=noninteractive

PKGS="build-essential autoconf automake libtool pkg-config libmilter-dev
libspf2-dev libopendkim-dev libunbound-dev libssl-dev libjson-c-dev check
postfix nsd swaks python3-dkim python3-spf python3-dnslib libmail-dkim-perl
libclang-rt-14-dev valgrind openssl sasl2-bin
libsasl2-modules libsasl2-modules-db libsqlite3-dev libpq-dev zlib1g-dev
postgresql libxml2-utils libmail-dmarc-perl clang
m4 sendmail-cf liblockfile1 libwrap0 miltertest
libmicrohttpd-dev libsystemd-dev prometheus systemd curl opendkim opendmarc"

TOTAL_PASS=0
TOTAL_FAIL=0
SUMMARY=""

log() { echo "=== run-all: $*"; }

# layer NAME PASS FAIL - record one layer's counts
layer() {
	TOTAL_PASS=$((TOTAL_PASS + $2))
	TOTAL_FAIL=$((TOTAL_FAIL + $3))
	SUMMARY="$SUMMARY$(printf '%-22s %4d passed, %4d failed' "$1" "$2" "$3")
"
}

# ---------------------------------------------------------------- 1. packages
install_deps() {
	local missing="" p policy_rc=""
	for p in $PKGS; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
			grep -q "install ok installed" || missing="$missing $p"
	done
	[ -z "$missing" ] && { log "test dependencies present"; return 0; }
	if [ "$(id -u)" != 0 ]; then
		log "missing packages:$missing (run as root to install)"
		return 1
	fi
	log "installing:$missing"
	echo "postfix postfix/main_mailer_type select No configuration" |
		debconf-set-selections
	# keep the packages' daemons (system postfix, nsd) from starting
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod 755 /usr/sbin/policy-rc.d
		policy_rc=1
	fi
	# shellcheck disable=SC2086 # $missing is a list of package names
	timeout 1200 apt-get update -q &&
	timeout 2400 apt-get install -y -q --no-install-recommends $missing </dev/null
	p=$?
	[ -n "$policy_rc" ] && rm -f /usr/sbin/policy-rc.d
	return $p
}

if [ "${SKIP_DEPS:-0}" != 1 ]; then
	install_deps || layer dependencies 0 1
fi

# ---------------------------------------------------------------- 2, 3. builds
if [ "${SKIP_AUTORECONF:-0}" != 1 ] || [ ! -x configure ]; then
	log "autoreconf -fi"
	AR_LOG=$(mktemp /tmp/mailauth-autoreconf.XXXXXX)
	if ! autoreconf -fi >"$AR_LOG" 2>&1; then
		cat "$AR_LOG"
		layer autoreconf 0 1
	fi
	rm -f "$AR_LOG"
fi

# case_counts DIR - "PASS FAIL" over the individual cases of every test
# program of a make check: Check's "Checks: N, Failures: F, Errors: E",
# the conformance runners' "P/N" lines, the script tests' "N passed, N
# failed". A program that failed without a failing case counted (a crash,
# a sanitizer abort) adds one failure.
case_counts() {
	local dir=$1 log p f tp=0 tf=0 res
	for log in "$dir"/tests/unit/*.log "$dir"/tests/conformance/*.log "$dir"/tests/*.log; do
		[ -f "$log" ] || continue
		case "$log" in */test-suite.log | *.valgrind.log) continue ;; esac
		read -r p f < <(awk '
		    /Checks: [0-9]+, Failures: [0-9]+, Errors: [0-9]+/ {
			gsub(/[,%]/, " "); for (i = 1; i <= NF; i++) {
			    if ($i == "Checks:") n = $(i + 1)
			    if ($i == "Failures:") fl = $(i + 1)
			    if ($i == "Errors:") er = $(i + 1) }
			p += n - fl - er; f += fl + er; seen = 1 }
		    /^dkim conformance: [0-9]+\/[0-9]+/ {
			split($3, a, "/"); p += a[1]; f += a[2] - a[1]; seen = 1 }
		    /^spf conformance: [0-9]+\/[0-9]+/ { split($3, a, "/"); p += a[1]; seen = 1 }
		    / [0-9]+ unexpected failures/ {
			for (i = 1; i < NF; i++) if ($(i + 1) == "unexpected") f += $i }
		    /^[a-z_]+: [0-9]+ passed, [0-9]+ failed$/ { p += $2; f += $4; seen = 1 }
		    END { printf "%d %d\n", p, f }' "$log")
		res=$(sed -n 's/^:test-result: //p' "${log%.log}.trs" 2>/dev/null | head -n 1)
		if [ "$res" != PASS ] && [ "$f" = 0 ]; then f=1; fi
		tp=$((tp + p)); tf=$((tf + f))
	done
	echo "$tp $tf"
}

# build_and_check DIR CONFIGURE-ARGS... - configure, make, make check
build_and_check() {
	local dir=$1 counts
	shift
	log "$dir: configure $*"
	rm -rf "$dir"
	mkdir -p "$dir"
	if ! (cd "$dir" && ../configure -q "$@" >configure.out 2>&1); then
		cat "$dir/configure.out"
		layer "$dir" 0 1
		return 1
	fi
	log "$dir: make -j$JOBS"
	if ! make -C "$dir" -j"$JOBS" >"$dir/make.log" 2>&1; then
		tail -n 60 "$dir/make.log"
		layer "$dir build" 0 1
		return 1
	fi
	log "$dir: make check"
	make -C "$dir" -j"$JOBS" check >"$dir/check.log" 2>&1
	local rc=$?
	grep -E '^(PASS|FAIL|ERROR|XPASS|SKIP):' "$dir/check.log"
	if [ -f "$dir/test-suite.log" ]; then
		counts=$(case_counts "$dir")
		# shellcheck disable=SC2086
		layer "$dir make check" $counts
		[ $rc -ne 0 ] && [ "${counts#* }" = 0 ] && layer "$dir make check rc" 0 1
		[ $rc -ne 0 ] && sed -n '/^FAIL\|^ERROR/,+40p' "$dir/test-suite.log" | head -n 200
	else
		tail -n 60 "$dir/check.log"
		layer "$dir make check" 0 1
	fi
	return 0
}

CI_OK=0
build_and_check build-ci --enable-werror && CI_OK=1

ASAN_OK=0
if [ "${SKIP_ASAN:-0}" != 1 ]; then
	export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=0:detect_leaks=1}
	export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
	build_and_check build-asan --enable-asan --enable-ubsan && ASAN_OK=1
fi

# ---------------------------------------------------------------- 3b. distcheck
# one case: make distcheck in build-dist passes (a second make check of
# the whole suite, in the unpacked tarball: about 4 minutes on 2 cores)
if [ "${SKIP_DISTCHECK:-0}" != 1 ]; then
	log "build-dist: make distcheck"
	rm -rf build-dist
	mkdir -p build-dist
	dc_start=$(date +%s)
	if (cd build-dist && ../configure -q >configure.out 2>&1 &&
	    timeout 3600 make -j"$JOBS" distcheck >distcheck.log 2>&1); then
		layer distcheck 1 0
	else
		tail -n 60 build-dist/configure.out build-dist/distcheck.log 2>/dev/null
		for f in build-dist/mailauthd-*/_build/sub/test-suite.log; do
			[ -f "$f" ] && sed -n '/^FAIL\|^ERROR/,+40p' "$f" | head -n 200
		done
		layer distcheck 0 1
	fi
	log "build-dist: make distcheck took $(($(date +%s) - dc_start)) s"
fi

# ---------------------------------------------------------------- 4. valgrind
if [ "${SKIP_VALGRIND:-0}" != 1 ] && [ $CI_OK = 1 ]; then
	if command -v valgrind >/dev/null; then
		vp=0 vf=0
		for t in build-ci/tests/unit/test_*; do
			if [ ! -x "$t" ] || [ ! -f "$t" ]; then continue; fi
			case "$t" in *.o | *.log | *.trs) continue ;; esac
			if (cd build-ci && CK_FORK=no top_srcdir="$TOP" top_builddir="$TOP/build-ci" \
			    SHARED_DIR="$TOP/../shared" timeout 600 valgrind -q \
			    --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
			    "../$t") >"$t.valgrind.log" 2>&1; then
				echo "PASS: valgrind $t"; vp=$((vp + 1))
			else
				echo "FAIL: valgrind $t"; tail -n 30 "$t.valgrind.log"; vf=$((vf + 1))
			fi
		done
		layer "valgrind unit" $vp $vf
	elif [ "$CI" = true ]; then
		layer "valgrind unit" 0 1
	fi
fi

# ---------------------------------------------------------------- 5. e2e
# e2e SCRIPT TAG BUILD - run tests/e2e/SCRIPT against BUILD, count its
# cases from its last line "TAG: N passed, N failed"
e2e() {
	local script=$1 tag=$2 build=$3 name out rc p f
	name="$tag $build"
	log "$script against $build"
	out=$(timeout 900 "./tests/e2e/$script" "$TOP/$build" </dev/null 2>&1)
	rc=$?
	echo "$out"
	if [ $rc = 77 ]; then
		[ "$CI" = true ] && layer "$name" 0 1
		return
	fi
	p=$(echo "$out" | sed -n "s/^$tag: \([0-9]*\) passed, \([0-9]*\) failed\$/\1/p" | tail -n 1)
	f=$(echo "$out" | sed -n "s/^$tag: \([0-9]*\) passed, \([0-9]*\) failed\$/\2/p" | tail -n 1)
	if [ -z "$p" ] || [ -z "$f" ]; then
		layer "$name" 0 1
	else
		[ $rc -ne 0 ] && [ "$f" = 0 ] && f=1
		layer "$name" "$p" "$f"
	fi
}

if [ "${SKIP_E2E:-0}" != 1 ]; then
	for t in postfix.sh:e2e sendmail.sh:e2e-sendmail; do
		if [ $CI_OK = 1 ]; then e2e "${t%%:*}" "${t#*:}" build-ci; else layer "${t#*:} build-ci" 0 1; fi
		if [ "${SKIP_ASAN:-0}" != 1 ]; then
			if [ $ASAN_OK = 1 ]; then
				e2e "${t%%:*}" "${t#*:}" build-asan
			else
				layer "${t#*:} build-asan" 0 1
			fi
		fi
	done
fi

# ---------------------------------------------------------------- 5b. soak
# SOAK_COUNT (100000) messages of mixed verify/sign traffic through the
# milter protocol into the ASan build, LeakSanitizer on: no wrong
# replies, RSS flat after warm-up, no leak at SIGTERM (tests/soak.sh;
# about a minute on a 2-core VM)
if [ "${SKIP_SOAK:-0}" != 1 ] && [ "${SKIP_ASAN:-0}" != 1 ]; then
	if [ $ASAN_OK = 1 ]; then
		log "soak: ${SOAK_COUNT:=100000} messages against build-asan"
		out=$(timeout 3600 ./tests/soak.sh "$TOP/build-asan" "$SOAK_COUNT" </dev/null 2>&1)
		rc=$?
		echo "$out"
		p=$(echo "$out" | sed -n 's/^soak: \([0-9]*\) passed, \([0-9]*\) failed$/\1/p' | tail -n 1)
		f=$(echo "$out" | sed -n 's/^soak: \([0-9]*\) passed, \([0-9]*\) failed$/\2/p' | tail -n 1)
		if [ -z "$p" ] || [ -z "$f" ]; then
			layer "soak build-asan" 0 1
		else
			[ $rc -ne 0 ] && [ "$f" = 0 ] && f=1
			layer "soak build-asan" "$p" "$f"
		fi
	else
		layer "soak build-asan" 0 1
	fi
fi

# ---------------------------------------------------------------- 6. fuzz
# every libFuzzer target for FUZZ_SECONDS under ASan+UBSan (clang);
# `tests/fuzz/run.sh 3600` is the longer run, one argument away
if [ "${SKIP_FUZZ:-0}" != 1 ]; then
	log "fuzz: ${FUZZ_SECONDS:=20} s per target"
	out=$(FUZZ_BUILD="$TOP/build-fuzz" timeout 1800 ./tests/fuzz/run.sh "$FUZZ_SECONDS" </dev/null 2>&1)
	rc=$?
	echo "$out" | grep -E '^fuzz' || echo "$out" | tail -n 30
	p=$(echo "$out" | sed -n 's/^fuzz: \([0-9]*\) passed, \([0-9]*\) failed$/\1/p' | tail -n 1)
	f=$(echo "$out" | sed -n 's/^fuzz: \([0-9]*\) passed, \([0-9]*\) failed$/\2/p' | tail -n 1)
	if [ -z "$p" ] || [ -z "$f" ]; then
		echo "$out" | tail -n 30
		layer fuzz 0 1
	else
		[ $rc -ne 0 ] && [ "$f" = 0 ] && f=1
		layer fuzz "$p" "$f"
	fi
fi

echo
echo "=== run-all: summary"
printf '%s' "$SUMMARY"
echo "$TOTAL_PASS passed, $TOTAL_FAIL failed"
[ "$TOTAL_FAIL" -eq 0 ]
