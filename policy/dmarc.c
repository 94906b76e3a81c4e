/* policy/dmarc.c - not written yet */
