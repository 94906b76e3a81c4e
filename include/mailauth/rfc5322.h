/*
 * NAME
 *	rfc5322.h - header fields and addresses (RFC 5322, RFC 5321)
 */
#ifndef MAILAUTH_RFC5322_H
#define MAILAUTH_RFC5322_H

#include <stddef.h>
#include <mailauth/status.h>

struct ma_arena;

/*
 * ma_rfc5322_from_domains - domains of every mailbox in a From field value
 * (address-list with display names, comments, groups, quoted local parts,
 * obsolete syntax as far as RFC 5322 4.4 allows). Domains are lower case,
 * without trailing dot. MA_ERR_SYNTAX if no mailbox with a valid domain
 * can be taken out of it, MA_ERR_LIMIT past MA_LIMIT_FROM_ADDRESSES.
 * Strict: one mailbox that does not parse, or whose domain is not valid
 * (domain literal, U-label, bad label), makes the whole field
 * MA_ERR_SYNTAX, so no domain hides behind a broken one.
 */
enum ma_status ma_rfc5322_from_domains(const char *value, size_t len,
				       struct ma_arena *arena,
				       const char ***domains_out,
				       size_t *n_out);

/*
 * ma_rfc5322_from_addresses - as ma_rfc5322_from_domains, and the local
 * part of each mailbox as written (quotes kept; "" when longer than 256
 * bytes), for SigningTable lookups.
 */
enum ma_status ma_rfc5322_from_addresses(const char *value, size_t len,
					 struct ma_arena *arena,
					 const char ***locals_out,
					 const char ***domains_out,
					 size_t *n_out);

/*
 * ma_rfc5321_path_domain - domain of an envelope path ("<a@b>", "a@b",
 * "<>" gives "" with MA_OK). Lower case. MA_ERR_SYNTAX if unusable.
 */
enum ma_status ma_rfc5321_path_domain(const char *path, size_t len,
				      struct ma_arena *arena,
				      const char **addr_out,
				      const char **domain_out);

/* ma_domain_is_valid - syntactically a DNS domain name (LDH labels, <=253) */
int	ma_domain_is_valid(const char *d, size_t len);

/* ma_domain_normalize - lower-case copy without trailing dot, or NULL */
char   *ma_domain_normalize(struct ma_arena *arena, const char *d, size_t len);

#endif
