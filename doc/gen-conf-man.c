/*
 * gen-conf-man - print mailauthd.conf(5) from the configuration key table,
 * so that the manual cannot drift from the parser (run at build time).
 */
#include "config.h"

#include <stdio.h>

#include "cfg.h"

int
main(void)
{
	printf(".TH MAILAUTHD.CONF 5 \"2026\" \"mailauthd " PACKAGE_VERSION "\"\n"
	       ".SH NAME\nmailauthd.conf \\- mailauthd configuration file\n"
	       ".SH DESCRIPTION\n"
	       "One setting per line: a key, white space, the value. Keys are\n"
	       "case-insensitive. A line starting with # (or # after white space)\n"
	       "is a comment. Unknown keys, bad values and a key given twice\n"
	       "(except repeatable ones) are errors that name the file and line;\n"
	       ".B mailauthd -n\nchecks a file and exits.\n"
	       ".SH KEYS\n");
	ma_config_print_man(stdout);
	printf(".SH EXAMPLE\n.nf\nSocket inet:8891@127.0.0.1\nAuthservID mx.example.net\n"
	       "RejectFailures yes\nInternalHosts 127.0.0.0/8, ::1, 192.0.2.0/24\n.fi\n"
	       ".SH SEE ALSO\n.BR mailauthd (8),\n.BR mailauth-check (1)\n");
	return (0);
}
