/*
 * NAME
 *	spf_int.h - SPF internals shared by spf.c, spf_record.c and tests
 * DESCRIPTION
 *	The parsed form of one "v=spf1" record (terms point into the
 *	caller's copy of the record text), the macro expansion context and
 *	the expander (RFC 7208 section 7). Nothing here touches libspf2:
 *	spf_record.c is pure parsing and string work; spf.c is the glue.
 */
#ifndef MAILAUTH_SPF_INT_H
#define MAILAUTH_SPF_INT_H

#include <stddef.h>
#include <time.h>
#include <mailauth/status.h>
#include <mailauth/ip.h>
#include "ma_limits.h"

struct ma_arena;
struct ma_buf;

/* Term kinds (RFC 7208 section 5 and 6). */
enum ma_spf_term_kind {
	MA_SPF_T_ALL, MA_SPF_T_INCLUDE, MA_SPF_T_A, MA_SPF_T_MX,
	MA_SPF_T_PTR, MA_SPF_T_IP4, MA_SPF_T_IP6, MA_SPF_T_EXISTS,
	MA_SPF_T_REDIRECT, MA_SPF_T_EXP, MA_SPF_T_UNKNOWN_MOD
};

struct ma_spf_term {
	enum ma_spf_term_kind kind;
	char	qualifier;		/* '+', '-', '~', '?' */
	const char *spec;		/* domain-spec or macro-string, or NULL */
	size_t	spec_len;
	int	cidr4;			/* -1: none given */
	int	cidr6;			/* -1: none given */
	unsigned char addr[16];		/* ip4 (4 bytes) / ip6 network */
};

struct ma_spf_parsed {
	size_t	n_terms;
	struct ma_spf_term terms[MA_LIMIT_SPF_TERMS];
};

/*
 * ma_spf_record_parse - strict RFC 7208 section 4.5/12 parse of one
 * record of len bytes (need not be NUL-terminated). On MA_ERR_SYNTAX or
 * MA_ERR_LIMIT err holds a short reason.
 */
enum ma_status ma_spf_record_parse(const char *rec, size_t len,
				   struct ma_spf_parsed *out, char *err,
				   size_t errlen);

/* ma_spf_is_spf1 - whether a TXT string selects as an SPF record (4.5) */
int	ma_spf_is_spf1(const char *txt, size_t len);

/*
 * ma_spf_explain_check - syntax of an explanation string (RFC 7208 6.2,
 * explain-string of section 12): MA_OK or MA_ERR_SYNTAX.
 */
enum ma_status ma_spf_explain_check(const char *s, size_t len, char *err,
				    size_t errlen);

/* Everything a macro can expand to (RFC 7208 section 7.2). */
struct ma_spf_macro_ctx {
	const char *sender;		/* <sender>, NUL-terminated */
	const char *local;		/* local-part of <sender> */
	size_t	local_len;
	const char *sender_domain;	/* %{o} */
	const char *domain;		/* %{d}: current domain */
	struct ma_ip ip;		/* %{i}, %{c}, %{v} */
	const char *helo;		/* %{h}; NULL: "" */
	const char *receiver;		/* %{r}; NULL: "unknown" */
	time_t	now;			/* %{t} */
	/* %{p}: validated client name for this domain, or "unknown" */
	const char *(*get_p)(void *arg, const char *domain);
	void   *get_p_arg;
};

/*
 * ma_spf_expand - expand a macro-string (is_exp 0: domain-spec, where
 * c/r/t are errors and the result is truncated from the left to 253
 * characters; is_exp 1: explain-string, spaces allowed). Appends to out.
 */
enum ma_status ma_spf_expand(const struct ma_spf_macro_ctx *ctx,
			     const char *in, size_t len, int is_exp,
			     struct ma_buf *out, char *err, size_t errlen);

#endif
