/* policy/verdict.c - not written yet */
