/*
 * json.c - bounded JSON parsing and field access; see json.h.
 */
#include "json.h"

#include <errno.h>
#include <float.h>
#include <locale.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mem.h"

bool ds_utf8_valid(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;
	while (i < len) {
		unsigned c = s[i];
		if (c < 0x80) {
			i++;
			continue;
		}
		size_t n;
		unsigned min;
		unsigned cp;
		if ((c & 0xE0) == 0xC0) {
			n = 1; min = 0x80; cp = c & 0x1F;
		} else if ((c & 0xF0) == 0xE0) {
			n = 2; min = 0x800; cp = c & 0x0F;
		} else if ((c & 0xF8) == 0xF0) {
			n = 3; min = 0x10000; cp = c & 0x07;
		} else {
			return false;
		}
		if (len - i <= n)
			return false;
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xC0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3F);
		}
		if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return false;
		i += n + 1;
	}
	return true;
}

size_t ds_utf8_bad_at(const char *s, size_t len)
{
	size_t lo = 0;
	/* Validate in chunks so the offset is close without a second parser. */
	while (lo < len) {
		size_t hi = lo + 4096 < len ? lo + 4096 : len;
		/* Extend to a sequence boundary. */
		while (hi < len && ((unsigned char)s[hi] & 0xC0) == 0x80)
			hi++;
		if (!ds_utf8_valid(s + lo, hi - lo)) {
			for (size_t i = lo; i < hi; i++) {
				size_t end = i + 1;
				while (end < hi && ((unsigned char)s[end] & 0xC0) == 0x80)
					end++;
				if (!ds_utf8_valid(s + i, end - i))
					return i;
				i = end - 1;
			}
			return lo;
		}
		lo = hi;
	}
	return len;
}

/* Length of the number at s[0..len) by the grammar of RFC 8259 section 6
 * (-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?), or 0 when the run of
 * number characters there is not one: cJSON hands the run to strtod,
 * which also takes "-01", "1." and ".5". */
static size_t number_len(const char *s, size_t len)
{
	size_t j = 0;
#define DIGIT(k) ((k) < len && s[k] >= '0' && s[k] <= '9')
	if (s[j] == '-')
		j++;
	if (j < len && s[j] == '0')
		j++;
	else if (DIGIT(j))
		while (DIGIT(j))
			j++;
	else
		return 0;
	if (j < len && s[j] == '.') {
		if (!DIGIT(j + 1))
			return 0;
		for (j++; DIGIT(j); j++)
			;
	}
	if (j < len && (s[j] == 'e' || s[j] == 'E')) {
		j++;
		if (j < len && (s[j] == '+' || s[j] == '-'))
			j++;
		if (!DIGIT(j))
			return 0;
		while (DIGIT(j))
			j++;
	}
	if (j < len && (DIGIT(j) || s[j] == '.' || s[j] == 'e' || s[j] == 'E' || s[j] == '+'
			|| s[j] == '-'))
		return 0;
#undef DIGIT
	return j;
}

static bool is_hex4(const char *s)
{
	for (int k = 0; k < 4; k++) {
		char c = s[k];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
			return false;
	}
	return true;
}

/*
 * The lexical rules cJSON 1.7 does not enforce, checked in the same pass
 * that bounds the nesting: whitespace is only space, tab, LF and CR;
 * strings hold no raw control character and only the escapes of RFC 8259;
 * numbers follow the grammar; nothing else stands outside strings but
 * brackets, ',', ':' and the letters of true, false and null (whose
 * spelling, like the structure, cJSON checks). *nul_escape tells whether a
 * string spells U+0000 as "\u0000".
 */
static int scan(const char *s, size_t len, int max_depth, bool *nul_escape, ds_err *err)
{
	int depth = 0;
	*nul_escape = false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		switch (c) {
		case ' ': case '\t': case '\n': case '\r': case ',': case ':':
			continue;
		case '[': case '{':
			if (++depth > max_depth)
				return ds_err_set(err, DS_EINVAL,
						  "nesting deeper than %d levels at byte %zu",
						  max_depth, i);
			continue;
		case ']': case '}':
			depth--;
			continue;
		case '"':
			for (i++; i < len; i++) {
				c = (unsigned char)s[i];
				if (c == '"')
					break;
				if (c < 0x20)
					return ds_err_set(err, DS_EINVAL, c ? "invalid JSON at byte "
							  "%zu: control character in a string"
							  : "NUL byte at byte %zu", i);
				if (c != '\\')
					continue;
				if (++i >= len)
					break;
				c = (unsigned char)s[i];
				if (c == 'u') {
					if (len - i <= 4 || !is_hex4(s + i + 1))
						return ds_err_set(err, DS_EINVAL, "invalid JSON at byte "
								  "%zu: bad \\u escape", i - 1);
					if (memcmp(s + i + 1, "0000", 4) == 0)
						*nul_escape = true;
					i += 4;
				} else if (!strchr("\"\\/bfnrt", c) || !c) {
					return ds_err_set(err, DS_EINVAL, "invalid JSON at byte %zu: "
							  "bad escape in a string", i - 1);
				}
			}
			continue;
		case '-': case '0': case '1': case '2': case '3': case '4':
		case '5': case '6': case '7': case '8': case '9': {
			size_t n = number_len(s + i, len - i);
			if (!n)
				return ds_err_set(err, DS_EINVAL,
						  "invalid JSON at byte %zu: malformed number", i);
			i += n - 1;
			continue;
		}
		case '\0':
			return ds_err_set(err, DS_EINVAL, "NUL byte at byte %zu", i);
		default:
			if (c >= 'a' && c <= 'z')
				continue;
			return ds_err_set(err, DS_EINVAL,
					  "invalid JSON at byte %zu: unexpected character", i);
		}
	}
	return DS_OK;
}

/* The string tokens of a text that cJSON accepted, in order. */
struct tokens {
	const char *s;
	size_t len;
	size_t at;
};

/* Whether the next string token spells U+0000; moves past it. */
static bool next_string_has_nul(struct tokens *t)
{
	const char *s = t->s;
	size_t i = t->at;
	bool nul = false;
	while (i < t->len && s[i] != '"')
		i++;
	for (i++; i < t->len && s[i] != '"'; i++) {
		if (s[i] != '\\')
			continue;
		if (s[++i] == 'u') {
			nul |= memcmp(s + i + 1, "0000", 4) == 0;
			i += 4;
		}
	}
	t->at = i + 1;
	return nul;
}

/* Marks DS_JSON_STRING_NUL: the n-th string token of the text is the n-th
 * string of the tree in document order, member names included. Recursion
 * is bounded by the nesting limit already checked. */
static void mark_nul(cJSON *v, struct tokens *t, bool members)
{
	for (; v; v = v->next) {
		if (members)
			(void)next_string_has_nul(t);
		if (cJSON_IsString(v) && next_string_has_nul(t))
			v->type |= DS_JSON_STRING_NUL;
		if (v->child)
			mark_nul(v->child, t, cJSON_IsObject(v));
	}
}

int ds_json_parse(const char *s, size_t len, int max_depth, cJSON **out, ds_err *err)
{
	*out = NULL;
	if (len == 0)
		return ds_err_set(err, DS_EINVAL, "empty input");
	size_t bad = ds_utf8_bad_at(s, len);
	if (bad < len)
		return ds_err_set(err, DS_EINVAL, "invalid UTF-8 at byte %zu", bad);
	bool nul_escape;
	int rc = scan(s, len, max_depth, &nul_escape, err);
	if (rc)
		return rc;
	const char *end = NULL;
	cJSON *doc = cJSON_ParseWithLengthOpts(s, len, &end, false);
	if (!doc) {
		/* cJSON reports the failing position through end (its global
		 * error pointer is not thread-safe). */
		size_t at = end && end >= s && end <= s + len ? (size_t)(end - s) : 0;
		return ds_err_set(err, DS_EINVAL, "invalid JSON at byte %zu", at);
	}
	/* Only whitespace may follow the value. */
	for (const char *p = end; p && p < s + len; p++) {
		if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
			cJSON_Delete(doc);
			return ds_err_set(err, DS_EINVAL,
					  "invalid JSON: unexpected data after the value at byte %zu",
					  (size_t)(p - s));
		}
	}
	if (nul_escape) {
		struct tokens t = { s, len, 0 };
		mark_nul(doc, &t, false);
	}
	*out = doc;
	return DS_OK;
}

int ds_json_parse_own(const char *s, size_t len, cJSON **out, ds_err *err)
{
	if (memmem(s, len, "\\u0000", 6))
		return ds_json_parse(s, len, 512, out, err);
	*out = cJSON_ParseWithLengthOpts(s, len, NULL, false);
	return *out ? DS_OK : ds_err_set(err, DS_EINVAL, "invalid JSON");
}

int ds_read_file(const char *path, size_t max, char **out, size_t *len, ds_err *err)
{
	*out = NULL;
	*len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ds_err_set(err, errno == ENOENT ? DS_ENOTFOUND : DS_EIO,
				  "cannot open %s: %s", path, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return ds_err_set(err, DS_EIO, "%s is not a regular file", path);
	}
	if ((unsigned long long)st.st_size > max) {
		close(fd);
		return ds_err_set(err, DS_ELIMIT, "%s is larger than %zu bytes", path, max);
	}
	size_t n = (size_t)st.st_size;
	char *buf = ds_malloc(n + 1);
	if (!buf) {
		close(fd);
		return ds_err_set(err, DS_ENOMEM, "out of memory reading %s", path);
	}
	size_t got = 0;
	while (got < n) {
		ssize_t r = read(fd, buf + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			int e = errno;
			close(fd);
			ds_free(buf);
			return ds_err_set(err, DS_EIO, "cannot read %s: %s", path,
					  r < 0 ? strerror(e) : "file shrank");
		}
		got += (size_t)r;
	}
	close(fd);
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return DS_OK;
}

cJSON *ds_json_load_file(const char *path, ds_diag *diag)
{
	char *text = NULL;
	size_t len = 0;
	ds_err err = {0};
	if (ds_read_file(path, DS_CONFIG_MAX_BYTES, &text, &len, &err)) {
		ds_diag_error(diag, path, "", "%s", err.msg);
		return NULL;
	}
	cJSON *doc = NULL;
	if (ds_json_parse(text, len, DS_JSON_MAX_DEPTH, &doc, &err)) {
		/* Give a line and column, which people can find in an editor. */
		unsigned long at = 0;
		int used = 0;
		if (sscanf(err.msg, "invalid JSON at byte %lu%n", &at, &used) == 1 && at <= len) {
			size_t line = 1, col = 1;
			for (size_t i = 0; i < at; i++) {
				if (text[i] == '\n') {
					line++;
					col = 1;
				} else {
					col++;
				}
			}
			/* The reason, if any, follows as ": why". */
			ds_diag_error(diag, path, "", "invalid JSON at line %zu, column %zu%s",
				      line, col, err.msg + used);
		} else {
			ds_diag_error(diag, path, "", "%s", err.msg);
		}
	}
	ds_free(text);
	return doc;
}

int ds_json_set_dotted(cJSON *root, const char *path, cJSON *v)
{
	cJSON *cur = root;
	char seg[128];
	if (!v)
		return DS_ENOMEM;
	for (;;) {
		size_t n = strcspn(path, ".");
		if (!n || n >= sizeof seg || !cJSON_IsObject(cur)) {
			cJSON_Delete(v);
			return DS_EINVAL;
		}
		memcpy(seg, path, n);
		seg[n] = '\0';
		if (!path[n]) {
			if (cJSON_GetObjectItemCaseSensitive(cur, seg))
				return cJSON_ReplaceItemInObjectCaseSensitive(cur, seg, v)
					       ? DS_OK : (cJSON_Delete(v), DS_ENOMEM);
			return cJSON_AddItemToObject(cur, seg, v) ? DS_OK : (cJSON_Delete(v), DS_ENOMEM);
		}
		cJSON *next = cJSON_GetObjectItemCaseSensitive(cur, seg);
		if (!next && !(next = cJSON_AddObjectToObject(cur, seg))) {
			cJSON_Delete(v);
			return DS_ENOMEM;
		}
		cur = next;
		path += n + 1;
	}
}

const cJSON *ds_json_dotted(const cJSON *root, const char *path)
{
	const cJSON *cur = root;
	const char *p = path;
	while (cur && *p) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);
		char seg[128];
		if (n == 0 || n >= sizeof seg)
			return NULL;
		memcpy(seg, p, n);
		seg[n] = '\0';
		if (cJSON_IsArray(cur)) {
			char *e;
			long idx = strtol(seg, &e, 10);
			cur = (*e || idx < 0) ? NULL : cJSON_GetArrayItem(cur, (int)idx);
		} else if (cJSON_IsObject(cur)) {
			/* the first member so named, as cJSON_GetObjectItemCaseSensitive */
			const cJSON *c = cur->child;
			while (c && !(c->string && c->string[0] == seg[0] && !strcmp(c->string, seg)))
				c = c->next;
			cur = c;
		} else {
			return NULL;
		}
		p = dot ? dot + 1 : p + n;
	}
	return cur;
}

const cJSON *ds_json_pointer(const cJSON *root, const char *ptr)
{
	if (!*ptr)
		return root;
	if (*ptr != '/')
		return NULL;
	const cJSON *cur = root;
	const char *p = ptr + 1;
	for (;;) {
		char seg[256];
		size_t n = 0;
		while (*p && *p != '/') {
			char c = *p++;
			if (c == '~') {
				if (*p == '0')
					c = '~';
				else if (*p == '1')
					c = '/';
				else
					return NULL;
				p++;
			}
			if (n + 1 >= sizeof seg)
				return NULL;
			seg[n++] = c;
		}
		seg[n] = '\0';
		if (cJSON_IsArray(cur)) {
			char *e;
			long idx = strtol(seg, &e, 10);
			if (!n || *e || idx < 0 || (seg[0] == '0' && n > 1))
				return NULL;
			cur = cJSON_GetArrayItem(cur, (int)idx);
		} else if (cJSON_IsObject(cur)) {
			cur = cJSON_GetObjectItemCaseSensitive(cur, seg);
		} else {
			return NULL;
		}
		if (!cur || !*p)
			return cur;
		p++;
	}
}

const char *ds_json_str(const cJSON *obj, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

void ds_json_pointer_escape(const char *name, char *out, size_t n)
{
	size_t k = 0;
	if (!n)
		return;
	for (const char *p = name; *p && k + 3 <= n; p++) {
		if (*p == '~' || *p == '/') {
			out[k++] = '~';
			out[k++] = *p == '~' ? '0' : '1';
		} else {
			out[k++] = *p;
		}
	}
	out[k] = '\0';
}

size_t ds_json_member_names(const cJSON *obj, char *buf, size_t n)
{
	size_t used = 0, count = 0;
	bool full = false;
	if (!n)
		return 0;
	buf[0] = '\0';
	if (!cJSON_IsObject(obj))
		return 0;
	for (const cJSON *it = obj->child; it; it = it->next) {
		count++;
		if (full)
			continue;
		/* Room for ", ", the name and "...": names are cut at a
		 * character boundary, control characters shown as '?'. */
		const char *name = it->string;
		size_t need = (used ? 2 : 0) + strlen(name);
		if (used + need + 4 > n) {
			if (used + 4 <= n) {
				memcpy(buf + used, "...", 4);
				used += 3;
			}
			full = true;
			continue;
		}
		if (used) {
			memcpy(buf + used, ", ", 2);
			used += 2;
		}
		for (const char *p = name; *p; p++)
			buf[used++] = (unsigned char)*p < 0x20 || *p == 0x7F ? '?' : *p;
		buf[used] = '\0';
	}
	return count;
}

static int cmp_member_names(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The first member name an object repeats, anywhere in v, or NULL (also
 * when memory runs out: *oom is set). JSON lets a parser take either
 * value; dossier refuses to guess. Small objects are checked pairwise,
 * large ones sorted, so a hostile object costs n log n. */
static const char *dup_member(const cJSON *v, int depth, bool *oom)
{
	if (depth > 512 || !v)
		return NULL;
	if (cJSON_IsObject(v)) {
		size_t n = 0;
		for (const cJSON *a = v->child; a; a = a->next)
			n++;
		if (n <= 32) {
			for (const cJSON *a = v->child; a; a = a->next)
				for (const cJSON *b = a->next; b; b = b->next)
					if (!strcmp(a->string, b->string))
						return a->string;
		} else {
			const char **names = ds_malloc(n * sizeof *names);
			const char *dup = NULL;
			if (!names) {
				*oom = true;
				return NULL;
			}
			size_t i = 0;
			for (const cJSON *a = v->child; a; a = a->next)
				names[i++] = a->string;
			qsort(names, n, sizeof *names, cmp_member_names);
			for (i = 1; i < n && !dup; i++)
				if (!strcmp(names[i - 1], names[i]))
					dup = names[i];
			ds_free(names);
			if (dup)
				return dup;
		}
	}
	for (const cJSON *a = v->child; a; a = a->next) {
		const char *d = dup_member(a, depth + 1, oom);
		if (d || *oom)
			return d;
	}
	return NULL;
}

const char *ds_json_duplicate_member(const cJSON *v, bool *oom)
{
	*oom = false;
	return dup_member(v, 0, oom);
}

/* ---- printing ---- */

/* The text cJSON_PrintUnformatted gives, byte for byte, at a fraction of
 * its cost: integers are written without printf, the buffer grows by
 * doubling rather than by cJSON's copies, and a byte goes straight into
 * the room there is. */

/* One byte, as ds_buf_putc appends it. */
static inline int put1(ds_buf *b, char c)
{
	if (b->len + 1 < b->cap && b->len < b->max) {
		b->data[b->len++] = c;
		b->data[b->len] = '\0';
		return DS_OK;
	}
	return ds_buf_putc(b, c);
}

static int print_text(ds_buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	int rc = put1(b, '"');
	while (!rc) {
		/* the run of bytes written as they are (NUL ends it too) */
		const unsigned char *run = p;
		while (*p >= 0x20 && *p != '"' && *p != '\\')
			p++;
		if (p > run && (rc = ds_buf_append(b, run, (size_t)(p - run))))
			break;
		if (!*p)
			break;
		char esc[7] = { '\\', 0 };
		switch (*p) {
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\b': esc[1] = 'b'; break;
		case '\f': esc[1] = 'f'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		default: snprintf(esc + 1, sizeof esc - 1, "u%04x", *p); break;
		}
		rc = ds_buf_puts(b, esc);
		p++;
	}
	return rc ? rc : put1(b, '"');
}

int ds_buf_json_string(ds_buf *b, const char *s)
{
	return print_text(b, s);
}

static int print_number(ds_buf *b, const cJSON *v)
{
	double d = v->valuedouble;
	char nb[32];
	if (isnan(d) || isinf(d))
		return ds_buf_puts(b, "null");
	if (d == (double)v->valueint && !(d == 0 && signbit(d))) {
		/* what "%1.15g" gives for an int */
		char *p = nb + sizeof nb;
		long long i = v->valueint;
		unsigned long long u = i < 0 ? 0ull - (unsigned long long)i : (unsigned long long)i;
		*--p = '\0';
		do
			*--p = (char)('0' + u % 10);
		while (u /= 10);
		if (i < 0)
			*--p = '-';
		return ds_buf_puts(b, p);
	}
	/* 15 significant digits when they give d back, else 17, as cJSON */
	snprintf(nb, sizeof nb, "%1.15g", d);
	double t = strtod(nb, NULL);
	double m = fabs(t) > fabs(d) ? fabs(t) : fabs(d);
	if (!(fabs(t - d) <= m * DBL_EPSILON))
		snprintf(nb, sizeof nb, "%1.17g", d);
	char point = localeconv()->decimal_point[0];
	for (char *p = nb; *p; p++)
		if (*p == point)
			*p = '.';
	return ds_buf_puts(b, nb);
}

static int print_value(ds_buf *b, const cJSON *v)
{
	switch (v->type & 0xff) {
	case cJSON_NULL: return ds_buf_puts(b, "null");
	case cJSON_False: return ds_buf_puts(b, "false");
	case cJSON_True: return ds_buf_puts(b, "true");
	case cJSON_Number: return print_number(b, v);
	case cJSON_String: return print_text(b, v->valuestring);
	case cJSON_Raw: return v->valuestring ? ds_buf_puts(b, v->valuestring) : DS_EINVAL;
	case cJSON_Array:
	case cJSON_Object: {
		bool obj = (v->type & 0xff) == cJSON_Object;
		int rc = put1(b, obj ? '{' : '[');
		for (const cJSON *c = v->child; !rc && c; c = c->next) {
			if (obj && !(rc = print_text(b, c->string)))
				rc = put1(b, ':');
			if (!rc)
				rc = print_value(b, c);
			if (!rc && c->next)
				rc = put1(b, ',');
		}
		return rc ? rc : put1(b, obj ? '}' : ']');
	}
	default: return DS_EINVAL;
	}
}

int ds_buf_json(ds_buf *b, const cJSON *v)
{
	return print_value(b, v);
}

int ds_buf_json_number(ds_buf *b, double d)
{
	cJSON n;
	memset(&n, 0, sizeof n);
	n.type = cJSON_Number;
	cJSON_SetNumberHelper(&n, d); /* valueint as cJSON_CreateNumber sets it */
	return print_number(b, &n);
}

char *ds_json_print_arena(ds_arena *a, const cJSON *v)
{
	ds_buf b;
	ds_buf_init(&b, DS_JSON_PRINT_MAX);
	char *s = NULL;
	/* Most records and profiles print in a few KB: grown once or twice. */
	if (ds_buf_reserve(&b, 2048))
		return NULL;
	if (v && !print_value(&b, v))
		s = ds_arena_strndup(a, b.data ? b.data : "", b.len);
	ds_buf_free(&b);
	return s;
}

char *ds_json_print(const cJSON *v)
{
	char *p = cJSON_PrintUnformatted(v);
	char *s = p ? ds_strdup(p) : NULL; /* cJSON's blocks are not ds_free's */
	cJSON_free(p);
	return s;
}
