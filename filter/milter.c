/* filter/milter.c - not written yet */
