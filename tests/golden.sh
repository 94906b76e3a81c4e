#!/bin/sh
# golden.sh - run golden.py with the Debian interpreter (python3-dkim, python3-spf)
exec /usr/bin/python3 "${top_srcdir:-.}/tests/golden.py"
