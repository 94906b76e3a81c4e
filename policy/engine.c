/*
 * NAME
 *	engine - shared engine and per-connection sessions
 * SYNOPSIS
 *	#include <mailauth/engine.h>
 * DESCRIPTION
 *	An engine bundles one configuration snapshot with the resolver and
 *	the DKIM verifier built for it. Sessions hold a reference, so a
 *	reload can swap engines while old connections finish with the old one.
 * MEMORY
 *	The engine deep-copies the policy configuration; it owns the
 *	resolver given to ma_engine_new. Session strings are malloc'ed.
 * DIAGNOSTICS
 *	ma_engine_new reports why in err. Nothing here logs per message.
 * THREADS
 *	Reference counting is locked; everything else is read-only once built.
 * SEE ALSO
 *	message(3), verdict(3)
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mailauth/engine.h>
#include <mailauth/dkim.h>
#include <mailauth/dns.h>
#include <mailauth/log.h>
#include <mailauth/sign.h>
#include "engine_int.h"
#include "ma_limits.h"

/* dup_or_null - strdup that keeps NULL */
static int
dup_or_null(char **dst, const char *src)
{
	*dst = NULL;
	if (src == NULL)
		return (0);
	return ((*dst = strdup(src)) == NULL ? -1 : 0);
}

/* vec_dup - copy of a NULL-terminated string vector (NULL stays NULL) */
static int
vec_dup(char ***dst, char *const *src)
{
	size_t	n = 0, i;

	*dst = NULL;
	if (src == NULL)
		return (0);
	while (src[n] != NULL)
		n++;
	if ((*dst = calloc(n + 1, sizeof(**dst))) == NULL)
		return (-1);
	for (i = 0; i < n; i++)
		if (((*dst)[i] = strdup(src[i])) == NULL)
			return (-1);
	return (0);
}

/* vec_free - free a vector made by vec_dup */
static void
vec_free(char ***vp)
{
	size_t	i;

	if (*vp == NULL)
		return;
	for (i = 0; (*vp)[i] != NULL; i++)
		free((*vp)[i]);
	free(*vp);
	*vp = NULL;
}

/* engine_destroy - free everything */
static void
engine_destroy(struct ma_engine *e)
{
	ma_dkim_verifier_free(&e->dkim);
	ma_keystore_free(&e->keys);
	ma_dns_free(&e->dns);
	vec_free(&e->cfg.signing_daemons);
	vec_free(&e->cfg.sign_headers);
	vec_free(&e->cfg.oversign_headers);
	vec_free(&e->cfg.trusted_authserv_ids);
	free((char *) e->cfg.authserv_id);
	free((char *) e->cfg.receiver);
	ma_cidr_list_clear(&e->cfg.internal_hosts);
	pthread_mutex_destroy(&e->lock);
	free(e);
}

/* ma_engine_new - build from a configuration copy */
enum ma_status
ma_engine_new(const struct ma_policy_config *cfg, struct ma_dns *dns,
	      struct ma_keystore *keys, struct ma_engine **out, char *err,
	      size_t errlen)
{
	struct ma_engine *e;
	enum ma_status st;

	*out = NULL;
	if (cfg->authserv_id == NULL || *cfg->authserv_id == '\0') {
		snprintf(err, errlen, "AuthservID is empty");
		ma_dns_free(&dns);
		ma_keystore_free(&keys);
		return (MA_ERR_SYNTAX);
	}
	if ((e = calloc(1, sizeof(*e))) == NULL) {
		ma_dns_free(&dns);
		ma_keystore_free(&keys);
		return (MA_ERR_NOMEM);
	}
	pthread_mutex_init(&e->lock, NULL);
	e->refs = 1;
	e->dns = dns;
	e->keys = keys;
	e->cfg = *cfg;
	e->cfg.internal_hosts.n = 0;
	e->cfg.internal_hosts.v = NULL;
	if (dup_or_null((char **) &e->cfg.authserv_id, cfg->authserv_id) < 0
	    || dup_or_null((char **) &e->cfg.receiver, cfg->receiver) < 0
	    || vec_dup(&e->cfg.signing_daemons, cfg->signing_daemons) < 0
	    || vec_dup(&e->cfg.sign_headers, cfg->sign_headers) < 0
	    || vec_dup(&e->cfg.oversign_headers, cfg->oversign_headers) < 0
	    || vec_dup(&e->cfg.trusted_authserv_ids,
		       cfg->trusted_authserv_ids) < 0)
		goto nomem;
	if (cfg->internal_hosts.n > 0) {
		e->cfg.internal_hosts.v = calloc(cfg->internal_hosts.n,
						 sizeof(struct ma_cidr));
		if (e->cfg.internal_hosts.v == NULL)
			goto nomem;
		memcpy(e->cfg.internal_hosts.v, cfg->internal_hosts.v,
		       cfg->internal_hosts.n * sizeof(struct ma_cidr));
		e->cfg.internal_hosts.n = cfg->internal_hosts.n;
	}
	if (e->cfg.dkim_max_signatures == 0
	    || e->cfg.dkim_max_signatures > MA_LIMIT_DKIM_SIGNATURES * 10)
		e->cfg.dkim_max_signatures = MA_LIMIT_DKIM_SIGNATURES;
	if (e->cfg.dns_max_queries == 0)
		e->cfg.dns_max_queries = MA_LIMIT_DNS_QUERIES;
	st = ma_dkim_verifier_new(e->dns, &e->dkim, err, errlen);
	if (st != MA_OK) {
		engine_destroy(e);
		return (st);
	}
	*out = e;
	return (MA_OK);

nomem:
	snprintf(err, errlen, "out of memory");
	engine_destroy(e);
	return (MA_ERR_NOMEM);
}

/* ma_engine_ref - take a reference */
void
ma_engine_ref(struct ma_engine *e)
{
	pthread_mutex_lock(&e->lock);
	e->refs++;
	pthread_mutex_unlock(&e->lock);
}

/* ma_engine_unref - drop a reference; the last one frees */
void
ma_engine_unref(struct ma_engine **ep)
{
	struct ma_engine *e;
	unsigned left;

	if (ep == NULL || (e = *ep) == NULL)
		return;
	*ep = NULL;
	pthread_mutex_lock(&e->lock);
	left = --e->refs;
	pthread_mutex_unlock(&e->lock);
	if (left == 0)
		engine_destroy(e);
}

/* ma_session_new - one connection */
struct ma_session *
ma_session_new(struct ma_engine *e, const struct sockaddr *client,
	       const char *client_name)
{
	struct ma_session *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return (NULL);
	ma_ip_from_sockaddr(client, &s->client);
	if (client_name != NULL && (s->client_name = strdup(client_name)) == NULL) {
		free(s);
		return (NULL);
	}
	ma_engine_ref(e);
	s->engine = e;
	return (s);
}

/* replace - swap a session string; keeps the old one on failure */
static void
replace(char **slot, const char *value)
{
	char   *n = NULL;

	if (value != NULL && (n = strdup(value)) == NULL)
		return;
	free(*slot);
	*slot = n;
}

/* ma_session_set_client_ip - override the client address (XCLIENT-like) */
void
ma_session_set_client_ip(struct ma_session *s, const struct ma_ip *ip)
{
	s->client = *ip;
}

/* ma_session_set_helo - HELO/EHLO name (a later one replaces it) */
void
ma_session_set_helo(struct ma_session *s, const char *helo)
{
	replace(&s->helo, helo);
}

/* ma_session_set_auth - SMTP AUTH identity (NULL or "": none) */
void
ma_session_set_auth(struct ma_session *s, const char *authen)
{
	replace(&s->authen, authen != NULL && *authen != '\0' ? authen : NULL);
}

/* ma_session_set_daemon - MTA service name ({daemon_name}) */
void
ma_session_set_daemon(struct ma_session *s, const char *name)
{
	replace(&s->daemon, name);
}

/* ma_session_free - free and clear */
void
ma_session_free(struct ma_session **sp)
{
	struct ma_session *s;

	if (sp == NULL || (s = *sp) == NULL)
		return;
	*sp = NULL;
	free(s->client_name);
	free(s->helo);
	free(s->authen);
	free(s->daemon);
	ma_engine_unref(&s->engine);
	free(s);
}

/* ma_action_str - action name */
const char *
ma_action_str(enum ma_action a)
{
	switch (a) {
	case MA_ACTION_ACCEPT:
		return ("accept");
	case MA_ACTION_QUARANTINE:
		return ("quarantine");
	case MA_ACTION_REJECT:
		return ("reject");
	case MA_ACTION_TEMPFAIL:
		return ("tempfail");
	}
	return ("accept");
}
