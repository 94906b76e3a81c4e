/* policy/authres.c - not written yet */
