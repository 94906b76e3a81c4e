/*
 * NAME
 *	fuzz_config.c - libFuzzer target: configuration file parser
 * DESCRIPTION
 *	The input is the text of a mailauthd.conf. It is written to one
 *	temporary file (made once per process, rewritten per input) and
 *	loaded with ma_config_load, then freed. Nothing survives an input
 *	but the file name.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <mailauth/log.h>
#include "cfg.h"

static char tmp_path[] = "/tmp/fuzz_config.XXXXXX";
static int tmp_fd = -1;

/* quiet_sink - drop log lines: the parser's complaints are expected */
static void
quiet_sink(enum ma_log_level level, const char *text, void *ctx)
{
	(void) level;
	(void) text;
	(void) ctx;
}

/* remove_tmp - at exit: delete the temporary file */
static void
remove_tmp(void)
{
	(void) unlink(tmp_path);
}

/* write_all - replace the temp file's content with data */
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

/* LLVMFuzzerTestOneInput - one configuration text */
int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ma_config *cfg = NULL;
	char	err[512];

	if (tmp_fd < 0) {
		ma_log_set_sink(quiet_sink, NULL, MA_LOG_PANIC);
		if ((tmp_fd = mkstemp(tmp_path)) < 0)
			abort();
		atexit(remove_tmp);
	}
	if (write_all(tmp_fd, data, size) != 0)
		abort();
	(void) ma_config_load(tmp_path, &cfg, err, sizeof(err));
	ma_config_free(&cfg);
	return (0);
}
