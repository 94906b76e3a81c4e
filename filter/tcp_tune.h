/*
 * NAME
 *	tcp_tune.h - TCP_NODELAY/TCP_QUICKACK on libmilter's TCP connections
 * DESCRIPTION
 *	See tcp_tune.c. The wrappers need no call; this only tells whether
 *	they are linked in.
 */
#ifndef MAILAUTH_TCP_TUNE_H
#define MAILAUTH_TCP_TUNE_H

/* ma_tcp_tune_active - 1 when inet: milter connections are tuned */
int	ma_tcp_tune_active(void);

#endif
