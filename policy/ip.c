/*
 * NAME
 *	ip - IP addresses and CIDR lists
 * SYNOPSIS
 *	#include <mailauth/ip.h>
 * DESCRIPTION
 *	Parsing and matching for InternalHosts-style lists and client
 *	addresses. IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are folded
 *	to IPv4 so that one list entry matches both forms.
 * MEMORY
 *	ma_cidr_list owns a malloc'ed vector; ma_cidr_list_clear frees it.
 * LIMITS
 *	MA_LIMIT_CONFIG_LIST entries per list.
 * THREADS
 *	Lists are read-only once built.
 */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mailauth/ip.h>
#include "ma_limits.h"

/* fold_mapped - ::ffff:a.b.c.d to IPv4 */
static void
fold_mapped(struct ma_ip *ip)
{
	static const unsigned char prefix[12] = {0,0,0,0,0,0,0,0,0,0,0xff,0xff};

	if (ip->family == AF_INET6 && memcmp(ip->addr, prefix, 12) == 0) {
		memmove(ip->addr, ip->addr + 12, 4);
		memset(ip->addr + 4, 0, 12);
		ip->family = AF_INET;
	}
}

/* ma_ip_parse - text to address */
enum ma_status
ma_ip_parse(const char *s, struct ma_ip *out)
{
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, s, out->addr) == 1) {
		out->family = AF_INET;
		return (MA_OK);
	}
	if (inet_pton(AF_INET6, s, out->addr) == 1) {
		out->family = AF_INET6;
		fold_mapped(out);
		return (MA_OK);
	}
	return (MA_ERR_SYNTAX);
}

/* ma_ip_from_sockaddr - from a socket address */
void
ma_ip_from_sockaddr(const struct sockaddr *sa, struct ma_ip *out)
{
	memset(out, 0, sizeof(*out));
	if (sa == NULL)
		return;
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *sin = (const void *) sa;

		out->family = AF_INET;
		memcpy(out->addr, &sin->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const void *) sa;

		out->family = AF_INET6;
		memcpy(out->addr, &sin6->sin6_addr, 16);
		fold_mapped(out);
	}
}

/* ma_ip_format - text form */
char   *
ma_ip_format(const struct ma_ip *ip, char *buf, size_t len)
{
	if (ip->family == 0 || inet_ntop(ip->family, ip->addr, buf, (socklen_t) len) == NULL)
		(void) snprintf(buf, len, "unknown");
	return (buf);
}

/* ma_cidr_parse - "addr[/prefix]" */
enum ma_status
ma_cidr_parse(const char *s, struct ma_cidr *out)
{
	char	tmp[64];
	char   *slash, *end;
	unsigned long pfx;
	unsigned max;
	int	was_v6;

	if (strlen(s) >= sizeof(tmp))
		return (MA_ERR_SYNTAX);
	memcpy(tmp, s, strlen(s) + 1);
	slash = strchr(tmp, '/');
	if (slash != NULL)
		*slash++ = '\0';
	was_v6 = strchr(tmp, ':') != NULL;
	if (ma_ip_parse(tmp, &out->net) != MA_OK)
		return (MA_ERR_SYNTAX);
	max = out->net.family == AF_INET ? 32 : 128;
	if (slash == NULL) {
		out->prefix = max;
		return (MA_OK);
	}
	if (*slash < '0' || *slash > '9')
		return (MA_ERR_SYNTAX);
	pfx = strtoul(slash, &end, 10);
	if (*end != '\0')
		return (MA_ERR_SYNTAX);
	if (was_v6 && out->net.family == AF_INET) {
		/* ::ffff:a.b.c.d/N was folded: drop the 96 mapped bits */
		if (pfx < 96 || pfx > 128)
			return (MA_ERR_SYNTAX);
		pfx -= 96;
	}
	if (pfx > max)
		return (MA_ERR_SYNTAX);
	out->prefix = (unsigned) pfx;
	return (MA_OK);
}

/* prefix_match - first bits of a and b equal */
static int
prefix_match(const unsigned char *a, const unsigned char *b, unsigned bits)
{
	unsigned full = bits / 8, rest = bits % 8;

	if (memcmp(a, b, full) != 0)
		return (0);
	if (rest == 0)
		return (1);
	return (((a[full] ^ b[full]) & (0xff << (8 - rest)) & 0xff) == 0);
}

/* ma_cidr_list_add - append one entry */
enum ma_status
ma_cidr_list_add(struct ma_cidr_list *l, const char *s)
{
	struct ma_cidr c;
	struct ma_cidr *nv;

	if (l->n >= MA_LIMIT_CONFIG_LIST)
		return (MA_ERR_LIMIT);
	if (ma_cidr_parse(s, &c) != MA_OK)
		return (MA_ERR_SYNTAX);
	if ((nv = realloc(l->v, (l->n + 1) * sizeof(*nv))) == NULL)
		return (MA_ERR_NOMEM);
	l->v = nv;
	l->v[l->n++] = c;
	return (MA_OK);
}

/* ma_cidr_list_match - membership */
int
ma_cidr_list_match(const struct ma_cidr_list *l, const struct ma_ip *ip)
{
	size_t	i;

	if (ip->family == 0)
		return (0);
	for (i = 0; i < l->n; i++)
		if (l->v[i].net.family == ip->family
		    && prefix_match(l->v[i].net.addr, ip->addr, l->v[i].prefix))
			return (1);
	return (0);
}

/* ma_cidr_list_clear - free */
void
ma_cidr_list_clear(struct ma_cidr_list *l)
{
	free(l->v);
	l->v = NULL;
	l->n = 0;
}
