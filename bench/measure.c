/*
 * measure.c - wall time and peak memory of one command.
 *
 *   measure LABEL -- CMD ARGS...
 *
 * Runs CMD with its standard streams inherited (its stdout is ours), waits
 * for it with wait4() and prints one line to stderr:
 *
 *   LABEL: wall=S.SSS s user=S.SSS s sys=S.SSS s maxrss=N KiB exit=E
 *
 * wall is measured on the monotonic clock from just before fork() to the
 * end of the wait; user and sys are the CPU time the command and its
 * threads used (rusage), which other processes sharing the cores do not
 * inflate as they do wall; maxrss is the child's peak resident set as the
 * kernel reports it (KiB on Linux). measure exits with the command's exit code;
 * a command killed by signal S counts as 128+S, as in the shell; 127 when
 * CMD is not found, 126 when it cannot be executed. While the command runs, SIGINT and SIGQUIT are
 * ignored here (the child still gets them), so that an interrupted command
 * is still reported. Usage errors exit 2 without running anything.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* wait4(), struct rusage */
#endif

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int usage(void)
{
	fprintf(stderr, "usage: measure LABEL -- CMD [ARGS...]\n");
	return 2;
}

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* A rusage time in milliseconds, rounded to nearest. */
static int64_t ms_of(const struct timeval *tv)
{
	return (int64_t)tv->tv_sec * 1000 + (tv->tv_usec + 500) / 1000;
}

int main(int argc, char **argv)
{
	struct sigaction ignore, old_int, old_quit;
	struct rusage ru;
	int status = 0, code;
	pid_t pid;

	if (argc < 4 || strcmp(argv[2], "--") != 0 || argv[1][0] == '\0')
		return usage();
	const char *label = argv[1];
	char **cmd = argv + 3;

	/* Nothing of ours may sit in a stdio buffer across the fork. */
	fflush(NULL);

	memset(&ignore, 0, sizeof(ignore));
	ignore.sa_handler = SIG_IGN;
	sigemptyset(&ignore.sa_mask);
	sigaction(SIGINT, &ignore, &old_int);
	sigaction(SIGQUIT, &ignore, &old_quit);

	int64_t start = now_ns();
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "measure: fork: %s\n", strerror(errno));
		return 1;
	}
	if (pid == 0) {
		sigaction(SIGINT, &old_int, NULL);
		sigaction(SIGQUIT, &old_quit, NULL);
		execvp(cmd[0], cmd);
		fprintf(stderr, "measure: cannot run %s: %s\n", cmd[0], strerror(errno));
		_exit(errno == ENOENT ? 127 : 126);
	}

	memset(&ru, 0, sizeof(ru));
	while (wait4(pid, &status, 0, &ru) < 0) {
		if (errno != EINTR) {
			fprintf(stderr, "measure: wait4: %s\n", strerror(errno));
			return 1;
		}
	}
	int64_t wall = now_ns() - start;

	if (WIFEXITED(status))
		code = WEXITSTATUS(status);
	else if (WIFSIGNALED(status))
		code = 128 + WTERMSIG(status);
	else
		code = 1;

	/* Milliseconds, rounded to nearest. */
	int64_t ms = (wall + 500000) / 1000000;
	int64_t user = ms_of(&ru.ru_utime), sys = ms_of(&ru.ru_stime);
	fprintf(stderr, "%s: wall=%lld.%03lld s user=%lld.%03lld s sys=%lld.%03lld s maxrss=%ld KiB exit=%d\n",
		label, (long long)(ms / 1000), (long long)(ms % 1000), (long long)(user / 1000),
		(long long)(user % 1000), (long long)(sys / 1000), (long long)(sys % 1000),
		(long)ru.ru_maxrss, code);
	return code;
}
