/*
 * NAME
 *	dns_rdata - decoding of answer rdata for the resolver
 * SUMMARY
 *	Wire-format rdata (TXT, SPF, A, AAAA, MX, PTR, CNAME, NS) into
 *	struct ma_dns_rr.
 * SYNOPSIS
 *	#include "dns_int.h"
 * DESCRIPTION
 *	ma_dns_rdata_decode() turns one RR's rdata, uncompressed as
 *	libunbound hands it out, into one struct ma_dns_rr of the answer
 *	that dns.c builds: TXT and SPF character-strings concatenated (RFC
 *	7208 3.3, RFC 6376 3.6.2.2); A and AAAA checked for their length
 *	and kept as 4 or 16 bytes; MX preference and exchange; PTR, CNAME
 *	and NS targets as lower-case text without the trailing dot, bytes
 *	other than plain printable ASCII (and '.', '\') as \DDD. Other
 *	types are copied as they are. Deciding what a malformed RR means
 *	for the answer (SERVFAIL), RRset limits and the libunbound result
 *	are left to dns.c.
 * MEMORY
 *	Decoded strings are allocated in the caller's arena and live as
 *	long as it; the input bytes are not kept.
 * LIMITS
 *	Names: NAME_WIRE_MAX bytes in wire form (RFC 1035 2.3.4);
 *	compressed and extended labels are refused.
 * DIAGNOSTICS
 *	MA_OK; MA_ERR_SYNTAX with a short static why for malformed rdata;
 *	MA_ERR_NOMEM. Nothing is logged here.
 * THREADS
 *	Reentrant; no shared state.
 * STANDARDS
 *	RFC 1035 3.3 and 3.4 (rdata formats), RFC 3596 (AAAA), RFC 7505
 *	(null MX: exchange "").
 * SEE ALSO
 *	dns.c, dns_zone.c, libunbound(3) ub_result.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <mailauth/arena.h>
#include <mailauth/dns.h>
#include "dns_int.h"

#define NAME_WIRE_MAX	255	/* RFC 1035 2.3.4 */
#define NAME_TEXT_MAX	(NAME_WIRE_MAX * 4 + 1) /* every byte as \DDD */

/* decode_name - uncompressed wire name to lower-case text, no dot */
static const char *
decode_name(const unsigned char *p, size_t len, size_t *used, char *out,
	    size_t *outlen)
{
	size_t	pos = 0, o = 0;

	for (;;) {
		unsigned l;

		if (pos >= len)
			return ("truncated name");
		l = p[pos++];
		if (l == 0)
			break;
		if (l & 0xc0)
			return ("compressed or extended label");
		if (pos + l > len || pos + l >= NAME_WIRE_MAX)
			return ("bad name length");
		if (o > 0)
			out[o++] = '.';
		for (; l > 0; l--, pos++) {
			unsigned char c = p[pos];

			if (c >= 'A' && c <= 'Z')
				c += 'a' - 'A';
			if (c > 0x20 && c < 0x7f && c != '.' && c != '\\') {
				out[o++] = (char) c;
			} else {
				snprintf(out + o, 5, "\\%03u", c);
				o += 4;
			}
		}
	}
	out[o] = '\0';
	*used = pos;
	*outlen = o;
	return (NULL);
}

/* ma_dns_rdata_decode - one RR's rdata into rr */
enum ma_status
ma_dns_rdata_decode(struct ma_arena *arena, int type, const unsigned char *p,
		    size_t len, struct ma_dns_rr *rr, const char **why)
{
	char	name[NAME_TEXT_MAX + 1];
	size_t	used, nlen, pos, o;
	char   *txt;

	memset(rr, 0, sizeof(*rr));
	*why = NULL;
	if (p == NULL && len > 0)
		len = 0;
	switch (type) {
	case MA_DNS_A:
	case MA_DNS_AAAA:
		if (len != (type == MA_DNS_A ? 4u : 16u)) {
			*why = "bad address rdata";
			return (MA_ERR_SYNTAX);
		}
		break;
	case MA_DNS_TXT:
	case MA_DNS_T_SPF:
		if ((txt = ma_arena_alloc(arena, len + 1)) == NULL)
			return (MA_ERR_NOMEM);
		for (pos = 0, o = 0; pos < len; pos += 1 + p[pos]) {
			if (pos + 1 + p[pos] > len) {
				*why = "bad TXT rdata";
				return (MA_ERR_SYNTAX);
			}
			memcpy(txt + o, p + pos + 1, p[pos]);
			o += p[pos];
		}
		if (len == 0) {
			*why = "empty TXT rdata";
			return (MA_ERR_SYNTAX);
		}
		rr->data = txt;
		rr->len = o;
		return (MA_OK);
	case MA_DNS_MX:
		if (len < 3) {
			*why = "bad MX rdata";
			return (MA_ERR_SYNTAX);
		}
		rr->pref = ((unsigned) p[0] << 8) | p[1];
		p += 2;
		len -= 2;
		__attribute__((fallthrough));	/* then the exchange name */
	case MA_DNS_PTR:
	case MA_DNS_CNAME:
	case MA_DNS_T_NS:
		if ((*why = decode_name(p, len, &used, name, &nlen)) != NULL)
			return (MA_ERR_SYNTAX);
		if (used != len) {
			*why = "trailing bytes after name";
			return (MA_ERR_SYNTAX);
		}
		if ((rr->data = ma_arena_memdup(arena, name, nlen)) == NULL)
			return (MA_ERR_NOMEM);
		rr->len = nlen;
		return (MA_OK);
	default:
		break;
	}
	if ((rr->data = ma_arena_memdup(arena, p, len)) == NULL)
		return (MA_ERR_NOMEM);
	rr->len = len;
	return (MA_OK);
}
