/* policy/dmarc_record.c - not written yet */
