/*
 * NAME
 *	ip.h - IP addresses and CIDR lists
 * DESCRIPTION
 *	Plain-data IPv4/IPv6 addresses (IPv4-mapped IPv6 is folded to IPv4)
 *	and lists of networks for InternalHosts-style keys.
 */
#ifndef MAILAUTH_IP_H
#define MAILAUTH_IP_H

#include <stddef.h>
#include <sys/socket.h>
#include <mailauth/status.h>

struct ma_ip {
	int	family;			/* AF_INET, AF_INET6, or 0: unknown */
	unsigned char addr[16];		/* network order; 4 bytes for IPv4 */
};

struct ma_cidr {
	struct ma_ip net;
	unsigned prefix;
};

struct ma_cidr_list {
	size_t	n;
	struct ma_cidr *v;		/* malloc'ed; ma_cidr_list_clear frees */
};

/* ma_ip_parse - text to address; MA_ERR_SYNTAX */
enum ma_status ma_ip_parse(const char *s, struct ma_ip *out);

/* ma_ip_from_sockaddr - from a socket address (NULL or other family: family 0) */
void	ma_ip_from_sockaddr(const struct sockaddr *sa, struct ma_ip *out);

/* ma_ip_format - text form into buf (at least 46 bytes); returns buf */
char   *ma_ip_format(const struct ma_ip *ip, char *buf, size_t len);

/* ma_cidr_parse - "addr" or "addr/prefix" */
enum ma_status ma_cidr_parse(const char *s, struct ma_cidr *out);

/* ma_cidr_list_add - parse and append one entry */
enum ma_status ma_cidr_list_add(struct ma_cidr_list *l, const char *s);

/* ma_cidr_list_match - whether ip is in any network of the list */
int	ma_cidr_list_match(const struct ma_cidr_list *l, const struct ma_ip *ip);

/* ma_cidr_list_clear - free the entries */
void	ma_cidr_list_clear(struct ma_cidr_list *l);

#endif
