/* policy/dkim_verify.c - not written yet */
