/* policy/engine.c - not written yet */
