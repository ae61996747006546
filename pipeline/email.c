/*
 * email.c - one email message read with GMime 3 into the inspect JSON
 * object (see email.h for the shape and the guarantees).
 *
 * GMime does the MIME framing, the transfer decodings, the address and
 * Message-ID grammars and the lenient Date reader. Header text (Subject,
 * Date) is decoded here from GMime's raw values, so that the unfolding and
 * RFC 2047 rules are ours and ISO-8859-1 is read as Windows-1252 like the
 * bodies. Charset conversion reuses the form module's tables for UTF-8,
 * Windows-1252 and ISO-8859-15 and asks iconv (g_convert) for the rest,
 * under GMime's iconv name for the label so that its aliases work.
 *
 * Ownership. GMime and GLib objects are released with g_object_unref /
 * g_free / g_date_time_unref / g_mime_references_free, libxml2 documents
 * with xmlFreeDoc, never with ds_free; our own buffers use ds_malloc and
 * ds_buf; the cJSON tree goes through ds_malloc (ds_mem_init). Every
 * function has one cleanup label.
 */
#include "email.h"

#include <ctype.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <gmime/gmime.h>
#include <libxml/HTMLparser.h>
#include <libxml/tree.h>

#include "form.h"
#include "hash.h"
#include "json.h"
#include "mem.h"
#include "xml.h"

/* Marks a fold while a header is decoded: a space outside encoded words,
 * nothing inside one. Input control bytes become spaces, so it is unique. */
#define FOLD '\x01'

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void init_libs(void)
{
	g_mime_init();
	ds_xml_init();
}

/* ---- charsets ---- */

/* Whether label names US-ASCII, MIME's default charset: bytes past ASCII
 * under it are read as under no label (UTF-8 when valid), not as the
 * Windows-1252 of the WHATWG table, so that a mislabelled UTF-8 body reads
 * the same with or without its label. */
static bool ascii_label(const char *label)
{
	return strcasecmp(label, "us-ascii") == 0 || strcasecmp(label, "ascii") == 0 ||
	       strcasecmp(label, "ansi_x3.4-1968") == 0;
}

/* Appends n bytes in charset label (NULL: unknown) to b as UTF-8. */
static int put_utf8(ds_buf *b, const char *label, const char *in, size_t n)
{
	if (label && ascii_label(label))
		label = NULL;
	int cs = label ? ds_form_charset_lookup(label, strlen(label)) : -1;
	if (cs < 0 && label && *label) {
		gsize written = 0;
		GError *gerr = NULL;
		/* GMime's name for the charset knows the aliases iconv lacks
		 * (ks_c_5601-1987 is EUC-KR); it needs GMime initialised */
		pthread_once(&init_once, init_libs);
		const char *name = g_mime_charset_iconv_name(label);
		/* GLib's string, freed with g_free */
		gchar *conv = g_convert(in, (gssize)n, "UTF-8", name ? name : label, NULL, &written,
					&gerr);
		if (gerr)
			g_error_free(gerr);
		if (conv && ds_utf8_valid(conv, written)) {
			int rc = ds_buf_append(b, conv, written);
			g_free(conv);
			return rc;
		}
		g_free(conv);
	}
	if (cs < 0)
		cs = ds_utf8_valid(in, n) ? DS_FORM_UTF8 : DS_FORM_WINDOWS_1252;
	if (n == 0)
		return ds_buf_append(b, "", 0);
	char *tmp = ds_malloc(DS_FORM_UTF8_MAX(n));
	if (!tmp)
		return DS_ENOMEM;
	size_t k = ds_form_to_utf8(cs, in, n, tmp);
	int rc = ds_buf_append(b, tmp, k);
	ds_free(tmp);
	return rc;
}

/* ---- RFC 2047 header decoding ---- */

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == FOLD;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* An encoded word at s (which starts with "=?"): returns the bytes it
 * spans and writes its charset and decoded bytes, or returns 0 when it is
 * not a well-formed encoded word. rc gets DS_ENOMEM on allocation failure. */
static size_t parse_ew(const char *s, size_t n, char cs[64], ds_buf *bytes, int *rc)
{
	size_t p = 2, c0 = 2;
	while (p < n && s[p] != '?' && !is_ws(s[p]))
		p++;
	if (p >= n || s[p] != '?' || p == c0 || p - c0 >= 64)
		return 0;
	memcpy(cs, s + c0, p - c0);
	cs[p - c0] = '\0';
	char *star = strchr(cs, '*');  /* RFC 2231 language suffix */
	if (star)
		*star = '\0';
	p++;
	if (p + 1 >= n || s[p + 1] != '?')
		return 0;
	char enc = (char)toupper((unsigned char)s[p]);
	if (enc != 'Q' && enc != 'B')
		return 0;
	size_t t0 = p + 2, t = t0;
	while (t < n && s[t] != '?' && s[t] != ' ' && s[t] != '\t')
		t++;
	if (t + 1 >= n || s[t] != '?' || s[t + 1] != '=')
		return 0;
	ds_buf_reset(bytes);
	unsigned acc = 0;
	int bits = 0;
	for (size_t i = t0; i < t; i++) {
		char c = s[i];
		if (c == FOLD)
			continue;
		char out;
		if (enc == 'Q') {
			if (c == '_') {
				out = ' ';
			} else if (c == '=') {
				int h = i + 2 < t ? hexval(s[i + 1]) : -1;
				int l = h >= 0 ? hexval(s[i + 2]) : -1;
				if (l < 0)
					return 0;
				out = (char)(h * 16 + l);
				i += 2;
			} else {
				out = c;
			}
		} else {
			if (c == '=')
				break;
			int v = ds_base64_value((unsigned char)c);
			if (v < 0)
				return 0;
			acc = (acc << 6) | (unsigned)v;
			bits += 6;
			if (bits < 8)
				continue;
			bits -= 8;
			out = (char)((acc >> bits) & 0xFF);
		}
		if ((*rc = ds_buf_append(bytes, &out, 1)) != 0)
			return 0;
	}
	return t + 2;
}

/* Appends a literal run, folds as spaces, kept if UTF-8 else Windows-1252. */
static int put_literal(ds_buf *b, char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] == FOLD)
			s[i] = ' ';
	return put_utf8(b, NULL, s, n);
}

int ds_email_decode_header(const char *raw, size_t len, char **out, ds_err *err)
{
	int rc = 0;
	char *u = NULL;
	ds_buf o, pend, word;
	char pcs[64] = "", cs[64];
	*out = NULL;
	ds_buf_init(&o, 4 * len + 64);
	ds_buf_init(&pend, len + 64);
	ds_buf_init(&word, len + 64);
	u = ds_malloc(len + 1);
	if (!u) {
		rc = DS_ENOMEM;
		goto done;
	}
	/* unfold */
	size_t n = 0;
	for (size_t i = 0; i < len;) {
		unsigned char c = (unsigned char)raw[i];
		if (c == '\r' && (i + 1 >= len || raw[i + 1] != '\n')) {
			u[n++] = ' ';
			i++;
			continue;
		}
		if (c == '\r' || c == '\n') {
			size_t j = i + (c == '\r' ? 2 : 1);
			if (j >= len || (raw[j] != ' ' && raw[j] != '\t'))
				break;  /* end of this header */
			while (n > 0 && (u[n - 1] == ' ' || u[n - 1] == '\t'))
				n--;
			while (j < len && (raw[j] == ' ' || raw[j] == '\t'))
				j++;
			u[n++] = FOLD;
			i = j;
			continue;
		}
		u[n++] = (c < 0x20 && c != '\t') || c == 0x7F ? ' ' : (char)c;
		i++;
	}
	size_t a = 0;
	while (a < n && is_ws(u[a]))
		a++;
	while (n > a && is_ws(u[n - 1]))
		n--;
	/* decode */
	bool after_ew = false;
	size_t i = a;
	while (i < n) {
		size_t k;
		if (u[i] == '=' && i + 1 < n && u[i + 1] == '?' &&
		    (k = parse_ew(u + i, n - i, cs, &word, &rc)) > 0) {
			if (pend.len > 0 && strcasecmp(pcs, cs) != 0) {
				if ((rc = put_utf8(&o, pcs, pend.data, pend.len)) != 0)
					goto done;
				ds_buf_reset(&pend);
			}
			memcpy(pcs, cs, sizeof(pcs));
			if (word.len > 0 && (rc = ds_buf_append(&pend, word.data, word.len)) != 0)
				goto done;
			after_ew = true;
			i += k;
			continue;
		}
		if (rc)
			goto done;
		if (after_ew && is_ws(u[i])) {
			k = i;
			while (k < n && is_ws(u[k]))
				k++;
			if (k < n && u[k] == '=' && k + 1 < n && u[k + 1] == '?' &&
			    parse_ew(u + k, n - k, cs, &word, &rc) > 0) {
				i = k;  /* white space between encoded words is dropped */
				continue;
			}
			if (rc)
				goto done;
		}
		if (pend.len > 0) {
			if ((rc = put_utf8(&o, pcs, pend.data, pend.len)) != 0)
				goto done;
			ds_buf_reset(&pend);
		}
		after_ew = false;
		k = i + 1;
		while (k < n && !(u[k] == '=' && k + 1 < n && u[k + 1] == '?'))
			k++;
		if ((rc = put_literal(&o, u + i, k - i)) != 0)
			goto done;
		i = k;
	}
	if (pend.len > 0 && (rc = put_utf8(&o, pcs, pend.data, pend.len)) != 0)
		goto done;
	if ((rc = ds_buf_append(&o, "", 0)) != 0)
		goto done;
	*out = ds_buf_steal(&o);
done:
	if (rc)
		ds_err_set(err, rc == DS_ENOMEM ? DS_ENOMEM : DS_ELIMIT, "decoding a header: %s",
			   rc == DS_ENOMEM ? "out of memory" : "too long");
	ds_free(u);
	ds_buf_free(&o);
	ds_buf_free(&pend);
	ds_buf_free(&word);
	return rc == 0 ? 0 : (rc == DS_ENOMEM ? DS_ENOMEM : DS_ELIMIT);
}

int ds_email_parse_date(const char *s, ds_time *out, int *offset_min)
{
	pthread_once(&init_once, init_libs);
	if (!s)
		return DS_EINVAL;
	/* a GLib object, released with g_date_time_unref */
	GDateTime *dt = g_mime_utils_header_decode_date(s);
	if (!dt)
		return DS_EINVAL;
	*out = (ds_time)g_date_time_to_unix(dt);
	if (offset_min)
		*offset_min = (int)(g_date_time_get_utc_offset(dt) / G_TIME_SPAN_MINUTE);
	g_date_time_unref(dt);
	return 0;
}

/* ---- HTML to text ---- */

static bool name_is(const xmlNode *n, const char *const *names)
{
	for (; *names; names++)
		if (strcasecmp((const char *)n->name, *names) == 0)
			return true;
	return false;
}

static const char *const skipped[] = {"script", "style", "head", "title", "noscript",
				      "template", NULL};
static const char *const blocks[] = {
	"p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table", "ul",
	"ol", "blockquote", "pre", "hr", "section", "article", "header", "footer", "dd",
	"dt", "dl", "address", "form", "fieldset", "center", NULL};

static int html_nl(ds_buf *b)
{
	while (b->len > 0 && b->data[b->len - 1] == ' ')
		b->data[--b->len] = '\0';
	if (b->len == 0 || b->data[b->len - 1] == '\n')
		return 0;
	return ds_buf_putc(b, '\n');
}

static int html_put(ds_buf *b, const char *s)
{
	for (; *s; s++) {
		int rc = 0;
		if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' || *s == '\f') {
			if (b->len > 0 && b->data[b->len - 1] != ' ' && b->data[b->len - 1] != '\n')
				rc = ds_buf_putc(b, ' ');
		} else {
			rc = ds_buf_putc(b, *s);
		}
		if (rc)
			return rc;
	}
	return 0;
}

/* Appends the readable text of UTF-8 HTML to b (iterative: no recursion
 * on hostile nesting). */
static int html_to_text(const char *html, size_t n, ds_buf *b)
{
	if (n > INT32_MAX)
		return ds_buf_append(b, html, n);
	int rc = 0;
	/* libxml2's document, freed with xmlFreeDoc */
	htmlDocPtr doc = htmlReadMemory(html, (int)n, NULL, "UTF-8",
					HTML_PARSE_NONET | HTML_PARSE_NOERROR |
					HTML_PARSE_NOWARNING | HTML_PARSE_RECOVER |
					HTML_PARSE_IGNORE_ENC | HTML_PARSE_COMPACT);
	xmlNode *top = doc ? xmlDocGetRootElement(doc) : NULL;
	xmlNode *nd = top;
	while (nd && rc == 0) {
		bool enter = false;
		if (nd->type == XML_ELEMENT_NODE) {
			if (!name_is(nd, skipped)) {
				if (name_is(nd, blocks))
					rc = html_nl(b);
				if (rc == 0 && strcasecmp((const char *)nd->name, "br") == 0) {
					while (b->len > 0 && b->data[b->len - 1] == ' ')
						b->data[--b->len] = '\0';
					rc = ds_buf_putc(b, '\n');
				}
				enter = nd->children != NULL;
			}
		} else if ((nd->type == XML_TEXT_NODE || nd->type == XML_CDATA_SECTION_NODE) &&
			   nd->content) {
			rc = html_put(b, (const char *)nd->content);
		}
		if (enter) {
			nd = nd->children;
			continue;
		}
		while (nd && rc == 0) {
			if (nd->type == XML_ELEMENT_NODE && name_is(nd, blocks))
				rc = html_nl(b);
			if (nd == top) {
				nd = NULL;
				break;
			}
			if (nd->next) {
				nd = nd->next;
				break;
			}
			nd = nd->parent;
		}
	}
	if (doc)
		xmlFreeDoc(doc);
	while (rc == 0 && b->len > 0 &&
	       (b->data[b->len - 1] == '\n' || b->data[b->len - 1] == ' '))
		b->data[--b->len] = '\0';
	return rc;
}

/* ---- the message walk ---- */

typedef struct walk {
	ds_email_opts o;
	ds_err *err;
	size_t parts;
	cJSON *parts_arr, *atts;
	char *plain, *html;     /* first body candidates, UTF-8, ds_malloc'd */
	const char *want;       /* ds_email_part: the path looked for */
	char *found;            /* its bytes, ds_malloc'd */
	size_t found_n;
	bool got;
} walk;

/* Adds s as a UTF-8 string (converted from Windows-1252 if it is not),
 * or null when s is NULL. */
static int jstr(cJSON *obj, const char *key, const char *s)
{
	cJSON *v = NULL;
	if (!s) {
		v = cJSON_CreateNull();
	} else if (ds_utf8_valid(s, strlen(s))) {
		v = cJSON_CreateString(s);
	} else {
		ds_buf b;
		ds_buf_init(&b, 4 * strlen(s) + 16);
		if (put_utf8(&b, "windows-1252", s, strlen(s)) == 0)
			v = cJSON_CreateString(b.data);
		ds_buf_free(&b);
	}
	if (!v)
		return DS_ENOMEM;
	if (!cJSON_AddItemToObject(obj, key, v)) {
		cJSON_Delete(v);
		return DS_ENOMEM;
	}
	return 0;
}

static int jnum(cJSON *obj, const char *key, double d)
{
	return cJSON_AddNumberToObject(obj, key, d) ? 0 : DS_ENOMEM;
}

static int check_headers(walk *w, GMimeObject *o)
{
	GMimeHeaderList *hl = g_mime_object_get_header_list(o);
	int count = hl ? g_mime_header_list_get_count(hl) : 0;
	for (int i = 0; i < count; i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(hl, i);
		const char *raw = h ? g_mime_header_get_raw_value(h) : NULL;
		size_t n = raw ? strlen(raw) : 0;
		if (n > w->o.max_header) {
			char q[72];
			return ds_err_set(w->err, DS_ELIMIT,
					  "header %s is %zu bytes, over max_header (%zu)",
					  ds_quote(g_mime_header_get_name(h), q), n, w->o.max_header);
		}
	}
	return 0;
}

static char *child_path(const char *path, int i)
{
	size_t n = strlen(path) + 24;
	char *p = ds_malloc(n);
	if (p)
		snprintf(p, n, "%s%s%d", path, *path ? "." : "", i);
	return p;
}

/* Lower-case "type/subtype" of o, ds_malloc'd. */
static char *mime_type(GMimeObject *o)
{
	GMimeContentType *ct = g_mime_object_get_content_type(o);
	/* GLib's string, freed with g_free */
	char *g = ct ? g_mime_content_type_get_mime_type(ct) : NULL;
	char *s = ds_strdup(g ? g : "text/plain");
	g_free(g);
	for (char *p = s; p && *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return s;
}

static int text_of(const char *charset, const char *data, size_t n, bool html, char **out)
{
	ds_buf b, t;
	int rc;
	ds_buf_init(&b, 4 * n + 64);
	ds_buf_init(&t, 4 * n + 64);
	rc = put_utf8(&b, charset, data, n);
	/* line ends as "\n", copied a run at a time */
	for (size_t i = 0; rc == 0 && i < b.len;) {
		const char *cr = memchr(b.data + i, '\r', b.len - i);
		size_t run = cr ? (size_t)(cr - (b.data + i)) : b.len - i;
		rc = ds_buf_append(&t, b.data + i, run);
		i += run;
		if (rc == 0 && i < b.len) {
			rc = ds_buf_putc(&t, '\n');
			i += i + 1 < b.len && b.data[i + 1] == '\n' ? 2 : 1;
		}
	}
	if (rc == 0 && html) {
		ds_buf_reset(&b);
		rc = html_to_text(t.len ? t.data : "", t.len, &b);
		if (rc == 0)
			rc = ds_buf_append(&b, "", 0);
		*out = rc == 0 ? ds_buf_steal(&b) : NULL;
	} else if (rc == 0) {
		rc = ds_buf_append(&t, "", 0);
		*out = rc == 0 ? ds_buf_steal(&t) : NULL;
	}
	ds_buf_free(&b);
	ds_buf_free(&t);
	return rc == 0 ? 0 : DS_ENOMEM;
}

/* RFC 3676 format=flowed, undone on UTF-8 text with "\n" line ends: a line
 * ending in a space goes on in the next line of the same quote depth (with
 * delsp=yes, without that space); the space stuffed before a line is
 * dropped; quoted lines keep their ">" marks, then one space. The
 * signature separator "-- " is never flowed. Replaces *text. */
static int unflow(char **text, bool delsp)
{
	const char *s = *text;
	ds_buf b;
	ds_buf_init(&b, 2 * strlen(s) + 64);
	int rc = 0;
	bool open = false;      /* the previous line goes on in this one */
	size_t open_depth = 0;
	while (*s && !rc) {
		size_t n = strcspn(s, "\n");
		const char *line = s;
		bool nl = s[n] == '\n';
		s += n + nl;
		size_t depth = 0;
		while (depth < n && line[depth] == '>')
			depth++;
		const char *body = line + depth;
		size_t bn = n - depth;
		if (bn && body[0] == ' ') {
			body++;
			bn--;
		}
		bool sig = bn == 3 && !memcmp(body, "-- ", 3);
		bool flowed = !sig && bn && body[bn - 1] == ' ';
		if (open && depth != open_depth) {
			rc = ds_buf_putc(&b, '\n');
			open = false;
		}
		if (!open) {
			for (size_t i = 0; !rc && i < depth; i++)
				rc = ds_buf_putc(&b, '>');
			if (!rc && depth && bn)
				rc = ds_buf_putc(&b, ' ');
		}
		if (!rc)
			rc = ds_buf_append(&b, body, flowed && delsp ? bn - 1 : bn);
		open = flowed && nl;
		open_depth = depth;
		if (!rc && nl && !open)
			rc = ds_buf_putc(&b, '\n');
	}
	if (!rc)
		rc = ds_buf_append(&b, "", 0);
	if (rc) {
		ds_buf_free(&b);
		return DS_ENOMEM;
	}
	ds_free(*text);
	*text = ds_buf_steal(&b);
	return 0;
}

static int visit(walk *w, GMimeObject *o, const char *path, size_t depth, bool in_msg,
		 size_t *size);

static int visit_children(walk *w, GMimeMultipart *mp, const char *path, size_t depth,
			  bool in_msg, size_t *size)
{
	int count = g_mime_multipart_get_count(mp);
	for (int i = 0; i < count; i++) {
		GMimeObject *c = g_mime_multipart_get_part(mp, i);
		char *cp = child_path(path, i + 1);
		if (!cp)
			return ds_err_set(w->err, DS_ENOMEM, "out of memory");
		size_t cs = 0;
		int rc = c ? visit(w, c, cp, depth, in_msg, &cs) : 0;
		ds_free(cp);
		if (rc)
			return rc;
		*size += cs;
	}
	return 0;
}

static int leaf(walk *w, GMimeObject *o, const char *path, bool in_msg, const char *mt,
		cJSON *entry, size_t *size)
{
	int rc = 0;
	GMimeStream *ms = NULL;
	const char *data = "";
	size_t n = 0;
	if (GMIME_IS_PART(o)) {
		GMimeDataWrapper *dw = g_mime_part_get_content(GMIME_PART(o));
		/* a GMime stream, released with g_object_unref */
		ms = g_mime_stream_mem_new();
		if (dw && g_mime_data_wrapper_write_to_stream(dw, ms) >= 0) {
			GByteArray *ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(ms));
			if (ba && ba->len) {
				data = (const char *)ba->data;
				n = ba->len;
			}
		}
	}
	*size = n;
	if (w->want && !w->got && strcmp(w->want, path) == 0) {
		w->found = ds_malloc(n + 1);
		if (!w->found) {
			rc = ds_err_set(w->err, DS_ENOMEM, "out of memory");
			goto done;
		}
		memcpy(w->found, data, n);
		w->found[n] = '\0';
		w->found_n = n;
		w->got = true;
	}
	const char *disp = g_mime_object_get_disposition(o);
	bool attached = disp && strcasecmp(disp, "attachment") == 0;
	const char *fname = GMIME_IS_PART(o) ? g_mime_part_get_filename(GMIME_PART(o)) : NULL;
	const char *charset = g_mime_object_get_content_type_parameter(o, "charset");
	bool plain = strcmp(mt, "text/plain") == 0, html = strcmp(mt, "text/html") == 0;
	bool body = !attached && !in_msg && (plain || html);
	if ((rc = jnum(entry, "size", (double)n)) != 0)
		goto fail;
	if (body && plain && !w->plain) {
		const char *format = g_mime_object_get_content_type_parameter(o, "format");
		const char *delsp = g_mime_object_get_content_type_parameter(o, "delsp");
		rc = text_of(charset, data, n, false, &w->plain);
		if (!rc && format && !strcasecmp(format, "flowed"))
			rc = unflow(&w->plain, delsp && !strcasecmp(delsp, "yes"));
	} else if (body && html && !w->html && !w->plain) {
		/* an HTML alternative after the plain text is not read */
		rc = text_of(charset, data, n, true, &w->html);
	}
	if (rc)
		goto fail;
	if (!body && (attached || fname || strncmp(mt, "text/", 5) != 0) && !w->want) {
		char hex[65];
		ds_sha256_hex(data, n, hex);
		cJSON *a = cJSON_CreateObject();
		if (!a || !cJSON_AddItemToArray(w->atts, a)) {
			cJSON_Delete(a);
			goto fail;
		}
		if ((rc = jstr(a, "filename", fname)) || (rc = jstr(a, "content_type", mt)) ||
		    (rc = jnum(a, "size", (double)n)) || (rc = jstr(a, "sha256", hex)) ||
		    (rc = jstr(a, "path", path)))
			goto fail;
	}
	goto done;
fail:
	rc = ds_err_set(w->err, DS_ENOMEM, "out of memory");
done:
	if (ms)
		g_object_unref(ms);
	return rc;
}

static int visit(walk *w, GMimeObject *o, const char *path, size_t depth, bool in_msg,
		 size_t *size)
{
	int rc;
	char *mt = NULL;
	*size = 0;
	if (depth > w->o.max_depth)
		return ds_err_set(w->err, DS_ELIMIT, "part %s is nested deeper than max_depth (%zu)",
				  path, w->o.max_depth);
	if (++w->parts > w->o.max_parts)
		return ds_err_set(w->err, DS_ELIMIT, "more than max_parts (%zu) parts",
				  w->o.max_parts);
	if ((rc = check_headers(w, o)) != 0)
		return rc;
	mt = mime_type(o);
	cJSON *e = cJSON_CreateObject();
	if (!mt || !e || !cJSON_AddItemToArray(w->parts_arr, e)) {
		cJSON_Delete(e);
		rc = ds_err_set(w->err, DS_ENOMEM, "out of memory");
		goto done;
	}
	const char *charset = g_mime_object_get_content_type_parameter(o, "charset");
	const char *fname = GMIME_IS_PART(o) ? g_mime_part_get_filename(GMIME_PART(o)) : NULL;
	if (jstr(e, "path", path) || jstr(e, "content_type", mt) || jstr(e, "charset", charset) ||
	    jstr(e, "filename", fname)) {
		rc = ds_err_set(w->err, DS_ENOMEM, "out of memory");
		goto done;
	}
	if (GMIME_IS_MULTIPART(o)) {
		rc = visit_children(w, GMIME_MULTIPART(o), path, depth + 1, in_msg, size);
		if (rc == 0 && jnum(e, "size", (double)*size))
			rc = ds_err_set(w->err, DS_ENOMEM, "out of memory");
	} else if (GMIME_IS_MESSAGE_PART(o)) {
		GMimeMessage *m = g_mime_message_part_get_message(GMIME_MESSAGE_PART(o));
		GMimeObject *body = m ? g_mime_message_get_mime_part(m) : NULL;
		rc = m ? check_headers(w, GMIME_OBJECT(m)) : 0;
		if (rc == 0 && body && GMIME_IS_MULTIPART(body)) {
			rc = visit_children(w, GMIME_MULTIPART(body), path, depth + 2, true, size);
		} else if (rc == 0 && body) {
			char *cp = child_path(path, 1);
			rc = cp ? visit(w, body, cp, depth + 1, true, size)
				: ds_err_set(w->err, DS_ENOMEM, "out of memory");
			ds_free(cp);
		}
		if (rc == 0 && jnum(e, "size", (double)*size))
			rc = ds_err_set(w->err, DS_ENOMEM, "out of memory");
	} else {
		rc = leaf(w, o, path, in_msg, mt, e, size);
	}
done:
	ds_free(mt);
	return rc;
}

/* ---- the message ---- */

static void fill_opts(ds_email_opts *o, const ds_email_opts *in)
{
	if (in)
		*o = *in;
	else
		memset(o, 0, sizeof(*o));
	if (!o->max_total)
		o->max_total = DS_EMAIL_MAX_TOTAL;
	if (!o->max_parts)
		o->max_parts = DS_EMAIL_MAX_PARTS;
	if (!o->max_depth)
		o->max_depth = DS_EMAIL_MAX_DEPTH;
	if (!o->max_header)
		o->max_header = DS_EMAIL_MAX_HEADER;
}

/* Lines starting with "Content-Type:" bound the entities GMime can build. */
static size_t count_content_types(const char *buf, size_t len)
{
	static const char key[] = "content-type:";
	size_t k = sizeof(key) - 1, count = 0;
	for (size_t i = 0; i + k <= len; i++) {
		if ((i == 0 || buf[i - 1] == '\n') && strncasecmp(buf + i, key, k) == 0)
			count++;
	}
	return count;
}

static int add_mailbox(cJSON *arr, InternetAddress *a, int depth)
{
	if (INTERNET_ADDRESS_IS_GROUP(a)) {
		InternetAddressList *l = internet_address_group_get_members(INTERNET_ADDRESS_GROUP(a));
		int n = l && depth < 2 ? internet_address_list_length(l) : 0;
		for (int i = 0; i < n; i++) {
			int rc = add_mailbox(arr, internet_address_list_get_address(l, i), depth + 1);
			if (rc)
				return rc;
		}
		return 0;
	}
	if (!INTERNET_ADDRESS_IS_MAILBOX(a))
		return 0;
	const char *name = internet_address_get_name(a);
	cJSON *o = cJSON_CreateObject();
	if (!o || !cJSON_AddItemToArray(arr, o)) {
		cJSON_Delete(o);
		return DS_ENOMEM;
	}
	if (jstr(o, "name", name && *name ? name : NULL) ||
	    jstr(o, "address", internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(a))))
		return DS_ENOMEM;
	return 0;
}

static int add_addresses(cJSON *obj, const char *key, InternetAddressList *l)
{
	cJSON *arr = cJSON_AddArrayToObject(obj, key);
	if (!arr)
		return DS_ENOMEM;
	int n = l ? internet_address_list_length(l) : 0;
	for (int i = 0; i < n; i++) {
		int rc = add_mailbox(arr, internet_address_list_get_address(l, i), 0);
		if (rc)
			return rc;
	}
	return 0;
}

static const char *raw_header(GMimeObject *o, const char *name)
{
	GMimeHeaderList *hl = g_mime_object_get_header_list(o);
	GMimeHeader *h = hl ? g_mime_header_list_get_header(hl, name) : NULL;
	return h ? g_mime_header_get_raw_value(h) : NULL;
}

/* Adds key: the decoded header, or null. */
static int add_header(cJSON *obj, const char *key, GMimeObject *o, const char *name,
		      ds_err *err)
{
	const char *raw = raw_header(o, name);
	char *s = NULL;
	if (raw) {
		int rc = ds_email_decode_header(raw, strlen(raw), &s, err);
		if (rc)
			return rc;
	}
	int rc = jstr(obj, key, s);
	ds_free(s);
	return rc ? ds_err_set(err, rc, "out of memory") : 0;
}

#define HEADERS_MAX 200

/* "headers": every header of the message by its name in lower case with
 * "-" as "_" (so rules can say headers.auto_submitted), the first of a
 * repeated one, decoded; at most HEADERS_MAX names. */
static int add_all_headers(cJSON *obj, GMimeObject *o, ds_err *err)
{
	cJSON *h = cJSON_AddObjectToObject(obj, "headers");
	if (!h)
		return ds_err_set(err, DS_ENOMEM, "out of memory");
	GMimeHeaderList *hl = g_mime_object_get_header_list(o);
	int count = hl ? g_mime_header_list_get_count(hl) : 0;
	for (int i = 0; i < count && cJSON_GetArraySize(h) < HEADERS_MAX; i++) {
		GMimeHeader *hd = g_mime_header_list_get_header_at(hl, i);
		const char *name = hd ? g_mime_header_get_name(hd) : NULL;
		const char *raw = hd ? g_mime_header_get_raw_value(hd) : NULL;
		char key[65];
		size_t k = 0;
		for (; name && name[k] && k < sizeof key - 1; k++) {
			unsigned char c = (unsigned char)name[k];
			if (!isalnum(c) && c != '-' && c != '_')
				break;
			key[k] = c == '-' ? '_' : (char)tolower(c);
		}
		if (!raw || !k || (name && name[k]))
			continue;
		key[k] = '\0';
		if (cJSON_GetObjectItemCaseSensitive(h, key))
			continue;
		char *v = NULL;
		int rc = ds_email_decode_header(raw, strlen(raw), &v, err);
		if (rc)
			return rc;
		rc = jstr(h, key, v);
		ds_free(v);
		if (rc)
			return ds_err_set(err, DS_ENOMEM, "out of memory");
	}
	return 0;
}

static int add_refs(cJSON *obj, GMimeObject *o, ds_err *err)
{
	const char *irt = raw_header(o, "In-Reply-To");
	const char *refs = raw_header(o, "References");
	/* GMime reference lists, freed with g_mime_references_free */
	GMimeReferences *r1 = irt ? g_mime_references_parse(NULL, irt) : NULL;
	GMimeReferences *r2 = refs ? g_mime_references_parse(NULL, refs) : NULL;
	int rc = 0;
	cJSON *arr = NULL;
	if (jstr(obj, "in_reply_to",
		 r1 && g_mime_references_length(r1) > 0 ? g_mime_references_get_message_id(r1, 0)
							: NULL) ||
	    !(arr = cJSON_AddArrayToObject(obj, "references"))) {
		rc = ds_err_set(err, DS_ENOMEM, "out of memory");
		goto done;
	}
	int n = r2 ? g_mime_references_length(r2) : 0;
	for (int i = 0; i < n; i++) {
		const char *id = g_mime_references_get_message_id(r2, i);
		cJSON *s = id && ds_utf8_valid(id, strlen(id)) ? cJSON_CreateString(id) : NULL;
		if (!id || !ds_utf8_valid(id, strlen(id)))
			continue;
		if (!s || !cJSON_AddItemToArray(arr, s)) {
			cJSON_Delete(s);
			rc = ds_err_set(err, DS_ENOMEM, "out of memory");
			goto done;
		}
	}
done:
	if (r1)
		g_mime_references_free(r1);
	if (r2)
		g_mime_references_free(r2);
	return rc;
}

static int run(const char *buf, size_t len, const ds_email_opts *opts, const char *want,
	       cJSON **out, walk *w, ds_err *err)
{
	int rc = 0;
	GMimeStream *stream = NULL;
	GMimeParser *parser = NULL;
	GMimeMessage *msg = NULL;
	cJSON *root = NULL;
	char *date = NULL;
	memset(w, 0, sizeof(*w));
	fill_opts(&w->o, opts);
	w->err = err;
	w->want = want;
	if (out)
		*out = NULL;
	pthread_once(&init_once, init_libs);
	if (len > w->o.max_total)
		return ds_err_set(err, DS_ELIMIT, "message is %zu bytes, over max_total (%zu)", len,
				  w->o.max_total);
	if (!buf || len == 0)
		return ds_err_set(err, DS_EINVAL, "empty message");
	if (count_content_types(buf, len) > w->o.max_parts + 1)
		return ds_err_set(err, DS_ELIMIT, "more than max_parts (%zu) parts",
				  w->o.max_parts);
	/* GMime objects below are released with g_object_unref */
	stream = g_mime_stream_mem_new_with_buffer(buf, len);
	parser = stream ? g_mime_parser_new_with_stream(stream) : NULL;
	msg = parser ? g_mime_parser_construct_message(parser, NULL) : NULL;
	if (!msg) {
		rc = ds_err_set(err, DS_EINVAL, "not an email message");
		goto done;
	}
	GMimeObject *mo = GMIME_OBJECT(msg);
	if ((rc = check_headers(w, mo)) != 0)
		goto done;
	root = cJSON_CreateObject();
	w->parts_arr = cJSON_CreateArray();
	w->atts = cJSON_CreateArray();
	if (!root || !w->parts_arr || !w->atts || jstr(root, "channel", "email")) {
		rc = ds_err_set(err, DS_ENOMEM, "out of memory");
		goto done;
	}
	if ((rc = add_header(root, "subject", mo, "Subject", err)) != 0)
		goto done;
	cJSON *from = cJSON_CreateArray();
	if (!from || add_addresses(root, "to", g_mime_message_get_addresses(msg, GMIME_ADDRESS_TYPE_TO)) ||
	    add_addresses(root, "cc", g_mime_message_get_addresses(msg, GMIME_ADDRESS_TYPE_CC))) {
		cJSON_Delete(from);
		rc = ds_err_set(err, DS_ENOMEM, "out of memory");
		goto done;
	}
	InternetAddressList *fl = g_mime_message_get_from(msg);
	for (int i = 0; fl && i < internet_address_list_length(fl) && cJSON_GetArraySize(from) == 0;
	     i++) {
		if (add_mailbox(from, internet_address_list_get_address(fl, i), 0)) {
			cJSON_Delete(from);
			rc = ds_err_set(err, DS_ENOMEM, "out of memory");
			goto done;
		}
	}
	cJSON *first = cJSON_DetachItemFromArray(from, 0);
	cJSON_Delete(from);
	if (!first)
		first = cJSON_CreateNull();
	if (!first || !cJSON_AddItemToObject(root, "from", first)) {
		cJSON_Delete(first);
		rc = ds_err_set(err, DS_ENOMEM, "out of memory");
		goto done;
	}
	/* date */
	const char *rawdate = raw_header(mo, "Date");
	if (rawdate && (rc = ds_email_decode_header(rawdate, strlen(rawdate), &date, err)) != 0)
		goto done;
	ds_time t;
	int off = 0;
	if (date && ds_email_parse_date(date, &t, &off) == 0) {
		char iso[24];
		ds_time_format(t, iso);
		if (jstr(root, "date", iso) || jnum(root, "date_offset", off))
			rc = DS_ENOMEM;
	} else if (jstr(root, "date", NULL) || jstr(root, "date_offset", NULL)) {
		rc = DS_ENOMEM;
	}
	if (rc || jstr(root, "message_id", g_mime_message_get_message_id(msg))) {
		rc = ds_err_set(err, DS_ENOMEM, "out of memory");
		goto done;
	}
	if ((rc = add_refs(root, mo, err)) != 0 || (rc = add_all_headers(root, mo, err)) != 0)
		goto done;
	/* the MIME tree */
	GMimeObject *body = g_mime_message_get_mime_part(msg);
	char *top = body ? mime_type(body) : ds_strdup("text/plain");
	if (!top || jstr(root, "content_type", top)) {
		ds_free(top);
		rc = ds_err_set(err, DS_ENOMEM, "out of memory");
		goto done;
	}
	ds_free(top);
	size_t total = 0;
	if (body && GMIME_IS_MULTIPART(body)) {
		if ((rc = check_headers(w, body)) != 0)
			goto done;
		rc = visit_children(w, GMIME_MULTIPART(body), "", 1, false, &total);
	} else if (body) {
		rc = visit(w, body, "1", 1, false, &total);
	}
	if (rc)
		goto done;
	const char *text = w->plain ? w->plain : w->html ? w->html : "";
	if (jstr(root, "text", text) || !cJSON_AddItemToObject(root, "parts", w->parts_arr)) {
		rc = ds_err_set(err, DS_ENOMEM, "out of memory");
		goto done;
	}
	w->parts_arr = NULL;  /* owned by root */
	if (!cJSON_AddItemToObject(root, "attachments", w->atts)) {
		rc = ds_err_set(err, DS_ENOMEM, "out of memory");
		goto done;
	}
	w->atts = NULL;  /* owned by root */
	if (out) {
		*out = root;
		root = NULL;  /* handed to the caller */
	}
done:
	cJSON_Delete(root);
	cJSON_Delete(w->parts_arr);
	cJSON_Delete(w->atts);
	ds_free(w->plain);
	ds_free(w->html);
	ds_free(date);
	w->parts_arr = w->atts = NULL;
	w->plain = w->html = NULL;
	if (msg)
		g_object_unref(msg);
	if (parser)
		g_object_unref(parser);
	if (stream)
		g_object_unref(stream);
	return rc;
}

int ds_email_parse(const char *buf, size_t len, const ds_email_opts *opts, cJSON **out,
		   ds_err *err)
{
	walk w;
	return run(buf, len, opts, NULL, out, &w, err);
}

int ds_email_part(const char *buf, size_t len, const ds_email_opts *opts, const char *path,
		  char **data, size_t *n, ds_err *err)
{
	walk w;
	*data = NULL;
	*n = 0;
	int rc = run(buf, len, opts, path, NULL, &w, err);
	if (rc == 0 && !w.got)
		rc = ds_err_set(err, DS_ENOTFOUND, "no leaf part %s in this message", path);
	if (rc) {
		ds_free(w.found);
		return rc;
	}
	*data = w.found;  /* handed to the caller */
	*n = w.found_n;
	return 0;
}
