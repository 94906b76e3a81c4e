/* policy/engine_int.h - not written yet */
