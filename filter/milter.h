/* filter/milter.h - not written yet */
