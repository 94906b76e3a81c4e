/* policy/rfc5322.c - not written yet */
