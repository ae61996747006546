/*
 * store_wal.h - the SQLite backend's file layer (a VFS over the default
 * one) that writes a transaction's WAL frames with a few system calls, and
 * spreads a checkpoint's writes to the database over its run.
 *
 * SQLite appends each frame of a commit to the WAL with two writes (its
 * header, then the page): a group of forty inputs is some three hundred
 * writes. Here the appends to a WAL file are gathered in memory and written
 * in pieces of 64 KiB before the sync that ends the commit, before any read
 * of what they cover, and before anything else changes the file (a
 * truncation, a write elsewhere, its size asked, its closing). What a
 * commit covered is on disk when the commit returns, exactly as without
 * this layer; readers learn of new frames only from the WAL index, which
 * SQLite updates after the sync.
 *
 * That holds because every commit syncs the WAL: the store runs with
 * synchronous=FULL, and refuses to run with less (store_sqlite.c).
 *
 * A checkpoint copies thousands of pages into the database, then syncs
 * it: all of them would reach the disk at that sync, and a commit's sync
 * of the WAL would wait behind them (tens of milliseconds). Here the
 * writeback of the database is started after each MiB written to it
 * (sync_file_range, which does not wait for it), so the disk takes them
 * as they come; durability still rests on the sync. Other files go
 * straight through.
 */
#ifndef DS_STORE_WAL_H
#define DS_STORE_WAL_H

/* The layer's VFS name, registered on the first call (thread-safe); NULL
 * when it cannot be (SQLite's default VFS is then used as it is). */
const char *ds_store_wal_vfs(void);

#endif
