#!/bin/sh
# hostile.sh - run hostile.py with the Debian interpreter (python3-dnslib)
exec /usr/bin/python3 "${top_srcdir:-.}/tests/hostile.py"
