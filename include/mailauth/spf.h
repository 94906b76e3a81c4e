/*
 * NAME
 *	spf.h - SPF check_host() (RFC 7208) on libspf2 over our resolver
 * DESCRIPTION
 *	Evaluates the MAIL FROM or HELO identity. Every SPF record is checked
 *	by ma_spf_record_check() before libspf2 sees it; lookups and void
 *	lookups are counted by our DNS layer (RFC 7208 4.6.4).
 */
#ifndef MAILAUTH_SPF_H
#define MAILAUTH_SPF_H

#include <stddef.h>
#include <time.h>
#include <mailauth/status.h>
#include <mailauth/ip.h>

struct ma_arena;
struct ma_dns;
struct ma_dns_budget;

/* RFC 7208 section 2.6 results */
enum ma_spf_result {
	MA_SPF_NONE, MA_SPF_NEUTRAL, MA_SPF_PASS, MA_SPF_FAIL, MA_SPF_SOFTFAIL,
	MA_SPF_TEMPERROR, MA_SPF_PERMERROR
};

enum ma_spf_identity { MA_SPF_MAILFROM, MA_SPF_HELO };

struct ma_spf_request {
	struct ma_ip client;		/* <ip> */
	const char *helo;		/* HELO/EHLO name; may be NULL */
	const char *mail_from;		/* envelope sender without <>; "" = null sender */
	const char *receiver;		/* %{r}; NULL: "unknown" */
	const char *default_explanation;/* NULL: library default */
	time_t	now;			/* %{t}; 0: time(NULL) */
};

struct ma_spf_outcome {
	enum ma_spf_identity identity;
	enum ma_spf_result result;
	const char *domain;		/* domain evaluated (arena), "" if none */
	const char *sender;		/* <sender> as evaluated (arena) */
	const char *reason;		/* short text for logs and A-R comment */
	const char *explanation;	/* for fail, else NULL */
	unsigned dns_mechanisms;	/* terms that caused DNS lookups */
	unsigned void_lookups;
};

/* ma_spf_result_str - RFC 8601 result word ("pass", "permerror", ...) */
const char *ma_spf_result_str(enum ma_spf_result r);

/*
 * ma_spf_check - run check_host() for one identity. MAIL FROM with a null
 * sender evaluates postmaster@<helo> (RFC 7208 2.4). A HELO that is not
 * a domain name yields none. Always fills *out (result temperror or
 * permerror on trouble) unless MA_ERR_NOMEM.
 */
enum ma_status ma_spf_check(struct ma_dns *dns, struct ma_dns_budget *budget,
			    struct ma_arena *arena, enum ma_spf_identity id,
			    const struct ma_spf_request *req,
			    struct ma_spf_outcome *out);

/*
 * ma_spf_record_check - strict RFC 7208 section 4.5/12 syntax and size
 * check of one "v=spf1 ..." record; MA_OK or MA_ERR_SYNTAX with a reason
 * in err.
 */
enum ma_status ma_spf_record_check(const char *rec, size_t len, char *err,
				   size_t errlen);

/* ma_spf_init - once per process before threads (libspf2 globals) */
void	ma_spf_init(void);

#endif
