#!/bin/bash
# NAME
#	migrate.sh - Debian's opendkim.conf/opendmarc.conf run by mailauthd
# SYNOPSIS
#	tests/migrate.sh [BUILD_DIR]	(make check: top_builddir)
# DESCRIPTION
#	Runs tests/migrate.py with Debian's python3 (python3-dkim is the
#	independent verifier): the shipped files load as they are, and the
#	real opendkim and mailauthd, given the same adjusted copies, sign
#	and verify alike. See tests/migrate.py for the cases.
TOP=${top_srcdir:-$(cd "$(dirname "$0")/.." && pwd)}
BUILD=${1:-${top_builddir:-$(pwd)}}
exec /usr/bin/python3 "$TOP/tests/migrate.py" "$(cd "$BUILD" && pwd)" "$TOP"
