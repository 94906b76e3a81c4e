/*
 * config_compat.h - opendkim.conf/opendmarc.conf keys (config_compat.c)
 */
#ifndef MA_CONFIG_COMPAT_H
#define MA_CONFIG_COMPAT_H

#include <stdio.h>

#include "ma_limits.h"

#define MA_DIALECT_OPENDKIM	1u
#define MA_DIALECT_OPENDMARC	2u

enum ma_compat_kind {
	MA_COMPAT_UNKNOWN,		/* in neither daemon: an error */
	MA_COMPAT_SET,			/* set native to value */
	MA_COMPAT_IGNORE,		/* means nothing here; why says so */
	MA_COMPAT_ERROR,		/* unsupported; why says what to do */
	MA_COMPAT_INCLUDE,		/* read value as a file */
	MA_COMPAT_DEFAULT_ACTION	/* On-Default: value for the On-* keys */
};

struct ma_compat_result {
	enum ma_compat_kind kind;
	const char *name;		/* the key as documented */
	unsigned dialect;		/* MA_DIALECT_* bits of the key */
	const char *native;		/* MA_COMPAT_SET: our key */
	char	value[MA_LIMIT_CONFIG_LINE + 1];
	const char *why;		/* reason or note; may be NULL */
};

/* a default of the other daemon that differs from ours */
struct ma_compat_default {
	unsigned dialect;		/* 0 ends the table */
	const char *key;		/* our key */
	const char *value;
	const char *why;
};

extern const struct ma_compat_default ma_compat_defaults[];

/* ma_compat_print_man - roff list of every foreign key (mailauthd.conf(5)) */
void	ma_compat_print_man(FILE *fp);

/* ma_compat_translate - fill r for an OpenDKIM/OpenDMARC key */
void	ma_compat_translate(const char *key, const char *value,
			    struct ma_compat_result *r);

#endif
