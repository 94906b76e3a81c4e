/*
 * NAME
 *	config_build - what a loaded configuration builds: resolver, key
 *	store, engine
 * SYNOPSIS
 *	#include "cfg.h"
 * DESCRIPTION
 *	ma_config_build_engine() makes the resolver (Nameservers, DNSTimeout,
 *	DNSOffline, TrustAnchorFile), loads the local zone files and the key
 *	store (KeyTable/SigningTable or Domain/Selector/KeyFile), and hands
 *	them to a new engine. Used at start, on reload and by mailauthd -n,
 *	so that every file is checked before the first message.
 * MEMORY
 *	The engine owns the resolver and the key store; on failure nothing
 *	is left behind.
 * DIAGNOSTICS
 *	The failing part's message in err (file:line where there is one);
 *	ma_config_build_engine_part() also says which part it was (the
 *	daemon counts key store failures for its metrics).
 * THREADS
 *	Call before serving, or from the reload thread; the result is
 *	read-only.
 * SEE ALSO
 *	config.c, engine.h, sign.h
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <mailauth/dns.h>
#include <mailauth/engine.h>
#include <mailauth/sign.h>
#include "cfg.h"

/*
 * ma_config_load_keys - the key store of this configuration, or NULL when
 * no signing is configured. The tables must come as a pair, the single
 * form as a triple.
 */
enum ma_status
ma_config_load_keys(const struct ma_config *c, struct ma_keystore **out,
		    char *err, size_t errlen)
{
	struct ma_keystore_options ko;
	int	single = (c->sign_domain != NULL) + (c->sign_selector != NULL)
	    + (c->key_file != NULL);

	*out = NULL;
	if (c->signing_table != NULL && c->key_table == NULL) {
		snprintf(err, errlen, "SigningTable needs a KeyTable");
		return (MA_ERR_SYNTAX);
	}
	if (single != 0 && single != 3) {
		snprintf(err, errlen, "Domain, Selector and KeyFile go together");
		return (MA_ERR_SYNTAX);
	}
	if (c->key_table == NULL && single == 0)
		return (MA_OK);
	memset(&ko, 0, sizeof(ko));
	ko.key_table = c->key_table;
	ko.signing_table = c->signing_table;
	ko.domain = c->sign_domain;
	ko.selector = c->sign_selector;
	ko.key_file = c->key_file;
	ko.require_safe_keys = c->require_safe_keys;
	ko.min_key_bits = c->policy.dkim_min_key_bits;
	return (ma_keystore_load(&ko, out, err, errlen));
}

/* ma_config_build_engine - resolver and engine for this configuration */
enum ma_status
ma_config_build_engine(const struct ma_config *c, struct ma_engine **out,
		       char *err, size_t errlen)
{
	return (ma_config_build_engine_part(c, out, NULL, err, errlen));
}

/* ma_config_build_engine_part - the same, saying which part failed */
enum ma_status
ma_config_build_engine_part(const struct ma_config *c, struct ma_engine **out,
			    enum ma_config_part *part_out, char *err,
			    size_t errlen)
{
	struct ma_dns_options opt;
	struct ma_keystore *keys;
	struct ma_dns *dns;
	enum ma_status st;
	enum ma_config_part dummy;
	size_t	i;

	if (part_out == NULL)
		part_out = &dummy;
	*part_out = MA_CONFIG_PART_DNS;
	memset(&opt, 0, sizeof(opt));
	opt.nameservers = (const char *const *) c->nameservers;
	opt.timeout_ms = c->dns_timeout_ms;
	opt.cache_entries = c->dns_cache_entries;
	opt.offline = c->dns_offline;
	opt.trust_anchor_file = c->trust_anchor_file;
	if ((st = ma_dns_new(&opt, &dns, err, errlen)) != MA_OK)
		return (st);
	*part_out = MA_CONFIG_PART_ZONES;
	for (i = 0; c->zone_files && c->zone_files[i]; i++)
		if ((st = ma_dns_load_zone_file(dns, c->zone_files[i], err,
						errlen)) != MA_OK) {
			ma_dns_free(&dns);
			return (st);
		}
	*part_out = MA_CONFIG_PART_KEYS;
	if ((st = ma_config_load_keys(c, &keys, err, errlen)) != MA_OK) {
		ma_dns_free(&dns);
		return (st);
	}
	*part_out = MA_CONFIG_PART_ENGINE;
	st = ma_engine_new(&c->policy, dns, keys, out, err, errlen);
	if (st == MA_OK)
		*part_out = MA_CONFIG_PART_NONE;
	return (st);
}

