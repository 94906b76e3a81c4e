#!/bin/sh
# sign_matrix.sh - run sign_matrix.py with the Debian interpreter (python3-dkim)
# and Perl Mail::DKIM (tests/sign_verify.pl) as the two independent verifiers
exec /usr/bin/python3 "${top_srcdir:-.}/tests/sign_matrix.py"
