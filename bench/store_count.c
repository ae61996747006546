/*
 * store_count.c - how many interactions a store holds for one source, for
 * the server benchmark's check that every 2xx answer is a stored input.
 *
 *   store_count DB_FILE SOURCE
 *
 * Prints the count on stdout; exit 1 when the store cannot be read, 2 on
 * bad usage. The store is opened read-only.
 */
#include <sqlite3.h>
#include <stdio.h>

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: store_count DB_FILE SOURCE\n");
		return 2;
	}
	sqlite3 *db = NULL;
	sqlite3_stmt *q = NULL;
	int rc = 1;
	if (sqlite3_open_v2(argv[1], &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "SELECT count(*) FROM interactions WHERE source = ?", -1, &q,
			       NULL) != SQLITE_OK) {
		fprintf(stderr, "store_count: %s: %s\n", argv[1], db ? sqlite3_errmsg(db) : "no memory");
		goto done;
	}
	sqlite3_bind_text(q, 1, argv[2], -1, SQLITE_STATIC);
	if (sqlite3_step(q) != SQLITE_ROW) {
		fprintf(stderr, "store_count: %s: %s\n", argv[1], sqlite3_errmsg(db));
		goto done;
	}
	printf("%lld\n", (long long)sqlite3_column_int64(q, 0));
	rc = 0;
done:
	sqlite3_finalize(q);
	sqlite3_close(db);
	return rc;
}
