/* policy/spf.c - not written yet */
