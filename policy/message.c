/* policy/message.c - not written yet */
