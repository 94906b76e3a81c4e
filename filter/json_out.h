/* filter/json_out.h - not written yet */
