#!/bin/sh
# dns_faults.sh - SPF/DKIM/DMARC under DNS faults (tests/faults/dns_faults.py)
# against tests/faults/fault_dns.py; skipped (77) without python3-dnslib.
/usr/bin/python3 -c 'import dnslib, dkim' 2>/dev/null || {
	echo "SKIP dns_faults: python3-dnslib or python3-dkim missing"; exit 77; }
exec /usr/bin/python3 "${top_srcdir:-.}/tests/faults/dns_faults.py"
