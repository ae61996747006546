/*
 * store_wal.c - one write per commit to the WAL; see store_wal.h.
 *
 * A file opened by this VFS is a struct file: SQLite's handle, the default
 * VFS's handle for the same file right after it, and for a WAL file the
 * bytes appended and not written yet (buf[0..len), to go at offset at).
 * Every method but those of the buffer goes straight to the default VFS.
 * A buffer that cannot be allocated, or a write that does not extend the
 * bytes held, makes the file write through as SQLite's own does. A
 * database file also has a descriptor of ours (db_fd) to start its
 * writeback with.
 */
#include "store_wal.h"

#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "mem.h"

#define WAL_BUF_MAX (4u << 20)   /* bytes held at most: ~1,000 frames */
#define WAL_WRITE_MAX (64u << 10)
#define WRITEBACK_EVERY (1u << 20)

typedef struct file {
	sqlite3_file base;
	sqlite3_file *real;      /* right after this struct */
	bool wal;
	unsigned char *buf;      /* WAL only, allocated on the first append */
	size_t len;
	sqlite3_int64 at;
	int fd;                  /* the database's, to start writeback, or -1 */
	size_t unflushed;        /* bytes written since writeback was started */
} file;

/* Descriptors of the databases opened, one per file, to start writeback
 * with. They are never closed: closing any descriptor of a file drops
 * every POSIX lock this process holds on it, SQLite's included (which is
 * why SQLite itself puts off closing its own). */
#define DB_FDS_MAX 16

static struct {
	pthread_mutex_t mu;
	struct db_fd {
		dev_t dev;
		ino_t ino;
		int fd;
	} v[DB_FDS_MAX];
	size_t n;
} db_fds = { .mu = PTHREAD_MUTEX_INITIALIZER };

/* The descriptor for the database at path, or -1. */
static int db_fd(const char *path)
{
	struct stat sb;
	if (stat(path, &sb))
		return -1;
	int fd = -1;
	pthread_mutex_lock(&db_fds.mu);
	for (size_t i = 0; i < db_fds.n && fd < 0; i++)
		if (db_fds.v[i].dev == sb.st_dev && db_fds.v[i].ino == sb.st_ino)
			fd = db_fds.v[i].fd;
	if (fd < 0 && db_fds.n < DB_FDS_MAX && (fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0)
		db_fds.v[db_fds.n++] = (struct db_fd){ sb.st_dev, sb.st_ino, fd };
	pthread_mutex_unlock(&db_fds.mu);
	return fd;
}

static sqlite3_vfs vfs;
static sqlite3_vfs *base_vfs;
static sqlite3_io_methods methods;

/* Writes what is held, in pieces the default VFS takes whole (it writes
 * at most 128 KiB at once). */
static int flush(file *f)
{
	int rc = SQLITE_OK;
	for (size_t done = 0; done < f->len && !rc; done += WAL_WRITE_MAX) {
		size_t n = f->len - done < WAL_WRITE_MAX ? f->len - done : WAL_WRITE_MAX;
		rc = f->real->pMethods->xWrite(f->real, f->buf + done, (int)n,
					       f->at + (sqlite3_int64)done);
	}
	f->len = 0;
	return rc;
}

static int x_close(sqlite3_file *p)
{
	file *f = (file *)p;
	int rc = flush(f);
	int rc2 = f->real->pMethods->xClose(f->real);
	ds_free(f->buf);
	f->buf = NULL;
	return rc ? rc : rc2;
}

static int x_read(sqlite3_file *p, void *out, int amt, sqlite3_int64 off)
{
	file *f = (file *)p;
	/* SQLite reads back frames of its own transaction when its page
	 * cache has dropped them: they must be in the file first. */
	if (f->len && off < f->at + (sqlite3_int64)f->len && off + amt > f->at) {
		int rc = flush(f);
		if (rc)
			return rc;
	}
	return f->real->pMethods->xRead(f->real, out, amt, off);
}

static int x_write(sqlite3_file *p, const void *data, int amt, sqlite3_int64 off)
{
	file *f = (file *)p;
	if (!f->wal || amt <= 0) {
		int rc = f->real->pMethods->xWrite(f->real, data, amt, off);
		/* A checkpoint writes pages into the database, then syncs it:
		 * writeback started as they come spreads the disk's work instead
		 * of queueing it all before the next commit's sync of the WAL. */
		if (!rc && f->fd >= 0 && (f->unflushed += (size_t)amt) >= WRITEBACK_EVERY) {
			sync_file_range(f->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
			f->unflushed = 0;
		}
		return rc;
	}
	sqlite3_int64 end = f->at + (sqlite3_int64)f->len;
	/* A frame of this transaction written again where it stands. */
	if (f->len && off >= f->at && off + amt <= end) {
		memcpy(f->buf + (off - f->at), data, (size_t)amt);
		return SQLITE_OK;
	}
	if (f->len && off == end && f->len + (size_t)amt <= WAL_BUF_MAX) {
		memcpy(f->buf + f->len, data, (size_t)amt);
		f->len += (size_t)amt;
		return SQLITE_OK;
	}
	int rc = flush(f);
	if (rc)
		return rc;
	if ((size_t)amt > WAL_BUF_MAX || (!f->buf && !(f->buf = ds_malloc(WAL_BUF_MAX))))
		return f->real->pMethods->xWrite(f->real, data, amt, off);
	memcpy(f->buf, data, (size_t)amt);
	f->len = (size_t)amt;
	f->at = off;
	return SQLITE_OK;
}

static int x_truncate(sqlite3_file *p, sqlite3_int64 size)
{
	file *f = (file *)p;
	int rc = flush(f);
	return rc ? rc : f->real->pMethods->xTruncate(f->real, size);
}

static int x_sync(sqlite3_file *p, int flags)
{
	file *f = (file *)p;
	int rc = flush(f);
	return rc ? rc : f->real->pMethods->xSync(f->real, flags);
}

static int x_file_size(sqlite3_file *p, sqlite3_int64 *size)
{
	file *f = (file *)p;
	int rc = flush(f);
	return rc ? rc : f->real->pMethods->xFileSize(f->real, size);
}

static int x_lock(sqlite3_file *p, int lock)
{
	file *f = (file *)p;
	return f->real->pMethods->xLock(f->real, lock);
}

static int x_unlock(sqlite3_file *p, int lock)
{
	file *f = (file *)p;
	return f->real->pMethods->xUnlock(f->real, lock);
}

static int x_check_reserved(sqlite3_file *p, int *out)
{
	file *f = (file *)p;
	return f->real->pMethods->xCheckReservedLock(f->real, out);
}

static int x_file_control(sqlite3_file *p, int op, void *arg)
{
	file *f = (file *)p;
	int rc = flush(f);
	return rc ? rc : f->real->pMethods->xFileControl(f->real, op, arg);
}

static int x_sector_size(sqlite3_file *p)
{
	file *f = (file *)p;
	return f->real->pMethods->xSectorSize(f->real);
}

static int x_device(sqlite3_file *p)
{
	file *f = (file *)p;
	return f->real->pMethods->xDeviceCharacteristics(f->real);
}

static int x_shm_map(sqlite3_file *p, int page, int size, int extend, void volatile **out)
{
	file *f = (file *)p;
	return f->real->pMethods->xShmMap(f->real, page, size, extend, out);
}

static int x_shm_lock(sqlite3_file *p, int offset, int n, int flags)
{
	file *f = (file *)p;
	return f->real->pMethods->xShmLock(f->real, offset, n, flags);
}

static void x_shm_barrier(sqlite3_file *p)
{
	file *f = (file *)p;
	f->real->pMethods->xShmBarrier(f->real);
}

static int x_shm_unmap(sqlite3_file *p, int del)
{
	file *f = (file *)p;
	return f->real->pMethods->xShmUnmap(f->real, del);
}

/* Memory-mapped reads, where the default VFS has them (else SQLite reads). */
static int x_fetch(sqlite3_file *p, sqlite3_int64 off, int amt, void **out)
{
	file *f = (file *)p;
	*out = NULL;
	if (f->real->pMethods->iVersion < 3)
		return SQLITE_OK;
	int rc = flush(f);
	return rc ? rc : f->real->pMethods->xFetch(f->real, off, amt, out);
}

static int x_unfetch(sqlite3_file *p, sqlite3_int64 off, void *ptr)
{
	file *f = (file *)p;
	return f->real->pMethods->iVersion < 3 ? SQLITE_OK
					       : f->real->pMethods->xUnfetch(f->real, off, ptr);
}

static int x_open(sqlite3_vfs *v, sqlite3_filename name, sqlite3_file *p, int flags,
		  int *out_flags)
{
	(void)v;
	file *f = (file *)p;
	memset(f, 0, sizeof *f);
	f->real = (sqlite3_file *)(f + 1);
	f->wal = (flags & SQLITE_OPEN_WAL) != 0;
	f->fd = -1;
	int rc = base_vfs->xOpen(base_vfs, name, f->real, flags, out_flags);
	/* Writeback only: a database without a descriptor goes without. */
	if (rc == SQLITE_OK && name && (flags & SQLITE_OPEN_MAIN_DB))
		f->fd = db_fd(name);
	/* SQLite closes a handle whose methods are set, even when the open
	 * failed. */
	f->base.pMethods = f->real->pMethods ? &methods : NULL;
	return rc;
}

static bool registered;

static void setup(void)
{
	base_vfs = sqlite3_vfs_find(NULL);
	if (!base_vfs)
		return;
	const sqlite3_io_methods m = {
		.iVersion = 3,
		.xClose = x_close,
		.xRead = x_read,
		.xWrite = x_write,
		.xTruncate = x_truncate,
		.xSync = x_sync,
		.xFileSize = x_file_size,
		.xLock = x_lock,
		.xUnlock = x_unlock,
		.xCheckReservedLock = x_check_reserved,
		.xFileControl = x_file_control,
		.xSectorSize = x_sector_size,
		.xDeviceCharacteristics = x_device,
		.xShmMap = x_shm_map,
		.xShmLock = x_shm_lock,
		.xShmBarrier = x_shm_barrier,
		.xShmUnmap = x_shm_unmap,
		.xFetch = x_fetch,
		.xUnfetch = x_unfetch,
	};
	methods = m;
	/* The rest of the VFS is the default one's: its methods and their
	 * data (pAppData) copied, so that they get what they expect. */
	vfs = *base_vfs;
	vfs.pNext = NULL;
	/* SQLite's own file, then ours around it, aligned for it. */
	vfs.szOsFile = (int)(sizeof(file) + (size_t)base_vfs->szOsFile);
	vfs.zName = "dossier-wal";
	vfs.xOpen = x_open;
	registered = sqlite3_vfs_register(&vfs, 0) == SQLITE_OK;
}

const char *ds_store_wal_vfs(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, setup);
	return registered ? vfs.zName : NULL;
}
