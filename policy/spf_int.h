/* policy/spf_int.h - not written yet */
