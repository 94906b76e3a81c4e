/*
 * NAME
 *	status.h - call status shared by every engine module
 * DESCRIPTION
 *	A call's status says whether the call did its job; it is never an
 *	authentication result (a DKIM signature that fails verification is
 *	a call that returned MA_OK). See STYLE.md section 5.
 */
#ifndef MAILAUTH_STATUS_H
#define MAILAUTH_STATUS_H

enum ma_status {
	MA_OK = 0,
	MA_ERR_SYNTAX,		/* input does not parse */
	MA_ERR_LIMIT,		/* a named limit (limits.h) was hit */
	MA_ERR_TEMP,		/* transient: DNS, timeout, budget */
	MA_ERR_NOMEM,		/* allocation failed */
	MA_ERR_INTERNAL,	/* our bug or library misuse */
	MA_ERR_NOTFOUND,	/* lookup found nothing (not an error to log) */
	MA_ERR_IO		/* file or socket error; errno is meaningful */
};

/* ma_status_str - constant name of a status, for logs */
const char *ma_status_str(enum ma_status st);

#endif
