/* filter/json_out.c - not written yet */
