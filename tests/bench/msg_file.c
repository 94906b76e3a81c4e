/*
 * NAME
 *	msg_file - a message file as an MTA hands it to a milter
 * SUMMARY
 *	header fields and a CRLF body from a .eml file
 * SYNOPSIS
 *	#include "msg_file.h"
 *
 *	struct msg_file m = {.path = "msg.eml"};
 *	if (msg_file_load(&m) == 0) { ... m.f[i], m.body ... }
 *	msg_file_free(&m);
 * DESCRIPTION
 *	msg_file_load() reads the file (LF or CRLF line ends). The header
 *	ends at the first empty line (or at the end of the file). A line
 *	starting with a space or tab continues the previous field and is
 *	joined to it with LF, as Postfix hands folded fields to milters;
 *	any other line must be "name: value" (white space before the
 *	colon is dropped from the name); the value is kept exactly as
 *	after the colon, its leading white space included. The body is the
 *	rest with every line ended by CRLF, as milters receive it.
 * MEMORY
 *	Fields, names, values and the body are malloc'ed, owned by the
 *	struct and released by msg_file_free(), which may be called after
 *	a failed load. path is borrowed.
 * LIMITS
 *	MSG_FILE_MAX bytes per file, MSG_FIELDS_MAX header fields.
 * DIAGNOSTICS
 *	-1 on a read error, a line that is no header field, a limit or no
 *	memory; the reason ("path:line: what") is written to stderr.
 * THREADS
 *	Load before starting threads; read-only afterwards.
 * STANDARDS
 *	RFC 5322 2.2 (header fields), 2.2.3 (folding); Postfix
 *	MILTER_README (what milters receive).
 * SEE ALSO
 *	milter_load.c, mta_proto.c
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "msg_file.h"

/* read_file - the whole file, NUL-terminated; NULL with a message */
static char *
read_file(const char *path, size_t *len_out)
{
	struct stat st;
	char   *buf;
	ssize_t	r;
	size_t	got = 0;
	int	fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) < 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		if (fd >= 0)
			(void) close(fd);
		return (NULL);
	}
	if (st.st_size > MSG_FILE_MAX || (buf = malloc((size_t) st.st_size + 1))
	    == NULL) {
		fprintf(stderr, "%s: too large\n", path);
		(void) close(fd);
		return (NULL);
	}
	while (got < (size_t) st.st_size &&
	       (r = read(fd, buf + got, (size_t) st.st_size - got)) > 0)
		got += (size_t) r;
	(void) close(fd);
	buf[got] = '\0';
	*len_out = got;
	return (buf);
}

/* line_end - end of the line at p (before CR LF / LF), next line in *next */
static const char *
line_end(const char *p, const char *end, const char **next)
{
	const char *nl = memchr(p, '\n', (size_t) (end - p));
	const char *e = nl != NULL ? nl : end;

	*next = nl != NULL ? nl + 1 : end;
	if (e > p && e[-1] == '\r')
		e--;
	return (e);
}

/* add_field - a new field from one header line "name: value" */
static int
add_field(struct msg_file *m, const char *p, const char *e, unsigned lineno)
{
	const char *colon = memchr(p, ':', (size_t) (e - p));
	const char *ne;
	struct msg_field *f;

	if (colon == NULL || colon == p) {
		fprintf(stderr, "%s:%u: not a header field\n",
			m->path, lineno);
		return (-1);
	}
	if (m->nf >= MSG_FIELDS_MAX) {
		fprintf(stderr, "%s: more than %d fields\n",
			m->path, MSG_FIELDS_MAX);
		return (-1);
	}
	for (ne = colon; ne > p && (ne[-1] == ' ' || ne[-1] == '\t'); ne--)
		;
	f = &m->f[m->nf++];
	f->nlen = (size_t) (ne - p);
	f->vlen = (size_t) (e - colon - 1);
	if ((f->name = strndup(p, f->nlen)) == NULL ||
	    (f->value = malloc(f->vlen + 1)) == NULL)
		return (-1);
	memcpy(f->value, colon + 1, f->vlen);
	f->value[f->vlen] = '\0';
	return (0);
}

/* fold_field - a continuation line: append LF and the line to the last */
static int
fold_field(struct msg_file *m, const char *p, const char *e, unsigned lineno)
{
	struct msg_field *f;
	size_t	n = (size_t) (e - p);
	char   *v;

	if (m->nf == 0) {
		fprintf(stderr, "%s:%u: continuation line "
			"without a field\n", m->path, lineno);
		return (-1);
	}
	f = &m->f[m->nf - 1];
	if ((v = realloc(f->value, f->vlen + n + 2)) == NULL)
		return (-1);
	v[f->vlen] = '\n';
	memcpy(v + f->vlen + 1, p, n);
	f->vlen += n + 1;
	v[f->vlen] = '\0';
	f->value = v;
	return (0);
}

/* set_body - the rest of the file with every line ending CRLF */
static int
set_body(struct msg_file *m, const char *p, const char *end)
{
	size_t	n = 0;
	const char *q;

	if ((m->body = malloc(2 * (size_t) (end - p) + 1)) == NULL)
		return (-1);
	for (q = p; q < end; q++) {
		if (*q == '\n' && (q == p || q[-1] != '\r'))
			m->body[n++] = '\r';
		m->body[n++] = *q;
	}
	m->blen = n;
	return (0);
}

/* msg_file_load - header fields and CRLF body of m->path (set by caller) */
int
msg_file_load(struct msg_file *m)
{
	const char *p, *e, *next, *end, *body;
	char   *raw;
	size_t	len;
	unsigned lineno = 0;
	int	rc = 0;

	if ((raw = read_file(m->path, &len)) == NULL)
		return (-1);
	if ((m->f = calloc(MSG_FIELDS_MAX, sizeof(*m->f))) == NULL) {
		free(raw);
		return (-1);
	}
	body = end = raw + len;
	for (p = raw; p < end && rc == 0; p = next) {
		e = line_end(p, end, &next);
		lineno++;
		if (e == p) {		/* the empty line: body follows */
			body = next;
			break;
		}
		if (*p == ' ' || *p == '\t')
			rc = fold_field(m, p, e, lineno);
		else
			rc = add_field(m, p, e, lineno);
	}
	if (rc == 0)
		rc = set_body(m, body, end);
	free(raw);
	return (rc);
}

/* msg_file_free - release what msg_file_load made; path stays */
void
msg_file_free(struct msg_file *m)
{
	size_t	i;

	if (m->f != NULL)
		for (i = 0; i < m->nf; i++) {
			free(m->f[i].name);
			free(m->f[i].value);
		}
	free(m->f);
	free(m->body);
	m->f = NULL;
	m->body = NULL;
	m->nf = m->blen = 0;
}
