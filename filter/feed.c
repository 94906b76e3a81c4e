/*
 * NAME
 *	feed - a whole RFC 5322 message (a file's bytes) into the engine
 * SYNOPSIS
 *	#include "feed.h"
 * DESCRIPTION
 *	Splits a message with CRLF or LF line ends into header fields
 *	(folded continuation lines kept, values exactly as after the colon)
 *	and a body fed with CRLF line ends, the way an MTA hands them to a
 *	milter. Used by mailauth-check and by the fuzz targets, so that the
 *	fuzzers exercise this very code.
 * LIMITS
 *	None of its own: the engine bounds what it keeps (ma_limits.h).
 * THREADS
 *	Reentrant.
 * SEE ALSO
 *	check.c, tests/fuzz/fuzz_engine.c
 */
#include "config.h"

#include <string.h>

#include <mailauth/engine.h>
#include "feed.h"

/* line_end - index past the line terminator starting the search at p */
static size_t
line_end(const char *m, size_t len, size_t p, size_t *content_end)
{
	const char *nl = memchr(m + p, '\n', len - p);

	if (nl == NULL) {
		*content_end = len;
		return (len);
	}
	*content_end = (size_t) (nl - m);
	if (*content_end > p && m[*content_end - 1] == '\r')
		(*content_end)--;
	return ((size_t) (nl - m) + 1);
}

/* is_field_name - RFC 5322 ftext: printable, not colon, not space */
static int
is_field_name(const char *p, size_t n)
{
	size_t	i;

	if (n == 0)
		return (0);
	for (i = 0; i < n; i++)
		if ((unsigned char) p[i] < 33 || (unsigned char) p[i] > 126)
			return (0);
	return (1);
}

/*
 * ma_feed_message - header fields, then the body with CRLF line ends.
 * A line that is neither a field nor a continuation ends the header, as
 * Postfix's cleanup treats it.
 */
enum ma_status
ma_feed_message(struct ma_msg *msg, const char *m, size_t len)
{
	size_t	p = 0, next, cend, fstart, vend;
	enum ma_status st;

	while (p < len) {
		const char *colon;

		next = line_end(m, len, p, &cend);
		if (cend == p) {	/* empty line: end of header */
			p = next;
			break;
		}
		colon = memchr(m + p, ':', cend - p);
		if (colon == NULL || !is_field_name(m + p, (size_t) (colon - m) - p))
			break;
		fstart = p;
		vend = cend;
		p = next;
		while (p < len && (m[p] == ' ' || m[p] == '\t')) {
			next = line_end(m, len, p, &cend);
			vend = cend;
			p = next;
		}
		st = ma_msg_header(msg, m + fstart, (size_t) (colon - m) - fstart,
				   colon + 1, vend - (size_t) (colon + 1 - m));
		if (st != MA_OK)
			return (st);
	}
	if ((st = ma_msg_eoh(msg)) != MA_OK)
		return (st);
	while (p < len) {
		static const unsigned char crlf[2] = {'\r', '\n'};

		next = line_end(m, len, p, &cend);
		if ((st = ma_msg_body(msg, (const unsigned char *) m + p, cend - p)) != MA_OK)
			return (st);
		if (next > cend && (st = ma_msg_body(msg, crlf, 2)) != MA_OK)
			return (st);
		p = next;
	}
	return (MA_OK);
}

