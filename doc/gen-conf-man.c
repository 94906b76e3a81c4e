/*
 * gen-conf-man - print mailauthd.conf(5) from the configuration key table,
 * so that the manual cannot drift from the parser (run at build time).
 */
#include "config.h"

#include <stdio.h>

#include "cfg.h"
#include "config_compat.h"

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
	printf(".SH OPENDKIM AND OPENDMARC KEYS\n"
	       "An\n.I opendkim.conf\nor\n.I opendmarc.conf\n"
	       "can be given to\n.B mailauthd \\-c\nas it is (several\n"
	       ".B \\-c\nfiles are read in turn; a key an earlier file set "
	       "keeps its value). Keys with the same name as ours above mean "
	       "the same. Every other key those daemons document is listed "
	       "here: used as one of ours, ignored (\\fBmailauthd \\-n\\fP\n"
	       "prints a note with the reason), or refused where ignoring it "
	       "could reject or hold mail the old chain accepted.\n"
	       "Unknown keys are errors.\n.PP\n"
	       "Where a file has keys only that daemon has, the keys it leaves "
	       "out keep that daemon's default where it differs from ours:\n");
	{
		const struct ma_compat_default *d;

		for (d = ma_compat_defaults; d->key != NULL; d++)
			printf(".TP\n.B %s %s\n%s\n", d->key, d->value, d->why);
	}
	printf(".PP\nThe keys:\n");
	ma_compat_print_man(stdout);
	printf(".SH EXAMPLE\n.nf\nSocket inet:8891@127.0.0.1\nAuthservID mx.example.net\n"
	       "RejectFailures yes\nInternalHosts 127.0.0.0/8, ::1, 192.0.2.0/24\n.fi\n"
	       ".SH SEE ALSO\n.BR mailauthd (8),\n.BR mailauth-check (1)\n");
	return (0);
}
