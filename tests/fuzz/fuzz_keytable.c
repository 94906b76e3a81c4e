/*
 * NAME
 *	fuzz_keytable.c - libFuzzer target: KeyTable and SigningTable parsers
 * DESCRIPTION
 *	The input is split at its first NUL byte (no NUL: at the middle) into
 *	a KeyTable text and a SigningTable text. Both are written to two
 *	temporary files (made once per process, rewritten per input) and
 *	loaded with ma_keystore_load: KeyTable as "file:PATH", SigningTable as
 *	"file:PATH" or "refile:PATH" by the low bit of the first byte.
 *	Key files named in the table mostly do not exist; the load fails then,
 *	which is expected. A key store that loads is asked for one address
 *	and freed.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <mailauth/log.h>
#include <mailauth/sign.h>

static char kt_path[] = "/tmp/fuzz_keytable.kt.XXXXXX";
static char st_path[] = "/tmp/fuzz_keytable.st.XXXXXX";
static char kt_spec[64], st_file_spec[64], st_re_spec[64];
static int kt_fd = -1, st_fd = -1;

/* quiet_sink - drop log lines: load errors are expected */
static void
quiet_sink(enum ma_log_level level, const char *text, void *ctx)
{
	(void) level;
	(void) text;
	(void) ctx;
}

/* remove_tmp - at exit: delete the temporary files */
static void
remove_tmp(void)
{
	(void) unlink(kt_path);
	(void) unlink(st_path);
}

/* write_all - replace a file's content with data */
static int
write_all(int fd, const uint8_t *data, size_t size)
{
	ssize_t	n;

	if (ftruncate(fd, 0) != 0 || lseek(fd, 0, SEEK_SET) != 0)
		return (-1);
	while (size > 0) {
		if ((n = write(fd, data, size)) <= 0)
			return (-1);
		data += n;
		size -= (size_t) n;
	}
	return (0);
}

/* setup - once per process: temp files and their table names */
static void
setup(void)
{
	ma_log_set_sink(quiet_sink, NULL, MA_LOG_PANIC);
	if ((kt_fd = mkstemp(kt_path)) < 0 || (st_fd = mkstemp(st_path)) < 0)
		abort();
	atexit(remove_tmp);
	(void) snprintf(kt_spec, sizeof(kt_spec), "file:%s", kt_path);
	(void) snprintf(st_file_spec, sizeof(st_file_spec), "file:%s", st_path);
	(void) snprintf(st_re_spec, sizeof(st_re_spec), "refile:%s", st_path);
}

/* LLVMFuzzerTestOneInput - one KeyTable + SigningTable pair */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ma_keystore_options opt;
	struct ma_keystore *ks = NULL;
	const struct ma_sign_key *keys[4];
	const uint8_t *nul;
	size_t	kt_len, st_off, n;
	char	err[512];

	if (kt_fd < 0)
		setup();
	if ((nul = memchr(data, '\0', size)) != NULL) {
		kt_len = (size_t) (nul - data);
		st_off = kt_len + 1;
	} else {
		kt_len = size / 2;
		st_off = kt_len;
	}
	if (write_all(kt_fd, data, kt_len) != 0
	    || write_all(st_fd, data + st_off, size - st_off) != 0)
		abort();

	memset(&opt, 0, sizeof(opt));
	opt.key_table = kt_spec;
	opt.signing_table = (size > 0 && (data[0] & 1)) ? st_re_spec
		: st_file_spec;
	opt.require_safe_keys = 0;
	opt.min_key_bits = 1024;
	if (ma_keystore_load(&opt, &ks, err, sizeof(err)) == MA_OK && ks != NULL)
		(void) ma_keystore_lookup(ks, "user@example.com", keys,
					  sizeof(keys) / sizeof(keys[0]), &n);
	ma_keystore_free(&ks);
	return (0);
}
