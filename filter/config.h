/* filter/config.h - not written yet */
