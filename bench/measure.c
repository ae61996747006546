/*
 * measure.c - wall time and peak memory of one command.
 *
 *   measure LABEL -- CMD ARGS...
 *
 * Runs CMD with its standard streams inherited (its stdout is ours), waits
 * for it with wait4() and prints one line to stderr:
 *
 *   LABEL: wall=S.SSS s cpu=S.SSS s user=S.SSS s sys=S.SSS s thread=S.SSS s maxrss=N KiB exit=E
 *
 * wall is measured on the monotonic clock from just before fork() to the
 * end of the wait; cpu is user + sys, the CPU time the command and its
 * threads used (rusage: what it took of the processors, which other
 * processes sharing the cores do not inflate as they do wall); thread is
 * the CPU time (user + sys) of its busiest thread, read from
 * /proc/PID/task/ every 10 ms while it runs (so up to 10 ms short, and 0
 * where /proc is not there): what the command takes on uncontended cores
 * when that thread is the one the others wait for; maxrss is the child's
 * peak resident set as the kernel reports it (KiB on Linux). measure
 * exits with the command's exit code;
 * a command killed by signal S counts as 128+S, as in the shell; 127 when
 * CMD is not found, 126 when it cannot be executed. While the command runs, SIGINT and SIGQUIT are
 * ignored here (the child still gets them), so that an interrupted command
 * is still reported. Usage errors exit 2 without running anything.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* wait4(), struct rusage */
#endif

#include <dirent.h>
#include <errno.h>
#include <limits.h>
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

/* The CPU time of pid's busiest thread so far, in clock ticks; 0 when
 * /proc cannot tell. */
static long long busiest_thread(pid_t pid)
{
	char path[64];
	long long best = 0;
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		char stat[PATH_MAX], buf[1024];
		if (e->d_name[0] == '.')
			continue;
		snprintf(stat, sizeof(stat), "%s/%s/stat", path, e->d_name);
		FILE *f = fopen(stat, "r");
		if (!f)
			continue;
		size_t n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[n] = '\0';
		/* After the command's name in parentheses: state (field 3) ...
		 * utime (14), stime (15). */
		char *p = strrchr(buf, ')');
		unsigned long long ut, st;
		if (p && sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
				&ut, &st) == 2 && (long long)(ut + st) > best)
			best = (long long)(ut + st);
	}
	closedir(d);
	return best;
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
	long long ticks = 0;
	for (;;) {
		pid_t r = wait4(pid, &status, WNOHANG, &ru);
		if (r == pid)
			break;
		if (r < 0 && errno != EINTR) {
			fprintf(stderr, "measure: wait4: %s\n", strerror(errno));
			return 1;
		}
		long long t = busiest_thread(pid);
		if (t > ticks)
			ticks = t;
		struct timespec nap = { 0, 10 * 1000 * 1000 };
		nanosleep(&nap, NULL);
	}
	int64_t wall = now_ns() - start;
	long hz = sysconf(_SC_CLK_TCK);
	int64_t thread = hz > 0 ? ticks * 1000 / hz : 0;

	if (WIFEXITED(status))
		code = WEXITSTATUS(status);
	else if (WIFSIGNALED(status))
		code = 128 + WTERMSIG(status);
	else
		code = 1;

	/* Milliseconds, rounded to nearest. */
	int64_t ms = (wall + 500000) / 1000000;
	int64_t user = ms_of(&ru.ru_utime), sys = ms_of(&ru.ru_stime), cpu = user + sys;
	fprintf(stderr, "%s: wall=%lld.%03lld s cpu=%lld.%03lld s user=%lld.%03lld s"
		" sys=%lld.%03lld s thread=%lld.%03lld s maxrss=%ld KiB exit=%d\n",
		label, (long long)(ms / 1000), (long long)(ms % 1000), (long long)(cpu / 1000),
		(long long)(cpu % 1000), (long long)(user / 1000), (long long)(user % 1000),
		(long long)(sys / 1000), (long long)(sys % 1000), (long long)(thread / 1000),
		(long long)(thread % 1000), (long)ru.ru_maxrss, code);
	return code;
}
