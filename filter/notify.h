/*
 * NAME
 *	notify.h - tell the service manager (systemd) how the daemon is
 * DESCRIPTION
 *	sd_notify(3) messages for Type=notify: ready, reloading, stopping.
 *	Each is a no-op when NOTIFY_SOCKET is unset (started by hand, by
 *	another init), so callers never ask whether systemd is there.
 */
#ifndef MAILAUTH_NOTIFY_H
#define MAILAUTH_NOTIFY_H

void	ma_notify_ready(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
void	ma_notify_reloading(void);
void	ma_notify_stopping(void);

#endif
