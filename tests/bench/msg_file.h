/*
 * msg_file.h - a message file as an MTA hands it to a milter
 *
 * Header fields split (continuation lines joined with LF), body with
 * CRLF line ends. Used by milter_load.c; see msg_file.c.
 */
#ifndef MSG_FILE_H
#define MSG_FILE_H

#include <stddef.h>

#define MSG_FILE_MAX	(64L * 1024 * 1024)	/* bytes per file */
#define MSG_FIELDS_MAX	10000			/* header fields per file */

struct msg_field {
	char   *name;
	size_t	nlen;
	char   *value;			/* as after the colon; folds as LF */
	size_t	vlen;
};

struct msg_file {
	const char *path;		/* set by the caller; borrowed */
	struct msg_field *f;
	size_t	nf;
	char   *body;			/* CRLF lines */
	size_t	blen;
};

extern int msg_file_load(struct msg_file *m);
extern void msg_file_free(struct msg_file *m);

#endif
