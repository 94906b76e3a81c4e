/* filter/config.c - not written yet */
