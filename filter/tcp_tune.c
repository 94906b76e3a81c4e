/*
 * NAME
 *	tcp_tune - no Nagle or delayed-ACK stalls on TCP milter connections
 * SUMMARY
 *	accept(), read() and close() wrappers around libmilter's socket I/O.
 * SYNOPSIS
 *	linked with -Wl,--wrap=accept,--wrap=read,--wrap=close and the
 *	static libmilter.a (configure does both when libmilter.a exists)
 * DESCRIPTION
 *	Postfix's milter client sets no TCP_NODELAY. When it writes a
 *	packet that gets no reply (the macros before a command, or a step
 *	we negotiated away with SMFIP_NR_*) and then a second small one,
 *	Nagle holds the second until our ACK of the first, and Linux
 *	delays that ACK by up to 40 ms, longer once the connection looks
 *	interactive ("pingpong"). The same happens the other way round
 *	when we send several modification requests at end of message.
 *
 *	libmilter owns the socket and offers no hook, so its calls are
 *	wrapped at link time. For every connection accept() returns on
 *	an AF_INET/AF_INET6 socket, TCP_NODELAY is set (our replies leave
 *	at once) and the descriptor is marked; after every read() that
 *	returns data on a marked descriptor, TCP_QUICKACK is set again,
 *	which sends the pending ACK now and leaves pingpong mode (the
 *	kernel clears the flag by itself, hence after every read).
 *	close() unmarks. Unix-domain connections are untouched and cost
 *	one table lookup per read.
 *
 *	ma_tcp_tune_active() says whether the wrappers are linked in
 *	(so the daemon can say so for an inet: socket).
 * LIMITS
 *	MA_TCP_TUNE_FDS descriptors are tracked; a connection on a higher
 *	descriptor works, without the tuning.
 * DIAGNOSTICS
 *	None: a failed setsockopt() only loses the tuning; errno of the
 *	wrapped call is preserved.
 * THREADS
 *	The mark table is written with atomic stores: accept() runs in
 *	libmilter's listener thread, read() and close() in the session
 *	threads.
 * SEE ALSO
 *	tcp(7) TCP_NODELAY, TCP_QUICKACK; ../shared/bench/README.md.
 */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tcp_tune.h"

#define MA_TCP_TUNE_FDS	65536

#ifdef MA_TCP_TUNE

static unsigned char tcp_fd[MA_TCP_TUNE_FDS];

int	__real_accept(int fd, struct sockaddr *sa, socklen_t *len);
ssize_t	__real_read(int fd, void *buf, size_t len);
int	__real_close(int fd);
int	__wrap_accept(int fd, struct sockaddr *sa, socklen_t *len);
ssize_t	__wrap_read(int fd, void *buf, size_t len);
int	__wrap_close(int fd);

static void
set_opt(int fd, int opt)
{
	int	one = 1;

	(void) setsockopt(fd, IPPROTO_TCP, opt, &one, sizeof(one));
}

/* is_tcp - the accepted socket's family is an IP one */
static int
is_tcp(int fd, const struct sockaddr *sa, const socklen_t *len)
{
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof(ss);

	if (sa == NULL || len == NULL || *len < sizeof(sa_family_t)) {
		if (getsockname(fd, (struct sockaddr *) &ss, &sslen) != 0)
			return (0);
		sa = (const struct sockaddr *) &ss;
	}
	return (sa->sa_family == AF_INET || sa->sa_family == AF_INET6);
}

int
__wrap_accept(int fd, struct sockaddr *sa, socklen_t *len)
{
	int	s, save;

	if ((s = __real_accept(fd, sa, len)) < 0 || s >= MA_TCP_TUNE_FDS)
		return (s);
	save = errno;
	if (is_tcp(s, sa, len)) {
		set_opt(s, TCP_NODELAY);
		set_opt(s, TCP_QUICKACK);
		__atomic_store_n(&tcp_fd[s], 1, __ATOMIC_RELEASE);
	} else {
		__atomic_store_n(&tcp_fd[s], 0, __ATOMIC_RELEASE);
	}
	errno = save;
	return (s);
}

ssize_t
__wrap_read(int fd, void *buf, size_t len)
{
	ssize_t	n;
	int	save;

	n = __real_read(fd, buf, len);
	if (n > 0 && fd >= 0 && fd < MA_TCP_TUNE_FDS &&
	    __atomic_load_n(&tcp_fd[fd], __ATOMIC_ACQUIRE)) {
		save = errno;
		set_opt(fd, TCP_QUICKACK);
		errno = save;
	}
	return (n);
}

int
__wrap_close(int fd)
{
	if (fd >= 0 && fd < MA_TCP_TUNE_FDS)
		__atomic_store_n(&tcp_fd[fd], 0, __ATOMIC_RELEASE);
	return (__real_close(fd));
}

int
ma_tcp_tune_active(void)
{
	return (1);
}

#else

int
ma_tcp_tune_active(void)
{
	return (0);
}

#endif
