/*
 * NAME
 *	notify - service manager notifications (systemd Type=notify)
 * SUMMARY
 *	READY=1, RELOADING=1, STOPPING=1 and STATUS= through sd_notify(3)
 * SYNOPSIS
 *	#include "notify.h"
 * DESCRIPTION
 *	main.c calls ma_notify_ready() once the milter socket listens, the
 *	privileges are dropped and the server runs; ma_notify_reloading()
 *	before and ma_notify_ready() after each reload (the status says
 *	whether the new configuration took); ma_notify_stopping() when a
 *	graceful stop begins. RELOADING=1 carries MONOTONIC_USEC=, as
 *	systemd 253's Type=notify-reload wants it.
 *
 *	Without NOTIFY_SOCKET in the environment sd_notify() does nothing,
 *	so the same binary runs under systemd, another init or by hand.
 *	NOTIFY_SOCKET is left in the environment: the daemon notifies more
 *	than once.
 * MEMORY
 *	Nothing kept.
 * LIMITS
 *	A STATUS= text is cut at about 500 bytes (it is for people).
 * DIAGNOSTICS
 *	A message that cannot be sent is logged at warning (with errno's
 *	text); the daemon goes on: mail must flow.
 * THREADS
 *	Any thread; sd_notify() is thread-safe.
 * STANDARDS
 *	sd_notify(3), systemd.service(5) Type=notify.
 * SEE ALSO
 *	main.c, contrib/mailauthd.service.in, mailauthd(8)
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <systemd/sd-daemon.h>

#include <mailauth/log.h>

#include "notify.h"

/* notify_send - one notification; failures logged, never fatal */
static void
notify_send(const char *what, const char *text)
{
	int	rc;

	if ((rc = sd_notify(0, text)) < 0)
		ma_log(MA_LOG_WARN, "sd_notify %s: %s", what, strerror(-rc));
}

/* ma_notify_ready - serving (at start and after a reload); fmt: STATUS= */
void
ma_notify_ready(const char *fmt, ...)
{
	char	text[512];
	va_list	ap;
	int	n;

	n = snprintf(text, sizeof(text), "READY=1\nSTATUS=");
	va_start(ap, fmt);
	if (vsnprintf(text + n, sizeof(text) - (size_t) n, fmt, ap) < 0)
		text[n] = '\0';	/* READY=1 without a status */
	va_end(ap);
	notify_send("READY", text);
}

/* ma_notify_reloading - a reload begins */
void
ma_notify_reloading(void)
{
	char	text[128];
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		ts.tv_sec = ts.tv_nsec = 0;
	snprintf(text, sizeof(text), "RELOADING=1\nMONOTONIC_USEC=%llu\n"
		 "STATUS=reloading the configuration",
		 (unsigned long long) ts.tv_sec * 1000000ULL +
		 (unsigned long long) ts.tv_nsec / 1000ULL);
	notify_send("RELOADING", text);
}

/* ma_notify_stopping - a graceful stop begins */
void
ma_notify_stopping(void)
{
	notify_send("STOPPING", "STOPPING=1\nSTATUS=stopping: finishing "
		    "messages in flight");
}
