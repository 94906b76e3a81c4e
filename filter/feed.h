/*
 * NAME
 *	feed.h - a whole message (bytes of a file) into the engine
 */
#ifndef MAILAUTH_FEED_H
#define MAILAUTH_FEED_H

#include <stddef.h>
#include <mailauth/engine.h>

/* ma_feed_message - header fields, end of header, body (CRLF) */
enum ma_status ma_feed_message(struct ma_msg *msg, const char *m, size_t len);

#endif
