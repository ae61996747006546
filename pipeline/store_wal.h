/*
 * store_wal.h - the SQLite backend's file layer (a VFS over the default
 * one) that writes a transaction's WAL frames in one system call.
 *
 * SQLite appends each frame of a commit to the WAL with two writes (its
 * header, then the page): a group of forty inputs is some three hundred
 * writes. Here the appends to a WAL file are gathered in memory and written
 * with one pwrite before the sync that ends the commit, before any read
 * of what they cover, and before anything else changes the file (a
 * truncation, a write elsewhere, its size asked, its closing). What a
 * commit covered is on disk when the commit returns, exactly as without
 * this layer; readers learn of new frames only from the WAL index, which
 * SQLite updates after the sync.
 *
 * That holds because every commit syncs the WAL: the store runs with
 * synchronous=FULL, and refuses to run with less (store_sqlite.c). Files
 * other than WAL files go straight through.
 */
#ifndef DS_STORE_WAL_H
#define DS_STORE_WAL_H

/* The layer's VFS name, registered on the first call (thread-safe); NULL
 * when it cannot be (SQLite's default VFS is then used as it is). */
const char *ds_store_wal_vfs(void);

#endif
