/*
 * NAME
 *	json_out - a verdict as one JSON object
 * SYNOPSIS
 *	#include "json_out.h"
 * DESCRIPTION
 *	The object documented in mailauth-check(1):
 *	{action, reply, spf{mailfrom,helo}, dkim[], dmarc{}, authentication_results,
 *	 removed_authentication_results[], mode}. json-c does the escaping, so
 *	hostile values (quotes, control characters, NUL-free binary) stay data.
 * MEMORY
 *	The returned string is malloc'ed; the caller frees it.
 * THREADS
 *	Reentrant.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json.h>

#include <mailauth/authres.h>
#include "json_out.h"

/* ma_json_log_line - "k=v k=v" (verdict.c's build_log) as an object */
char *
ma_json_log_line(const char *qid, const char *line)
{
	json_object *o = json_object_new_object(), *dkim = NULL;
	const char *p = line, *e, *eq;
	char   *out = NULL;

	if (o == NULL)
		return (NULL);
	if (qid != NULL && strncmp(line, "qid=", 4) != 0)
		json_object_object_add(o, "qid", json_object_new_string(qid));
	while (*p != '\0') {
		char	key[64];
		size_t	klen;
		json_object *v;

		p += strspn(p, " ");
		if (*p == '\0')
			break;
		e = p + strcspn(p, " ");
		eq = memchr(p, '=', (size_t) (e - p));
		klen = eq ? (size_t) (eq - p) : (size_t) (e - p);
		if (klen == 0 || klen >= sizeof(key)) {
			p = e;
			continue;
		}
		memcpy(key, p, klen);
		key[klen] = '\0';
		v = eq ? json_object_new_string_len(eq + 1, (int) (e - eq - 1))
		    : json_object_new_boolean(1);
		if (strcmp(key, "dkim") != 0)
			json_object_object_add(o, key, v);
		else {
			if (dkim == NULL) {
				dkim = json_object_new_array();
				json_object_object_add(o, "dkim", dkim);
			}
			json_object_array_add(dkim, v);
		}
		p = e;
	}
	out = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN
						    | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return (out);
}

/* str_or_null - JSON string, or null for NULL */
static json_object *
str_or_null(const char *s)
{
	return (s != NULL ? json_object_new_string(s) : NULL);
}

/* spf_obj - one SPF identity */
static json_object *
spf_obj(const struct ma_spf_outcome *o)
{
	json_object *j;

	if (o == NULL)
		return (NULL);
	j = json_object_new_object();
	json_object_object_add(j, "result",
			       json_object_new_string(ma_spf_result_str(o->result)));
	json_object_object_add(j, "domain", str_or_null(o->domain ? o->domain : ""));
	json_object_object_add(j, "reason", str_or_null(o->reason));
	return (j);
}

/* dkim_arr - one entry per signature */
static json_object *
dkim_arr(const struct ma_verdict *v)
{
	json_object *a = json_object_new_array(), *j;
	size_t	i;

	for (i = 0; i < v->n_dkim; i++) {
		const struct ma_dkim_sig *s = &v->dkim[i];

		j = json_object_new_object();
		json_object_object_add(j, "domain", str_or_null(s->domain ? s->domain : ""));
		json_object_object_add(j, "selector", str_or_null(s->selector ? s->selector : ""));
		json_object_object_add(j, "algorithm", str_or_null(s->algorithm ? s->algorithm : ""));
		json_object_object_add(j, "result",
				       json_object_new_string(ma_dkim_result_str(s->result)));
		json_object_object_add(j, "reason", str_or_null(s->reason ? s->reason : ""));
		if (s->key_bits > 0)
			json_object_object_add(j, "key_bits",
					       json_object_new_int((int) s->key_bits));
		json_object_array_add(a, j);
	}
	return (a);
}

/* dmarc_obj - the DMARC outcome */
static json_object *
dmarc_obj(const struct ma_dmarc_outcome *d)
{
	json_object *j;

	if (d == NULL)
		return (NULL);
	j = json_object_new_object();
	json_object_object_add(j, "result",
			       json_object_new_string(ma_dmarc_result_str(d->result)));
	json_object_object_add(j, "from_domain", str_or_null(d->from_domain ? d->from_domain : ""));
	json_object_object_add(j, "policy_domain", str_or_null(d->policy_domain ? d->policy_domain : ""));
	json_object_object_add(j, "org_domain", str_or_null(d->org_domain ? d->org_domain : ""));
	json_object_object_add(j, "policy",
			       json_object_new_string(ma_dmarc_policy_str(d->policy)));
	json_object_object_add(j, "disposition",
			       json_object_new_string(ma_dmarc_policy_str(d->disposition)));
	json_object_object_add(j, "testing", json_object_new_boolean(d->testing));
	json_object_object_add(j, "spf_aligned", json_object_new_boolean(d->spf_aligned));
	json_object_object_add(j, "dkim_aligned", json_object_new_boolean(d->dkim_aligned));
	json_object_object_add(j, "reason", str_or_null(d->reason));
	return (j);
}

/* ma_json_verdict - the whole object */
char   *
ma_json_verdict(const struct ma_verdict *v)
{
	json_object *root = json_object_new_object(), *spf, *del;
	char   *reply = NULL, *out;
	size_t	i;

	json_object_object_add(root, "mode", json_object_new_string(
	    v->mode == MA_MODE_OUTBOUND ? "outbound" : "verify"));
	json_object_object_add(root, "action",
			       json_object_new_string(ma_action_str(v->action)));
	if (v->rcode != NULL) {
		size_t	n = strlen(v->rcode) + strlen(v->xcode) + strlen(v->reply_text) + 3;

		if ((reply = malloc(n)) != NULL)
			snprintf(reply, n, "%s %s %s", v->rcode, v->xcode, v->reply_text);
	}
	json_object_object_add(root, "reply", str_or_null(reply));
	free(reply);
	if (v->mode == MA_MODE_VERIFY) {
		spf = json_object_new_object();
		json_object_object_add(spf, "mailfrom", spf_obj(v->spf_mailfrom));
		json_object_object_add(spf, "helo", spf_obj(v->spf_helo));
		json_object_object_add(root, "spf", spf);
		json_object_object_add(root, "dkim", dkim_arr(v));
		json_object_object_add(root, "dmarc", dmarc_obj(v->dmarc));
	} else {
		json_object_object_add(root, "spf", NULL);
		json_object_object_add(root, "dkim", json_object_new_array());
		json_object_object_add(root, "dmarc", NULL);
	}
	if (v->authres != NULL) {
		char   *h = malloc(strlen(v->authres) + 32);

		if (h != NULL) {
			snprintf(h, strlen(v->authres) + 32,
				 "Authentication-Results: %s", v->authres);
			json_object_object_add(root, "authentication_results",
					       json_object_new_string(h));
			free(h);
		}
	} else {
		json_object_object_add(root, "authentication_results", NULL);
	}
	del = json_object_new_array();
	for (i = 0; i < v->n_del; i++)
		json_object_array_add(del, json_object_new_int((int) v->del_index[i]));
	json_object_object_add(root, "removed_authentication_results", del);
	json_object_object_add(root, "quarantine_reason", str_or_null(v->quarantine_reason));
	if (v->mode == MA_MODE_OUTBOUND) {
		json_object *sigs = json_object_new_array();

		for (i = 0; i < v->n_signatures; i++) {
			char   *h = malloc(strlen(v->signatures[i]) + 17);

			if (h == NULL)
				continue;
			snprintf(h, strlen(v->signatures[i]) + 17,
				 "DKIM-Signature: %s", v->signatures[i]);
			json_object_array_add(sigs, json_object_new_string(h));
			free(h);
		}
		json_object_object_add(root, "signatures", sigs);
	}
	out = strdup(json_object_to_json_string_ext(root,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(root);
	return (out);
}
