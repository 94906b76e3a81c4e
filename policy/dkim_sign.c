/*
 * NAME
 *	dkim_sign - DKIM signing of one message with one key (libopendkim)
 * SUMMARY
 *	Fed the header fields and body like the verifier, returns the value
 *	of a DKIM-Signature field.
 * SYNOPSIS
 *	#include <mailauth/sign.h>
 * DESCRIPTION
 *	ma_dkim_sign_start() asks the key store (keystore.c) for a
 *	libopendkim signing handle, so that the key bytes stay there, then
 *	ma_dkim_sign_header() per field, ma_dkim_sign_eoh(),
 *	ma_dkim_sign_body() per chunk, ma_dkim_sign_eom().
 *
 *	What the signature holds: c= from the options (header_relaxed,
 *	body_relaxed; no options: relaxed/relaxed); a= from the key; t=
 *	always (opt->now or the clock); x= = t= + expire_secs when that is
 *	not 0; no l=; no i= (the verifier assumes @d=, RFC 6376 3.5; as
 *	OpenDKIM without SignerIdentity); no q= (dns/txt is the default).
 *	h= names the fields present in the message whose names are in the
 *	sign list (NULL: DEFAULT_SIGN below, the RFC 6376 5.4.1 set plus
 *	Sender, Message-ID, the MIME fields, Resent-Sender/-Message-ID and
 *	List-Unsubscribe-Post (RFC 8058 3.1 wants it signed)), each as
 *	often as it occurs, in header order; From is always signed. Then
 *	each name of the oversign list (NULL: "From") once more, so that a
 *	field of that name added later breaks the signature (RFC 6376
 *	8.15). Tag order and folding are libopendkim's: "v= a= c= d= s= t=
 *	[x=] bh= h= b=", folded at 75 columns with CRLF + tab.
 *
 *	The body is taken as given (CRLF line ends). A body that does not
 *	end with CRLF gets one at eom: RFC 6376 3.4.3 and 3.4.4 add it in
 *	the canonical form anyway, and libopendkim 2.11 refuses such a body
 *	otherwise ("CRLF at end of body missing").
 * MEMORY
 *	The signer and the returned value live in the message arena. The
 *	libopendkim handle (and a private library handle, when the key
 *	store gave one) is released by a cleanup registered on the arena.
 * LIMITS
 *	MA_LIMIT_HEADER_FIELDS fields, MA_LIMIT_HEADER_FIELD_BYTES per
 *	field, MA_LIMIT_SIGN_HEADERS names per sign or oversign list.
 * DIAGNOSTICS
 *	MA_OK; ma_dkim_sign_header: MA_ERR_LIMIT (too many fields, field too
 *	long) and MA_ERR_SYNTAX (NUL byte, no colon): the field was not fed
 *	and is not signed; the caller should then leave the message
 *	unsigned if the field is delivered. ma_dkim_sign_start:
 *	MA_ERR_SYNTAX for a header name list with other than letters,
 *	digits and '-'. ma_dkim_sign_eoh: MA_ERR_SYNTAX when libopendkim
 *	refuses the header (no From). MA_ERR_NOMEM; MA_ERR_INTERNAL for
 *	calls out of order or a library failure. libopendkim's error text
 *	is logged at debug level; no key material is ever logged.
 * THREADS
 *	A signer is used by one thread at a time; many signers share the key
 *	store and its library handles.
 * STANDARDS
 *	RFC 6376 (3.4 canonicalization, 3.5 tags, 5.4 header selection,
 *	8.15 oversigning), RFC 8301, RFC 8463, RFC 8058 3.1.
 * SEE ALSO
 *	keystore.c, sign_int.h, dkim_verify.c, libopendkim dkim_sign(3),
 *	dkim_signhdrs(3), dkim_getsighdr_d(3).
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <dkim.h>

#include <mailauth/arena.h>
#include <mailauth/log.h>
#include <mailauth/sign.h>

#include "ma_limits.h"
#include "sign_int.h"

#define SIG_NAME_LEN	(sizeof("DKIM-Signature: ") - 1)

/* RFC 6376 5.4.1 plus the fields named in DESCRIPTION. */
static const char *const DEFAULT_SIGN[] = {
	"from", "sender", "reply-to", "subject", "date", "message-id", "to",
	"cc", "mime-version", "content-type", "content-transfer-encoding",
	"content-id", "content-description", "resent-date", "resent-from",
	"resent-sender", "resent-to", "resent-cc", "resent-message-id",
	"in-reply-to", "references", "list-id", "list-help",
	"list-unsubscribe", "list-unsubscribe-post", "list-subscribe",
	"list-post", "list-owner", "list-archive", NULL
};

static const char *const DEFAULT_OVERSIGN[] = {"from", NULL};

enum { ST_HEADER, ST_BODY, ST_DONE };

struct ma_dkim_signer {
	struct ma_arena *arena;
	DKIM   *dkim;
	DKIM_LIB *own_lib;
	int	state;
	int	simple_hdr;		/* c= header simple: we fold b= */
	size_t	n_fields;
	size_t	body_len;
	unsigned char tail[2];		/* last two body bytes */
};

/* sign_cleanup - arena cleanup: the handle, then a private library */
static void
sign_cleanup(void *arg)
{
	struct ma_dkim_signer *s = arg;

	if (s->dkim != NULL)
		dkim_free(s->dkim);
	s->dkim = NULL;
	ma_keystore_lib_close(s->own_lib);
	s->own_lib = NULL;
}

/* name_list - lower-case arena copy of a name list (from added if want) */
static enum ma_status
name_list(struct ma_arena *a, const char *const *in, int add_from,
	  const char ***out)
{
	const char **l;
	size_t	n = 0, k = 0;
	int	has_from = 0;

	while (in[n] != NULL)
		n++;
	if (n > MA_LIMIT_SIGN_HEADERS)
		return (MA_ERR_LIMIT);
	if ((l = ma_arena_calloc(a, n + 2, sizeof(*l))) == NULL)
		return (MA_ERR_NOMEM);
	for (size_t i = 0; i < n; i++) {
		size_t	len = strlen(in[i]);
		char   *c;

		if (len == 0 || len > 128)
			return (MA_ERR_SYNTAX);
		if ((c = ma_arena_memdup(a, in[i], len)) == NULL)
			return (MA_ERR_NOMEM);
		for (size_t j = 0; j < len; j++) {
			if (!isalnum((unsigned char) c[j]) && c[j] != '-')
				return (MA_ERR_SYNTAX);
			c[j] = (char) tolower((unsigned char) c[j]);
		}
		has_from |= strcmp(c, "from") == 0;
		l[k++] = c;
	}
	if (add_from && !has_from)
		l[k++] = "from";
	l[k] = NULL;
	*out = l;
	return (MA_OK);
}

/* ma_dkim_sign_start - a signer for one key */
enum ma_status
ma_dkim_sign_start(const struct ma_keystore *ks,
		   const struct ma_sign_key *key,
		   const struct ma_dkim_sign_options *opt,
		   struct ma_arena *arena, struct ma_dkim_signer **out)
{
	struct ma_dkim_sign_options dflt = {1, 1, NULL, NULL, 0, 0};
	const char **sign, **over;
	struct ma_dkim_signer *s;
	enum ma_status st;
	DKIM_STAT ds = DKIM_STAT_OK;

	*out = NULL;
	if (ks == NULL || key == NULL || arena == NULL)
		return (MA_ERR_INTERNAL);
	if (opt == NULL)
		opt = &dflt;
	st = name_list(arena, opt->sign_headers ? opt->sign_headers
		       : DEFAULT_SIGN, 1, &sign);
	if (st == MA_OK)
		st = name_list(arena, opt->oversign_headers
			       ? opt->oversign_headers : DEFAULT_OVERSIGN, 0,
			       &over);
	if (st != MA_OK)
		return (st);
	if ((s = ma_arena_alloc(arena, sizeof(*s))) == NULL)
		return (MA_ERR_NOMEM);
	s->arena = arena;
	s->dkim = ma_keystore_dkim_sign(ks, key, opt->header_relaxed,
					opt->body_relaxed, opt->now,
					opt->expire_secs, over, &s->own_lib,
					&ds);
	if (s->dkim == NULL)
		return (ds == DKIM_STAT_NORESOURCE ? MA_ERR_NOMEM
			: MA_ERR_INTERNAL);
	if (ma_arena_cleanup(arena, sign_cleanup, s) != 0) {
		sign_cleanup(s);
		return (MA_ERR_NOMEM);
	}
	/*
	 * libopendkim 2.11 folds the field it hashes (b= empty) and the one
	 * it returns (b= filled) apart: with simple header
	 * canonicalization the empty "b=" may share a line the filled one
	 * does not, and the signature fails (seen with Ed25519). So no
	 * folding by the library there; we fold inside the b= value,
	 * which the verifier deletes (RFC 6376 3.7).
	 */
	s->simple_hdr = !opt->header_relaxed;
	if (s->simple_hdr && dkim_set_margin(s->dkim, 0) != DKIM_STAT_OK)
		return (MA_ERR_INTERNAL);
	/* libopendkim keeps the list; it lives in the arena as we do. */
	if (dkim_signhdrs(s->dkim, sign) != DKIM_STAT_OK)
		return (MA_ERR_INTERNAL);
	*out = s;
	return (MA_OK);
}

/* ma_dkim_sign_header - one header field "Name:value" */
enum ma_status
ma_dkim_sign_header(struct ma_dkim_signer *s, const char *field, size_t len)
{
	DKIM_STAT ds;

	if (s == NULL || s->state != ST_HEADER || (field == NULL && len))
		return (MA_ERR_INTERNAL);
	if (s->n_fields >= MA_LIMIT_HEADER_FIELDS
	    || len > MA_LIMIT_HEADER_FIELD_BYTES)
		return (MA_ERR_LIMIT);
	if (len == 0 || memchr(field, 0, len) != NULL
	    || memchr(field, ':', len) == NULL)
		return (MA_ERR_SYNTAX);
	s->n_fields++;
	ds = dkim_header(s->dkim, (unsigned char *) field, len);
	if (ds == DKIM_STAT_NORESOURCE)
		return (MA_ERR_NOMEM);
	if (ds != DKIM_STAT_OK) {
		if (ma_log_enabled(MA_LOG_DEBUG))
			ma_log(MA_LOG_DEBUG, "dkim sign: header field "
			       "refused: %s", dkim_getresultstr(ds));
		return (MA_ERR_SYNTAX);
	}
	return (MA_OK);
}

/* ma_dkim_sign_eoh - end of header */
enum ma_status
ma_dkim_sign_eoh(struct ma_dkim_signer *s)
{
	DKIM_STAT ds;

	if (s == NULL || s->state != ST_HEADER)
		return (MA_ERR_INTERNAL);
	s->state = ST_BODY;
	ds = dkim_eoh(s->dkim);
	if (ds == DKIM_STAT_OK)
		return (MA_OK);
	s->state = ST_DONE;
	if (ma_log_enabled(MA_LOG_DEBUG))
		ma_log(MA_LOG_DEBUG, "dkim sign: eoh: %s",
		       dkim_getresultstr(ds));
	return (ds == DKIM_STAT_NORESOURCE ? MA_ERR_NOMEM : MA_ERR_SYNTAX);
}

/* ma_dkim_sign_body - body bytes, CRLF line ends */
enum ma_status
ma_dkim_sign_body(struct ma_dkim_signer *s, const unsigned char *p,
		  size_t len)
{
	DKIM_STAT ds;

	if (s == NULL || s->state != ST_BODY || (p == NULL && len))
		return (MA_ERR_INTERNAL);
	if (len == 0)
		return (MA_OK);
	if (len >= 2) {
		s->tail[0] = p[len - 2];
		s->tail[1] = p[len - 1];
	} else {
		s->tail[0] = s->tail[1];
		s->tail[1] = p[0];
	}
	s->body_len += len;
	ds = dkim_body(s->dkim, (unsigned char *) p, len);
	if (ds != DKIM_STAT_OK) {
		s->state = ST_DONE;
		return (ds == DKIM_STAT_NORESOURCE ? MA_ERR_NOMEM
			: MA_ERR_INTERNAL);
	}
	return (MA_OK);
}

/*
 * render - arena copy of the library's field value v: every bare LF made
 * CRLF; with fold_b (an unfolded value), the b= value folded every
 * B_FOLD characters with CRLF + tab + space.
 */
#define B_FOLD	64

static char *
render(struct ma_arena *a, const unsigned char *v, size_t len, int fold_b)
{
	size_t	n = 0, j = 0, bstart = len, col = 0;
	char   *o;

	for (size_t i = 0; i < len; i++)
		n += (v[i] == '\n' && (i == 0 || v[i - 1] != '\r'));
	if (fold_b) {
		for (size_t i = len; i >= 2; i--)
			if (v[i - 2] == 'b' && v[i - 1] == '='
			    && (i == 2 || v[i - 3] == ' ' || v[i - 3] == ';'
				|| v[i - 3] == '\t')) {
				bstart = i;
				break;
			}
		n += 4 * (len - bstart) / B_FOLD + 4;
	}
	if ((o = ma_arena_alloc(a, len + n + 1)) == NULL)
		return (NULL);
	for (size_t i = 0; i < len; i++) {
		if (i >= bstart && col == B_FOLD) {
			memcpy(o + j, "\r\n\t ", 4);
			j += 4;
			col = 0;
		}
		if (v[i] == '\n' && (i == 0 || v[i - 1] != '\r'))
			o[j++] = '\r';
		o[j++] = (char) v[i];
		col += (i >= bstart);
	}
	o[j] = 0;
	return (o);
}

/* ma_dkim_sign_eom - the DKIM-Signature field value */
enum ma_status
ma_dkim_sign_eom(struct ma_dkim_signer *s, const char **value_out)
{
	static unsigned char crlf[] = "\r\n";
	unsigned char *hdr = NULL;
	size_t	hlen = 0;
	DKIM_STAT ds;

	*value_out = NULL;
	if (s == NULL || s->state != ST_BODY)
		return (MA_ERR_INTERNAL);
	s->state = ST_DONE;
	if (s->body_len > 0 && !(s->tail[0] == '\r' && s->tail[1] == '\n')
	    && dkim_body(s->dkim, crlf, 2) != DKIM_STAT_OK)
		return (MA_ERR_INTERNAL);
	ds = dkim_eom(s->dkim, NULL);
	if (ds == DKIM_STAT_OK)
		ds = dkim_getsighdr_d(s->dkim, SIG_NAME_LEN, &hdr, &hlen);
	if (ds != DKIM_STAT_OK || hdr == NULL) {
		if (ma_log_enabled(MA_LOG_DEBUG))
			ma_log(MA_LOG_DEBUG, "dkim sign: eom: %s: %s",
			       dkim_getresultstr(ds),
			       dkim_geterror(s->dkim) ? dkim_geterror(s->dkim)
			       : "");
		return (ds == DKIM_STAT_NORESOURCE ? MA_ERR_NOMEM
			: MA_ERR_INTERNAL);
	}
	if ((*value_out = render(s->arena, hdr, hlen, s->simple_hdr)) == NULL)
		return (MA_ERR_NOMEM);
	return (MA_OK);
}
