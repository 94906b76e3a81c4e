/*
 * NAME
 *	sign_int.h - what dkim_sign.c asks of keystore.c
 * DESCRIPTION
 *	Not part of the engine contract (include/mailauth/sign.h). The key
 *	store makes the libopendkim signing handle itself, so that the
 *	private key bytes never leave keystore.c; dkim_sign.c feeds the
 *	handle and renders the signature.
 */
#ifndef MAILAUTH_SIGN_INT_H
#define MAILAUTH_SIGN_INT_H

#include <time.h>

#include <dkim.h>

struct ma_keystore;
struct ma_sign_key;

/*
 * ma_keystore_dkim_sign - a libopendkim signing handle for key k with
 * c= header/body relaxed (1) or simple (0), t= now (0: the clock),
 * x= t= + ttl (0: none), and oversign (lower-case names, NULL-terminated,
 * checked by the caller). The handle comes from a library handle shared
 * by every signer with the same ttl and oversign list, or, when now is
 * fixed or MA_LIMIT_SIGN_PROFILES is reached, from a private one put in
 * *own_lib_out, which the caller closes with ma_keystore_lib_close()
 * after dkim_free(). NULL on failure with *st set.
 */
DKIM   *ma_keystore_dkim_sign(const struct ma_keystore *ks,
			      const struct ma_sign_key *k, int hrelaxed,
			      int brelaxed, time_t now, unsigned ttl,
			      const char *const *oversign,
			      DKIM_LIB **own_lib_out, DKIM_STAT *st);

/* ma_keystore_lib_close - close a private library handle; takes NULL */
void	ma_keystore_lib_close(DKIM_LIB *lib);

#endif
