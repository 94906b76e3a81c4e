/*
 * config_int.h - what config.c (key table, values) shares with
 * config_load.c (files, foreign keys, notes); not for other files
 */
#ifndef MA_CONFIG_INT_H
#define MA_CONFIG_INT_H

#include <stddef.h>

#include "cfg.h"

#define MA_CONFIG_KEYS_MAX	96	/* room in struct config_priv */

enum key_type { T_STR, T_BOOL, T_UINT, T_MSEC, T_LIST, T_REPEAT, T_CIDRS,
	T_ACTION, T_FACILITY };

struct ma_config_key {
	const char *name;
	enum key_type type;
	const char *def;		/* default as text, NULL: unset */
	const char *help;		/* one line for the man page and -n -v */
	unsigned max;			/* T_UINT/T_MSEC upper bound */
};

/* the key table (config.c), in mailauthd.conf(5) order */
extern const struct ma_config_key ma_config_keys[];
extern const size_t ma_config_n_keys;

/* per-configuration state behind struct ma_config */
struct config_priv {
	struct ma_config pub;
	char   *raw[MA_CONFIG_KEYS_MAX];		/* effective value text */
	unsigned seen[MA_CONFIG_KEYS_MAX];		/* file number (from 1) that set it */
	char   *origin[MA_CONFIG_KEYS_MAX];		/* "file:line" of that, or a default's */
	char  **notes;			/* -n: keys ignored, with the reason */
	size_t	n_notes;
};

#define PRIV(c)	((struct config_priv *) (c))

/* ma_config_find_key - table index of a key name (any case), or -1 */
int	ma_config_find_key(const char *name);

/*
 * ma_config_set_key - check value and store it for key k (raw text
 * kept); append: a repeatable key adds to what is there
 */
enum ma_status ma_config_set_key(struct ma_config *c, int k, const char *value,
				 int append, char *err, size_t errlen);

/* ma_config_free_vec - free a NULL-terminated vector, clear *vp */
void	ma_config_free_vec(char ***vp);

#endif
