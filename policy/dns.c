/* policy/dns.c - not written yet */
