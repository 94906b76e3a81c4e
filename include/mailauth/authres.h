/*
 * NAME
 *	authres.h - our Authentication-Results field (RFC 8601)
 */
#ifndef MAILAUTH_AUTHRES_H
#define MAILAUTH_AUTHRES_H

#include <stddef.h>
#include <mailauth/status.h>
#include <mailauth/spf.h>
#include <mailauth/dkim.h>
#include <mailauth/dmarc.h>

struct ma_arena;

struct ma_authres_input {
	const char *authserv_id;
	const struct ma_spf_outcome *spf_mailfrom;	/* NULL: not evaluated */
	const struct ma_spf_outcome *spf_helo;		/* NULL: not evaluated */
	const struct ma_dkim_sig *dkim;
	size_t	n_dkim;					/* 0: dkim=none */
	const struct ma_dmarc_outcome *dmarc;		/* NULL: not evaluated */
};

/*
 * ma_authres_render - the field value (without "Authentication-Results:"),
 * folded with CRLF + tab, every value sanitised so that nothing taken
 * from the message or DNS can add a property or a result.
 */
enum ma_status ma_authres_render(struct ma_arena *arena,
				 const struct ma_authres_input *in,
				 const char **value_out);

/*
 * ma_authres_is_ours - whether an Authentication-Results value (len bytes,
 * may hold NUL, folded) carries authserv_id (case-insensitive, CFWS and
 * comments skipped, RFC 8601 section 2.2 and 5).
 */
int	ma_authres_is_ours(const char *value, size_t len, const char *authserv_id);

#endif
