/* policy/spf_record.c - not written yet */
