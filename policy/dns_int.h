/* policy/dns_int.h - not written yet */
