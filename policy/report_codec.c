/*
 * NAME
 *	report_codec - report rows as encoded text columns and spool lines
 * SUMMARY
 *	One encoding of struct ma_report_row shared by both database
 *	backends and the spool file, so that every row round-trips exactly.
 * SYNOPSIS
 *	#include "report_int.h"
 * DESCRIPTION
 *	ma_report_encode() makes MA_REPORT_NCOLS columns: the uid, "when"
 *	and "testing" in decimal, every string percent-encoded (bytes <=
 *	0x20, >= 0x7f, '%', ',' and ';' become %XX with upper-case hex), the
 *	DKIM results as "domain,selector,result,human;..." and the SPF
 *	results as "domain,scope,result;..." ("" for none). A string is
 *	taken up to its first NUL or the end of its fixed field, whichever
 *	comes first; ma_report_decode() gives back the same bytes.
 *
 *	A spool line is "MA1", TAB, the columns separated by TAB, TAB, the
 *	FNV-1a 32-bit checksum of everything before that last TAB in 8 hex
 *	digits, then "\n". A line that is cut short (crash while writing)
 *	or altered fails the checksum and is rejected as a whole.
 * MEMORY
 *	No allocation: callers pass the buffers (struct ma_report_enc).
 * LIMITS
 *	Values longer than their fixed field and lists longer than
 *	MA_REPORT_MAX_DKIM/MA_REPORT_MAX_SPF are refused by the decoder
 *	(MA_ERR_LIMIT), never truncated.
 * DIAGNOSTICS
 *	Statuses only; nothing is logged here (callers log what they skip).
 * THREADS
 *	Reentrant.
 * STANDARDS
 *	RFC 9990 (aggregate report fields); RFC 3986 2.1 (percent-encoding).
 * SEE ALSO
 *	report_int.h, report_store.c, report_sqlite.c, report_pgsql.c.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "report_int.h"

/* One plain string column: its place in struct ma_report_row. */
struct strcol {
	enum ma_report_col col;
	size_t	off;
	size_t	size;
};

#define STRCOL(c, f) { c, offsetof(struct ma_report_row, f), \
	sizeof(((struct ma_report_row *)0)->f) }

static const struct strcol strcols[] = {
	STRCOL(MA_RC_REPORTER, reporter),
	STRCOL(MA_RC_SOURCE_IP, source_ip),
	STRCOL(MA_RC_HEADER_FROM, header_from),
	STRCOL(MA_RC_ENVELOPE_FROM, envelope_from),
	STRCOL(MA_RC_ENVELOPE_TO, envelope_to),
	STRCOL(MA_RC_POLICY_DOMAIN, policy_domain),
	STRCOL(MA_RC_P, p),
	STRCOL(MA_RC_SP, sp),
	STRCOL(MA_RC_NP, np),
	STRCOL(MA_RC_ADKIM, adkim),
	STRCOL(MA_RC_ASPF, aspf),
	STRCOL(MA_RC_DISCOVERY, discovery),
	STRCOL(MA_RC_RUA, rua),
	STRCOL(MA_RC_DMARC_RESULT, dmarc_result),
	STRCOL(MA_RC_DISPOSITION, disposition),
	STRCOL(MA_RC_DKIM_ALIGNED, dkim_aligned),
	STRCOL(MA_RC_SPF_ALIGNED, spf_aligned),
	STRCOL(MA_RC_OVERRIDE, override),
	STRCOL(MA_RC_OVERRIDE_COMMENT, override_comment),
};
#define N_STRCOLS (sizeof(strcols) / sizeof(strcols[0]))

static const char hexdig[] = "0123456789ABCDEF";

/* needs_escape - whether byte c is written as %XX */
static inline int
needs_escape(unsigned char c)
{
	return c <= 0x20 || c >= 0x7f || c == '%' || c == ',' || c == ';';
}

/* enc_bytes - percent-encode n bytes of s at dst; returns bytes written */
static size_t
enc_bytes(char *dst, const char *s, size_t n)
{
	size_t	i, o = 0;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (needs_escape(c)) {
			dst[o++] = '%';
			dst[o++] = hexdig[c >> 4];
			dst[o++] = hexdig[c & 15];
		} else
			dst[o++] = (char)c;
	}
	return o;
}

/* enc_field - encode a fixed-size field (up to its NUL or its end) */
static size_t
enc_field(char *dst, const char *field, size_t size)
{
	return enc_bytes(dst, field, strnlen(field, size - 1));
}

/* ma_report_str_encode - percent-encode s into dst (3*strlen+1 bytes) */
size_t
ma_report_str_encode(char *dst, const char *s)
{
	size_t	n = enc_bytes(dst, s, strlen(s));

	dst[n] = '\0';
	return n;
}

/* hexval - value of one hex digit, -1 if none */
static inline int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* dec_field - decode len bytes of p into a fixed field of size bytes */
static enum ma_status
dec_field(const char *p, size_t len, char *field, size_t size)
{
	size_t	i, o = 0;

	for (i = 0; i < len; i++) {
		int	c = (unsigned char)p[i];

		if (c == '%') {
			int	hi, lo;

			if (len - i < 3)
				return MA_ERR_SYNTAX;
			hi = hexval(p[i + 1]);
			lo = hexval(p[i + 2]);
			if (hi < 0 || lo < 0)
				return MA_ERR_SYNTAX;
			c = hi << 4 | lo;
			if (c == 0)
				return MA_ERR_SYNTAX;
			i += 2;
		} else if (needs_escape((unsigned char)c))
			return MA_ERR_SYNTAX;
		if (o + 1 >= size)
			return MA_ERR_LIMIT;
		field[o++] = (char)c;
	}
	field[o] = '\0';
	return MA_OK;
}

/* dec_number - a decimal long long in [min, max] from len bytes */
static enum ma_status
dec_number(const char *p, size_t len, long long min, long long max,
	   long long *out)
{
	char	tmp[24], *end;
	long long v;

	if (len == 0 || len >= sizeof(tmp))
		return MA_ERR_SYNTAX;
	memcpy(tmp, p, len);
	tmp[len] = '\0';
	if (tmp[0] != '-' && (tmp[0] < '0' || tmp[0] > '9'))
		return MA_ERR_SYNTAX;
	errno = 0;
	v = strtoll(tmp, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return MA_ERR_SYNTAX;
	*out = v;
	return MA_OK;
}

/* put_col - end column col at o in e->buf; returns the next offset */
static size_t
put_col(struct ma_report_enc *e, enum ma_report_col col, size_t start,
	size_t o)
{
	e->buf[o] = '\0';
	e->v[col] = e->buf + start;
	e->len[col] = o - start;
	return o + 1;
}

/* ma_report_encode - fill e with the encoded columns of it */
void
ma_report_encode(const struct ma_report_item *it, struct ma_report_enc *e)
{
	const struct ma_report_row *r = &it->row;
	const char *base = (const char *)r;
	size_t	i, o = 0, start;
	size_t	nd = r->n_dkim > MA_REPORT_MAX_DKIM ? MA_REPORT_MAX_DKIM
		: r->n_dkim;
	size_t	ns = r->n_spf > MA_REPORT_MAX_SPF ? MA_REPORT_MAX_SPF
		: r->n_spf;

	start = o;
	o += enc_field(e->buf + o, it->uid, sizeof(it->uid));
	o = put_col(e, MA_RC_UID, start, o);
	start = o;
	o += (size_t)snprintf(e->buf + o, 24, "%lld", r->when);
	o = put_col(e, MA_RC_WHEN, start, o);
	start = o;
	o += (size_t)snprintf(e->buf + o, 16, "%d", r->testing);
	o = put_col(e, MA_RC_TESTING, start, o);
	for (i = 0; i < N_STRCOLS; i++) {
		start = o;
		o += enc_field(e->buf + o, base + strcols[i].off,
			       strcols[i].size);
		o = put_col(e, strcols[i].col, start, o);
	}
	start = o;
	for (i = 0; i < nd; i++) {
		const struct ma_report_dkim *d = &r->dkim[i];

		if (i > 0)
			e->buf[o++] = ';';
		o += enc_field(e->buf + o, d->domain, sizeof(d->domain));
		e->buf[o++] = ',';
		o += enc_field(e->buf + o, d->selector, sizeof(d->selector));
		e->buf[o++] = ',';
		o += enc_field(e->buf + o, d->result, sizeof(d->result));
		e->buf[o++] = ',';
		o += enc_field(e->buf + o, d->human_result,
			       sizeof(d->human_result));
	}
	o = put_col(e, MA_RC_DKIM, start, o);
	start = o;
	for (i = 0; i < ns; i++) {
		const struct ma_report_spf *sp = &r->spf[i];

		if (i > 0)
			e->buf[o++] = ';';
		o += enc_field(e->buf + o, sp->domain, sizeof(sp->domain));
		e->buf[o++] = ',';
		o += enc_field(e->buf + o, sp->scope, sizeof(sp->scope));
		e->buf[o++] = ',';
		o += enc_field(e->buf + o, sp->result, sizeof(sp->result));
	}
	(void)put_col(e, MA_RC_SPF, start, o);
}

/*
 * split - cut p[0..len) at sep into at most max parts; returns the
 * count, or max + 1 when there are more.
 */
static size_t
split(const char *p, size_t len, char sep, const char **part, size_t *plen,
      size_t max)
{
	size_t	n = 0, i, start = 0;

	for (i = 0; i <= len; i++) {
		if (i < len && p[i] != sep)
			continue;
		if (n == max)
			return max + 1;
		part[n] = p + start;
		plen[n] = i - start;
		n++;
		start = i + 1;
	}
	return n;
}

/* dec_dkim - the DKIM list column */
static enum ma_status
dec_dkim(const char *p, size_t len, struct ma_report_row *r)
{
	const char *ent[MA_REPORT_MAX_DKIM], *f[4];
	size_t	elen[MA_REPORT_MAX_DKIM], flen[4], n, i;
	enum ma_status st;

	if (len == 0)
		return MA_OK;
	n = split(p, len, ';', ent, elen, MA_REPORT_MAX_DKIM);
	if (n > MA_REPORT_MAX_DKIM)
		return MA_ERR_LIMIT;
	for (i = 0; i < n; i++) {
		struct ma_report_dkim *d = &r->dkim[i];

		if (split(ent[i], elen[i], ',', f, flen, 4) != 4)
			return MA_ERR_SYNTAX;
		if ((st = dec_field(f[0], flen[0], d->domain,
				    sizeof(d->domain))) != MA_OK ||
		    (st = dec_field(f[1], flen[1], d->selector,
				    sizeof(d->selector))) != MA_OK ||
		    (st = dec_field(f[2], flen[2], d->result,
				    sizeof(d->result))) != MA_OK ||
		    (st = dec_field(f[3], flen[3], d->human_result,
				    sizeof(d->human_result))) != MA_OK)
			return st;
	}
	r->n_dkim = n;
	return MA_OK;
}

/* dec_spf - the SPF list column */
static enum ma_status
dec_spf(const char *p, size_t len, struct ma_report_row *r)
{
	const char *ent[MA_REPORT_MAX_SPF], *f[3];
	size_t	elen[MA_REPORT_MAX_SPF], flen[3], n, i;
	enum ma_status st;

	if (len == 0)
		return MA_OK;
	n = split(p, len, ';', ent, elen, MA_REPORT_MAX_SPF);
	if (n > MA_REPORT_MAX_SPF)
		return MA_ERR_LIMIT;
	for (i = 0; i < n; i++) {
		struct ma_report_spf *s = &r->spf[i];

		if (split(ent[i], elen[i], ',', f, flen, 3) != 3)
			return MA_ERR_SYNTAX;
		if ((st = dec_field(f[0], flen[0], s->domain,
				    sizeof(s->domain))) != MA_OK ||
		    (st = dec_field(f[1], flen[1], s->scope,
				    sizeof(s->scope))) != MA_OK ||
		    (st = dec_field(f[2], flen[2], s->result,
				    sizeof(s->result))) != MA_OK)
			return st;
	}
	r->n_spf = n;
	return MA_OK;
}

/* ma_report_decode - parse encoded columns into out */
enum ma_status
ma_report_decode(const char *const v[], const size_t len[],
		 struct ma_report_item *out)
{
	struct ma_report_row *r = &out->row;
	char   *base = (char *)r;
	long long num;
	size_t	i;
	enum ma_status st;

	memset(out, 0, sizeof(*out));
	if (len[MA_RC_UID] != MA_REPORT_UID_LEN)
		return MA_ERR_SYNTAX;
	for (i = 0; i < MA_REPORT_UID_LEN; i++)
		if (hexval(v[MA_RC_UID][i]) < 0)
			return MA_ERR_SYNTAX;
	memcpy(out->uid, v[MA_RC_UID], MA_REPORT_UID_LEN);
	if ((st = dec_number(v[MA_RC_WHEN], len[MA_RC_WHEN], LLONG_MIN,
			     LLONG_MAX, &num)) != MA_OK)
		return st;
	r->when = num;
	if ((st = dec_number(v[MA_RC_TESTING], len[MA_RC_TESTING], INT_MIN,
			     INT_MAX, &num)) != MA_OK)
		return st;
	r->testing = (int)num;
	for (i = 0; i < N_STRCOLS; i++) {
		enum ma_report_col c = strcols[i].col;

		if ((st = dec_field(v[c], len[c], base + strcols[i].off,
				    strcols[i].size)) != MA_OK)
			return st;
	}
	if ((st = dec_dkim(v[MA_RC_DKIM], len[MA_RC_DKIM], r)) != MA_OK)
		return st;
	return dec_spf(v[MA_RC_SPF], len[MA_RC_SPF], r);
}

/* copy_str - bounded copy of a fixed field, cut at NUL or size - 1 */
static void
copy_str(char *dst, const char *src, size_t size)
{
	size_t	n = strnlen(src, size - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* ma_report_row_copy - dst = src with every string cut and NUL-padded */
void
ma_report_row_copy(struct ma_report_row *dst, const struct ma_report_row *src)
{
	size_t	i;

	memset(dst, 0, sizeof(*dst));
	dst->when = src->when;
	dst->testing = src->testing;
	for (i = 0; i < N_STRCOLS; i++)
		copy_str((char *)dst + strcols[i].off,
			 (const char *)src + strcols[i].off, strcols[i].size);
	dst->n_dkim = src->n_dkim > MA_REPORT_MAX_DKIM ? MA_REPORT_MAX_DKIM
		: src->n_dkim;
	for (i = 0; i < dst->n_dkim; i++) {
		const struct ma_report_dkim *a = &src->dkim[i];
		struct ma_report_dkim *b = &dst->dkim[i];

		copy_str(b->domain, a->domain, sizeof(b->domain));
		copy_str(b->selector, a->selector, sizeof(b->selector));
		copy_str(b->result, a->result, sizeof(b->result));
		copy_str(b->human_result, a->human_result,
			 sizeof(b->human_result));
	}
	dst->n_spf = src->n_spf > MA_REPORT_MAX_SPF ? MA_REPORT_MAX_SPF
		: src->n_spf;
	for (i = 0; i < dst->n_spf; i++) {
		copy_str(dst->spf[i].domain, src->spf[i].domain,
			 sizeof(dst->spf[i].domain));
		copy_str(dst->spf[i].scope, src->spf[i].scope,
			 sizeof(dst->spf[i].scope));
		copy_str(dst->spf[i].result, src->spf[i].result,
			 sizeof(dst->spf[i].result));
	}
}

/* ma_report_uid_new - a fresh random 128-bit id in hex */
int
ma_report_uid_new(char uid[MA_REPORT_UID_LEN + 1])
{
	unsigned char rnd[MA_REPORT_UID_LEN / 2];
	size_t	got = 0, i;

	while (got < sizeof(rnd)) {
		ssize_t n = getrandom(rnd + got, sizeof(rnd) - got, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		got += (size_t)n;
	}
	for (i = 0; i < sizeof(rnd); i++) {
		uid[2 * i] = "0123456789abcdef"[rnd[i] >> 4];
		uid[2 * i + 1] = "0123456789abcdef"[rnd[i] & 15];
	}
	uid[MA_REPORT_UID_LEN] = '\0';
	return 0;
}

/* fnv1a - FNV-1a 32-bit hash of n bytes */
static uint32_t
fnv1a(const char *p, size_t n)
{
	uint32_t h = 2166136261u;
	size_t	i;

	for (i = 0; i < n; i++) {
		h ^= (unsigned char)p[i];
		h *= 16777619u;
	}
	return h;
}

#define SPOOL_TAG "MA1"

/* ma_report_spool_line - format it as one spool line into dst */
size_t
ma_report_spool_line(const struct ma_report_item *it, char *dst,
		     size_t dstlen)
{
	struct ma_report_enc *e;
	size_t	o, i;
	int	n;

	if ((e = malloc(sizeof(*e))) == NULL)
		return 0;
	ma_report_encode(it, e);
	o = sizeof(SPOOL_TAG) - 1;
	if (dstlen < o + 1) {
		free(e);
		return 0;
	}
	memcpy(dst, SPOOL_TAG, o);
	for (i = 0; i < MA_REPORT_NCOLS; i++) {
		if (o + 1 + e->len[i] + 16 > dstlen) {
			free(e);
			return 0;
		}
		dst[o++] = '\t';
		memcpy(dst + o, e->v[i], e->len[i]);
		o += e->len[i];
	}
	free(e);
	n = snprintf(dst + o, dstlen - o, "\t%08x\n",
		     (unsigned)fnv1a(dst, o));
	if (n < 0 || (size_t)n >= dstlen - o)
		return 0;
	return o + (size_t)n;
}

/* ma_report_spool_parse - parse one spool line (without its "\n") */
enum ma_status
ma_report_spool_parse(const char *line, size_t len,
		      struct ma_report_item *out)
{
	const char *part[MA_REPORT_NCOLS + 2];
	size_t	plen[MA_REPORT_NCOLS + 2], n, body;
	char	want[9];

	if (len < 10 || line[len - 9] != '\t')
		return MA_ERR_SYNTAX;
	body = len - 9;
	(void)snprintf(want, sizeof(want), "%08x",
		       (unsigned)fnv1a(line, body));
	if (memcmp(want, line + body + 1, 8) != 0)
		return MA_ERR_SYNTAX;
	n = split(line, body, '\t', part, plen, MA_REPORT_NCOLS + 1);
	if (n != MA_REPORT_NCOLS + 1 || plen[0] != sizeof(SPOOL_TAG) - 1 ||
	    memcmp(part[0], SPOOL_TAG, plen[0]) != 0)
		return MA_ERR_SYNTAX;
	return ma_report_decode(part + 1, plen + 1, out);
}
