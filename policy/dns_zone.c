/* policy/dns_zone.c - not written yet */
