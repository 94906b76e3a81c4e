/*
 * NAME
 *	report_xml - RFC 9990 aggregate report XML of one policy domain
 * SUMMARY
 *	Group a domain's history rows into <record>s, write the <feedback>
 *	document, gzip it.
 * SYNOPSIS
 *	#include "report_int.h"
 * DESCRIPTION
 *	rep_xml_build() groups rows whose (source_ip, disposition, aligned
 *	DKIM and SPF, override, identifiers, DKIM and SPF results) are
 *	identical into one <record> with their <count>, and writes the
 *	document in the urn:ietf:params:xml:ns:dmarc-2.0 namespace in the
 *	element order of the RFC 9990 schema. <policy_published> is taken
 *	from the newest row (the record as last seen). Every value taken
 *	from a row (they are attacker-controlled: From, MAIL FROM, DKIM d=
 *	and s=, reasons) goes through rep_xml_escape(); fields whose schema
 *	type is an enumeration are mapped onto it, never copied blindly.
 *	rep_gzip() compresses with zlib in gzip format (RFC 1952), naming
 *	the member after the XML file.
 * MEMORY
 *	Everything (keys, the output buffer, the gzip bytes) is allocated
 *	from the caller's arena.
 * LIMITS
 *	REP_MAX_GROUPS records, REP_MAX_XML bytes of XML per report (the output
 *	ma_buf's maximum; MA_ERR_LIMIT beyond).
 * DIAGNOSTICS
 *	Returns MA_OK, MA_ERR_NOMEM, MA_ERR_LIMIT, MA_ERR_INTERNAL (zlib).
 *	Logs nothing; report.c logs.
 * THREADS
 *	Reentrant.
 * STANDARDS
 *	RFC 9990 section 3 and Appendix A (schema), XML 1.0 section 2.2
 *	(characters) and 2.4 (escaping), RFC 1952 (gzip).
 * SEE ALSO
 *	report.c, report_send.c, rfc9990-aggregate.xsd
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include <mailauth/arena.h>
#include <mailauth/buf.h>
#include "report_int.h"

static const char *const disp_words[] = {
	"none", "quarantine", "reject", NULL
};
static const char *const action_words[] = {
	"none", "pass", "quarantine", "reject", NULL
};
static const char *const dkim_words[] = {
	"none", "pass", "fail", "policy", "neutral", "temperror", "permerror",
	NULL
};
static const char *const spf_words[] = {
	"none", "pass", "fail", "softfail", "policy", "neutral", "temperror",
	"permerror", NULL
};
static const char *const override_words[] = {
	"local_policy", "mailing_list", "other", "policy_test_mode",
	"trusted_forwarder", NULL
};

/* pick - s if it is one of words (case-insensitive), else fallback */
static const char *
pick(const char *s, const char *const *words, const char *fallback)
{
	size_t	i;

	for (i = 0; words[i] != NULL; i++)
		if (strcasecmp(s, words[i]) == 0)
			return (words[i]);
	return (fallback);
}

/* utf8_len - length of the valid UTF-8 XML Char at p, 0 when invalid */
static size_t
utf8_len(const unsigned char *p, size_t left)
{
	uint32_t cp;
	size_t	n, i;

	if (p[0] < 0x80)
		return (1);
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2, cp = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		n = 3, cp = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		n = 4, cp = p[0] & 0x07;
	else
		return (0);
	if (left < n)
		return (0);
	for (i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return (0);
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000)
	    || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)
	    || cp == 0xfffe || cp == 0xffff)
		return (0);
	return (n);
}

/*
 * rep_xml_escape - append s as XML character data: markup characters
 * as entities, bytes that are not XML 1.0 Chars (controls, invalid
 * UTF-8) as '?'. Errors stay in the buffer's state (checked by caller
 * through the final append).
 */
void
rep_xml_escape(struct ma_buf *b, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *) s;
	size_t	i = 0, n;

	while (i < len) {
		switch (p[i]) {
		case '&':
			(void) ma_buf_puts(b, "&amp;");
			i++;
			continue;
		case '<':
			(void) ma_buf_puts(b, "&lt;");
			i++;
			continue;
		case '>':
			(void) ma_buf_puts(b, "&gt;");
			i++;
			continue;
		case '"':
			(void) ma_buf_puts(b, "&quot;");
			i++;
			continue;
		case '\'':
			(void) ma_buf_puts(b, "&apos;");
			i++;
			continue;
		default:
			break;
		}
		if (p[i] < 0x20 && p[i] != '\t' && p[i] != '\n' && p[i] != '\r') {
			(void) ma_buf_puts(b, "?");
			i++;
			continue;
		}
		if ((n = utf8_len(p + i, len - i)) == 0) {
			(void) ma_buf_puts(b, "?");
			i++;
			continue;
		}
		(void) ma_buf_append(b, p + i, n);
		i += n;
	}
}

/* elem - <name>escaped value</name> */
static void
elem(struct ma_buf *b, const char *indent, const char *name, const char *value)
{
	(void) ma_buf_printf(b, "%s<%s>", indent, name);
	rep_xml_escape(b, value, strlen(value));
	(void) ma_buf_printf(b, "</%s>\n", name);
}

/* action_of - ActionDispositionType of a row ("pass": DMARC pass, enforcing) */
static const char *
action_of(const struct ma_report_row *r)
{
	const char *d = pick(r->disposition, action_words, "none");

	if (strcmp(d, "none") == 0 && strcasecmp(r->dmarc_result, "pass") == 0
	    && (strcasecmp(r->p, "quarantine") == 0
		|| strcasecmp(r->p, "reject") == 0))
		return ("pass");
	return (d);
}

/* spf_mfrom - the row's mfrom SPF result, or NULL (the schema has one, mfrom) */
static const struct ma_report_spf *
spf_mfrom(const struct ma_report_row *r)
{
	size_t	i;

	for (i = 0; i < r->n_spf && i < MA_REPORT_MAX_SPF; i++)
		if (strcmp(r->spf[i].scope, "mfrom") == 0)
			return (&r->spf[i]);
	return (NULL);
}

/* row_key - the grouping key: every field written inside <record> */
static const char *
row_key(struct ma_arena *a, const struct ma_report_row *r)
{
	struct ma_buf b;
	const struct ma_report_spf *spf = spf_mfrom(r);
	size_t	i;

	ma_buf_init(&b, a, 64 * 1024);
	(void) ma_buf_printf(&b, "%.48s\x1f%s\x1f%.8s\x1f%.8s\x1f%.32s\x1f%.128s"
			     "\x1f%.256s\x1f%.256s\x1f%.256s",
			     r->source_ip, action_of(r), r->dkim_aligned,
			     r->spf_aligned, r->override, r->override_comment,
			     r->header_from, r->envelope_from, r->envelope_to);
	for (i = 0; i < r->n_dkim && i < MA_REPORT_MAX_DKIM; i++)
		(void) ma_buf_printf(&b, "\x1e%.256s\x1f%.64s\x1f%.16s\x1f%.128s",
				     r->dkim[i].domain, r->dkim[i].selector,
				     r->dkim[i].result, r->dkim[i].human_result);
	if (spf != NULL)
		(void) ma_buf_printf(&b, "\x1d%.256s\x1f%.16s", spf->domain,
				     spf->result);
	if (ma_buf_puts(&b, "") != MA_OK)
		return (NULL);
	return (b.data);
}

struct rep_group {
	const char *key;
	struct ma_report_row row;	/* the first row of the group */
	unsigned long long count;
};

struct rep_groups {
	struct ma_arena *arena;
	struct rep_group **slot;	/* open addressing, n_slots a power of 2 */
	size_t	n_slots, n;
	struct ma_report_row last;	/* newest row: policy_published */
	unsigned long long messages;
};

/* hash - FNV-1a of a key */
static size_t
hash(const char *s)
{
	size_t	h = 1469598103934665603ULL;

	while (*s != '\0')
		h = (h ^ (unsigned char) *s++) * 1099511628211ULL;
	return (h);
}

/* rep_groups_new - empty grouping in arena a */
struct rep_groups *
rep_groups_new(struct ma_arena *a)
{
	struct rep_groups *g;

	if ((g = ma_arena_alloc(a, sizeof(*g))) == NULL)
		return (NULL);
	g->arena = a;
	g->n_slots = 1024;
	if ((g->slot = ma_arena_calloc(a, g->n_slots, sizeof(*g->slot))) == NULL)
		return (NULL);
	return (g);
}

/* grow - double the slot table */
static enum ma_status
grow(struct rep_groups *g)
{
	struct rep_group **old = g->slot;
	size_t	n_old = g->n_slots, i, h;

	if ((g->slot = ma_arena_calloc(g->arena, n_old * 2,
				       sizeof(*g->slot))) == NULL)
		return (MA_ERR_NOMEM);
	g->n_slots = n_old * 2;
	for (i = 0; i < n_old; i++) {
		if (old[i] == NULL)
			continue;
		for (h = hash(old[i]->key) & (g->n_slots - 1); g->slot[h] != NULL;
		     h = (h + 1) & (g->n_slots - 1))
			continue;
		g->slot[h] = old[i];
	}
	return (MA_OK);
}

/* rep_groups_add - count row into its group (rows come oldest first) */
enum ma_status
rep_groups_add(struct rep_groups *g, const struct ma_report_row *row)
{
	const char *key;
	size_t	h;
	struct rep_group *e;

	if ((key = row_key(g->arena, row)) == NULL)
		return (MA_ERR_NOMEM);
	g->last = *row;
	g->messages++;
	for (h = hash(key) & (g->n_slots - 1); g->slot[h] != NULL;
	     h = (h + 1) & (g->n_slots - 1))
		if (strcmp(g->slot[h]->key, key) == 0) {
			g->slot[h]->count++;
			return (MA_OK);
		}
	if (g->n >= REP_MAX_GROUPS)
		return (MA_ERR_LIMIT);
	if ((e = ma_arena_alloc(g->arena, sizeof(*e))) == NULL)
		return (MA_ERR_NOMEM);
	e->key = key;
	e->row = *row;
	e->count = 1;
	g->slot[h] = e;
	if (++g->n * 2 > g->n_slots)
		return (grow(g));
	return (MA_OK);
}

/* rep_groups_count - messages and groups so far */
void
rep_groups_count(const struct rep_groups *g, unsigned long long *messages_out,
		 size_t *records_out)
{
	*messages_out = g->messages;
	*records_out = g->n;
}

/* rep_groups_last - the newest row added (borrowed, valid with g) */
const struct ma_report_row *
rep_groups_last(const struct rep_groups *g)
{
	return (&g->last);
}

/* group_cmp - qsort order of groups (by key: stable output) */
static int
group_cmp(const void *x, const void *y)
{
	return (strcmp((*(struct rep_group *const *) x)->key,
		       (*(struct rep_group *const *) y)->key));
}

/* write_head - <version>, <report_metadata>, <policy_published> */
static void
write_head(struct ma_buf *b, const struct rep_settings *s,
	   const struct rep_report *r, const struct ma_report_row *last)
{
	(void) ma_buf_puts(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
			   "<feedback xmlns=\"urn:ietf:params:xml:ns:dmarc-2.0\">\n"
			   "  <version>1.0</version>\n  <report_metadata>\n");
	elem(b, "    ", "org_name", s->org_name);
	elem(b, "    ", "email", s->email);
	elem(b, "    ", "report_id", r->report_id);
	(void) ma_buf_printf(b, "    <date_range>\n      <begin>%lld</begin>\n"
			     "      <end>%lld</end>\n    </date_range>\n",
			     r->begin, r->end - 1);
	if (s->generator != NULL)
		elem(b, "    ", "generator", s->generator);
	(void) ma_buf_puts(b, "  </report_metadata>\n  <policy_published>\n");
	elem(b, "    ", "domain", r->domain);
	elem(b, "    ", "p", pick(last->p, disp_words, "none"));
	if (*last->sp != '\0')
		elem(b, "    ", "sp", pick(last->sp, disp_words, "none"));
	if (*last->np != '\0')
		elem(b, "    ", "np", pick(last->np, disp_words, "none"));
	elem(b, "    ", "adkim", strcmp(last->adkim, "s") == 0 ? "s" : "r");
	elem(b, "    ", "aspf", strcmp(last->aspf, "s") == 0 ? "s" : "r");
	elem(b, "    ", "discovery_method",
	     strcmp(last->discovery, "psl") == 0 ? "psl" : "treewalk");
	elem(b, "    ", "testing", last->testing ? "y" : "n");
	(void) ma_buf_puts(b, "  </policy_published>\n");
}

/* write_record - one <record> for a group of count identical rows */
static void
write_record(struct ma_buf *b, const struct ma_report_row *r,
	     unsigned long long count)
{
	const struct ma_report_spf *spf = spf_mfrom(r);
	size_t	i;

	(void) ma_buf_puts(b, "  <record>\n    <row>\n");
	elem(b, "      ", "source_ip", r->source_ip);
	(void) ma_buf_printf(b, "      <count>%llu</count>\n"
			     "      <policy_evaluated>\n", count);
	elem(b, "        ", "disposition", action_of(r));
	elem(b, "        ", "dkim",
	     strcmp(r->dkim_aligned, "pass") == 0 ? "pass" : "fail");
	elem(b, "        ", "spf",
	     strcmp(r->spf_aligned, "pass") == 0 ? "pass" : "fail");
	if (*r->override != '\0') {
		(void) ma_buf_puts(b, "        <reason>\n");
		elem(b, "          ", "type",
		     pick(r->override, override_words, "other"));
		if (*r->override_comment != '\0')
			elem(b, "          ", "comment", r->override_comment);
		(void) ma_buf_puts(b, "        </reason>\n");
	}
	(void) ma_buf_puts(b, "      </policy_evaluated>\n    </row>\n"
			   "    <identifiers>\n");
	elem(b, "      ", "header_from", r->header_from);
	if (*r->envelope_from != '\0')
		elem(b, "      ", "envelope_from", r->envelope_from);
	if (*r->envelope_to != '\0')
		elem(b, "      ", "envelope_to", r->envelope_to);
	(void) ma_buf_puts(b, "    </identifiers>\n    <auth_results>\n");
	for (i = 0; i < r->n_dkim && i < MA_REPORT_MAX_DKIM; i++) {
		(void) ma_buf_puts(b, "      <dkim>\n");
		elem(b, "        ", "domain", r->dkim[i].domain);
		elem(b, "        ", "selector", r->dkim[i].selector);
		elem(b, "        ", "result",
		     pick(r->dkim[i].result, dkim_words, "permerror"));
		if (*r->dkim[i].human_result != '\0')
			elem(b, "        ", "human_result",
			     r->dkim[i].human_result);
		(void) ma_buf_puts(b, "      </dkim>\n");
	}
	if (spf != NULL) {
		(void) ma_buf_puts(b, "      <spf>\n");
		elem(b, "        ", "domain", spf->domain);
		elem(b, "        ", "scope", "mfrom");
		elem(b, "        ", "result",
		     pick(spf->result, spf_words, "permerror"));
		(void) ma_buf_puts(b, "      </spf>\n");
	}
	(void) ma_buf_puts(b, "    </auth_results>\n  </record>\n");
}

/* rep_xml_build - the <feedback> document of report r from its groups */
enum ma_status
rep_xml_build(struct ma_arena *a, const struct rep_settings *s,
	      const struct rep_report *r, const struct rep_groups *g,
	      struct ma_buf *out)
{
	struct rep_group **v;
	size_t	i, o = 0;

	if (g->n == 0)
		return (MA_ERR_INTERNAL);
	if ((v = ma_arena_calloc(a, g->n, sizeof(*v))) == NULL)
		return (MA_ERR_NOMEM);
	for (i = 0; i < g->n_slots; i++)
		if (g->slot[i] != NULL)
			v[o++] = g->slot[i];
	qsort(v, o, sizeof(*v), group_cmp);
	write_head(out, s, r, &g->last);
	for (i = 0; i < o; i++)
		write_record(out, &v[i]->row, v[i]->count);
	/*
	 * ma_buf refuses an append past its maximum but takes later,
	 * smaller ones: an output that came near the maximum may have lost
	 * an element, so it counts as over the limit.
	 */
	if (out->max - out->len < REP_XML_SLACK)
		return (MA_ERR_LIMIT);
	return (ma_buf_puts(out, "</feedback>\n"));
}

/* rep_gzip - in[0..len) as one gzip member named name (RFC 1952) */
enum ma_status
rep_gzip(struct ma_arena *a, const char *in, size_t len, const char *name,
	 long long mtime, unsigned char **out, size_t *outlen)
{
	z_stream z;
	gz_header h;
	unsigned char *buf;
	size_t	cap;
	int	rc;

	memset(&z, 0, sizeof(z));
	memset(&h, 0, sizeof(h));
	if (len > UINT32_MAX / 2)
		return (MA_ERR_LIMIT);
	if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
			 Z_DEFAULT_STRATEGY) != Z_OK)
		return (MA_ERR_INTERNAL);
	h.name = (Bytef *) (uintptr_t) name;
	h.time = (uLong) mtime;
	h.os = 3;		/* Unix */
	if (deflateSetHeader(&z, &h) != Z_OK) {
		deflateEnd(&z);
		return (MA_ERR_INTERNAL);
	}
	cap = deflateBound(&z, (uLong) len) + strlen(name) + 64;
	if ((buf = ma_arena_alloc(a, cap)) == NULL) {
		deflateEnd(&z);
		return (MA_ERR_NOMEM);
	}
	z.next_in = (Bytef *) (uintptr_t) in;
	z.avail_in = (uInt) len;
	z.next_out = buf;
	z.avail_out = (uInt) cap;
	rc = deflate(&z, Z_FINISH);
	*outlen = z.total_out;
	deflateEnd(&z);
	if (rc != Z_STREAM_END)
		return (MA_ERR_INTERNAL);
	*out = buf;
	return (MA_OK);
}
