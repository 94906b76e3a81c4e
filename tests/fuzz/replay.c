/*
 * NAME
 *	replay.c - main() for a fuzz target built without libFuzzer
 * SYNOPSIS
 *	make tests/fuzz/replay_dkim	(a build without --enable-fuzz)
 *	valgrind -q --error-exitcode=99 tests/fuzz/replay_dkim [-r N] PATH...
 * DESCRIPTION
 *	Runs LLVMFuzzerTestOneInput() once on each file named, and on each
 *	file of each directory named (not recursively, in name order), all
 *	in one process, so inputs see the state earlier ones left; -r N
 *	runs the whole list N times. Prints "replay: N inputs" and exits 0;
 *	what it is for is the checker around it: valgrind sees reads and
 *	writes out of bounds in libopendkim and libcrypto, which a
 *	sanitizer build does not instrument (doc/robustness.md).
 * DIAGNOSTICS
 *	Exit 2 on bad arguments or an unreadable path (with a message).
 * LIMITS
 *	Inputs over 16 MiB are refused.
 * SEE ALSO
 *	tests/fuzz/run.sh, libFuzzer's -runs option (the same job in a
 *	fuzz build).
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define REPLAY_MAX_BYTES	(16 * 1024 * 1024)

int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* run_file - one input, in a buffer of its exact size; 0, or -1 */
static int
run_file(const char *path)
{
	struct stat st;
	FILE   *f;
	uint8_t *buf;
	size_t	n;

	if ((f = fopen(path, "rb")) == NULL || fstat(fileno(f), &st) != 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		if (f != NULL)
			fclose(f);
		return (-1);
	}
	if (st.st_size > REPLAY_MAX_BYTES) {
		fclose(f);
		fprintf(stderr, "replay: %s: too large\n", path);
		return (-1);
	}
	n = (size_t) st.st_size;
	/* exact size, as libFuzzer does: over-reads land outside it */
	if ((buf = malloc(n > 0 ? n : 1)) == NULL
	    || fread(buf, 1, n, f) != n) {
		free(buf);
		fclose(f);
		fprintf(stderr, "replay: %s: cannot read\n", path);
		return (-1);
	}
	fclose(f);
	(void) LLVMFuzzerTestOneInput(buf, n);
	free(buf);
	return (0);
}

/* run_path - a file, or the files of a directory; count in *n */
static int
run_path(const char *path, unsigned long *n)
{
	struct dirent **ents;
	struct stat st;
	char	sub[4096];
	int	i, k, rc = 0;

	if (stat(path, &st) != 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return (-1);
	}
	if (!S_ISDIR(st.st_mode)) {
		(*n)++;
		return (run_file(path));
	}
	if ((k = scandir(path, &ents, NULL, alphasort)) < 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return (-1);
	}
	for (i = 0; i < k; i++) {
		int	len = snprintf(sub, sizeof(sub), "%s/%s", path,
				       ents[i]->d_name);

		if (rc == 0 && len > 0 && (size_t) len < sizeof(sub)
		    && stat(sub, &st) == 0 && S_ISREG(st.st_mode)) {
			(*n)++;
			rc = run_file(sub);
		}
		free(ents[i]);
	}
	free(ents);
	return (rc);
}

/* main - run the paths, the whole list -r N times */
int
main(int argc, char **argv)
{
	unsigned long n = 0, rounds = 1, r;
	int	i = 1;
	char   *end;

	if (argc > 2 && strcmp(argv[1], "-r") == 0) {
		errno = 0;
		rounds = strtoul(argv[2], &end, 10);
		if (errno != 0 || *end != 0 || rounds == 0
		    || rounds > 1000000) {
			fprintf(stderr, "replay: bad -r %s\n", argv[2]);
			return (2);
		}
		i = 3;
	}
	if (i >= argc) {
		fprintf(stderr, "usage: %s [-r N] PATH...\n", argv[0]);
		return (2);
	}
	for (r = 0; r < rounds; r++)
		for (int j = i; j < argc; j++)
			if (run_path(argv[j], &n) != 0)
				return (2);
	printf("replay: %lu inputs\n", n);
	return (0);
}
