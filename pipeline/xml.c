/*
 * xml.c - safe parsing of untrusted XML and compiled XPath picks; see xml.h.
 *
 * The policy on DTDs is enforced in SAX callbacks wrapped around libxml2's
 * own SAX2 tree builder: the callbacks that declare entities or start a
 * DOCTYPE with an external id stop the parser at once, so no declaration
 * is ever stored, let alone expanded. Element depth is checked in the
 * start-element callback. The callbacks find their parser through a
 * thread-local pointer set for the duration of one parse, which is why a
 * ds_xml is used by one thread at a time.
 *
 * libxml2 interns names in its parser context's dictionary, which lives as
 * long as the context; to keep a long-lived parser's memory bounded the
 * context is replaced once the dictionary grows past DICT_MAX names.
 *
 * Most picks are plain location paths: child steps by (prefixed) name,
 * perhaps parent steps first ("../c:C") or an attribute last, nothing
 * else. Those are also kept as their steps and evaluated by walking the
 * tree (depth first, children in order, so in document order), which
 * gives what libxml2's evaluator gives at a fraction of its cost; names
 * are compared by the document's own copy of them (its dictionary). A
 * location path that begins plain and goes on with boolean predicates and
 * child steps ("/a:B/c:C[x = 'y']/d:D") is split: its plain beginning is
 * walked, and the rest ("self::node()[x = 'y']/d:D") is evaluated from
 * each node found, which skips the costly part of the evaluation, the
 * steps down from the root; since the rest only goes down, the results
 * stay in document order. When the rest is one predicate and plain child
 * steps, and the predicate keeps to comparisons, arithmetic and the string
 * functions, xml.c evaluates it itself (see "predicates and functions
 * evaluated here"), else libxml2 does. A union of such paths ("/a:B/c:C |
 * /a:B/d:D") gives its first node as the earliest of each part's first.
 * An expression of functions that xml.c knows is evaluated by it whole
 * ("normalize-space(concat(/a:B/c:C, ' ', /a:B/c:D))"); one of other
 * functions over absolute plain paths is bound: each such path given as an
 * argument becomes a variable whose nodes xml.c walks when libxml2 asks
 * for them, so libxml2 evaluates the functions only. Anything else (axes,
 * "//", positions...) goes to libxml2 whole, as does an expression in
 * parentheses as a whole (which the tests use to compare each way with
 * libxml2's own).
 */
#include "xml.h"

#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/catalog.h>
#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/SAX2.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>

#define DICT_MAX 100000

struct ds_xml {
	xmlParserCtxt *ctxt;
	size_t max_size;
	unsigned max_depth;
	int refused;          /* 0, or the DS_E* code of a policy refusal */
	char why[512];        /* the refusal, or libxml2's first error */
	bool have_error;
};

/* Namespaces of the document already found to have a given URI: the same
 * few xmlNs serve every element, and their URIs are long and alike, so a
 * plain path compares pointers once a namespace has matched. */
#define NS_SEEN 8
/* Names of steps already looked up in the document's dictionary: see
 * own_name (which takes the top 7 bits of a hash). */
#define NAMES_SEEN 128

struct ds_xml_doc {
	xmlDoc *doc;
	xmlXPathContext *xp;  /* made on first evaluation */
	ds_arena *a;
	struct {
		const xmlNs *ns;
		const xmlChar *uri;   /* a set's string */
	} seen[NS_SEEN];
	size_t nseen;
	struct {
		const char *step;     /* a step's name (the set's string), NULL: free */
		const xmlChar *own;   /* the document's copy, NULL: no node has it */
	} names[NAMES_SEEN];
};

/* One step of a plain path: a child element, or (last) an attribute;
 * a relative path may begin with parent steps ("../"), counted by up. */
struct xp_step {
	const xmlChar *uri;   /* the element's namespace (the set's string); NULL: none */
	const char *name;     /* local name (the set's string, one per name) */
	bool attr;            /* an attribute without a namespace */
};

struct px;

struct xp_expr {
	char *text;
	xmlXPathCompExpr *comp;
	/* Evaluated by xml.c (see "predicates and functions evaluated here"):
	 * the whole expression, or the one predicate of a split path, then
	 * the plain child steps after it (NULL: none). */
	struct px *whole;
	struct px *pred;
	struct xp_expr *after;
	/* A plain path ("/ord:Order/cbc:ID", "cac:Price/cbc:PriceAmount/@currencyID")
	 * is also kept as its steps, walked without the XPath machinery. */
	struct xp_step *steps;
	size_t nsteps;
	bool absolute;
	unsigned up;          /* parent steps before the first child step */
	/* A split path: steps are its plain beginning, rest the remainder
	 * from "self::node()". */
	xmlXPathCompExpr *rest;
	/* A union of plain or split paths: its parts. */
	struct xp_expr *alts;
	size_t nalts;
	/* A bound expression: comp is the text with each absolute plain path
	 * given as a function's argument replaced by a variable, $ds_pK for
	 * the path vars[K], which xml.c walks when libxml2 asks its value. */
	struct xp_expr *vars;
	size_t nvars;
};

struct ds_xpath_set {
	xmlNs *ns;            /* only prefix and href are used, by XPath lookups */
	xmlNs **nsp;
	size_t nns;
	struct xp_expr *e;
	size_t n, cap;
	char **names;         /* the steps' names, each once: steps point here */
	size_t nnames, names_cap;
};

static _Thread_local ds_xml *current;

/* ---- memory ---- */

/* libxml2's blocks are zoned blocks (mem.h): from the thread's zone while
 * one is set, from malloc otherwise (not ds_malloc: the allocation
 * failures tests inject are ours, not libxml2's). */
static _Thread_local ds_arena *zone;
/* Blocks the heap served while a zone was set (it was full). */
static _Thread_local unsigned long zone_spills;

static void *mem_alloc(size_t n)
{
	void *p = ds_zone_alloc(zone, n, false);
	zone_spills += zone && p && !ds_zone_owns(p);
	return p;
}

static void *mem_realloc(void *p, size_t n)
{
	void *q = ds_zone_realloc(zone, p, n, false);
	zone_spills += zone && q && !ds_zone_owns(q);
	return q;
}

static char *mem_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = mem_alloc(n);
	if (d)
		memcpy(d, s, n);
	return d;
}

void ds_xml_zone(ds_arena *a)
{
	if (!a && zone)
		xmlResetLastError(); /* its copies of the last message are zone blocks */
	zone = a;
}

/* Before main, so that no block libxml2 hands out lacks its header, even
 * one of a caller that uses libxml2 before any ds_xml function. */
__attribute__((constructor)) static void set_hooks(void)
{
	xmlMemSetup(ds_zone_free, mem_alloc, mem_realloc, mem_strdup);
}

static void init_once(void)
{
	xmlInitParser();
	/* A document's <?oasis-xml-catalog?> would load catalogs: refused, so
	 * that none is fetched and no process-wide catalog is made in a zone. */
	xmlCatalogSetDefaults(XML_CATA_ALLOW_NONE);
}

void ds_xml_init(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, init_once);
}

/* ---- parsing ---- */

/* Records "XML refused: <before>"<name>"<after>" and stops the parser. */
static void refuse(void *ctx, const char *before, const char *name, const char *after)
{
	xmlParserCtxt *ctxt = ctx;
	ds_xml *x = current;
	if (x && !x->refused) {
		char q[72];
		x->refused = DS_EINVAL;
		snprintf(x->why, sizeof x->why, "XML refused: %s\"%s\"%s", before,
			 ds_quote(name ? name : "", q), after);
	}
	xmlStopParser(ctxt);
}

static void on_entity_decl(void *ctx, const xmlChar *name, int type, const xmlChar *publicId,
			   const xmlChar *systemId, xmlChar *content)
{
	(void)type, (void)publicId, (void)systemId, (void)content;
	refuse(ctx, "the DOCTYPE declares the entity ", (const char *)name,
	       " (entity declarations are not accepted)");
}

static void on_unparsed_entity_decl(void *ctx, const xmlChar *name, const xmlChar *publicId,
				    const xmlChar *systemId, const xmlChar *notationName)
{
	(void)publicId, (void)systemId, (void)notationName;
	refuse(ctx, "the DOCTYPE declares the entity ", (const char *)name,
	       " (entity declarations are not accepted)");
}

static void on_internal_subset(void *ctx, const xmlChar *name, const xmlChar *ExternalID,
			       const xmlChar *SystemID)
{
	if (ExternalID || SystemID) {
		refuse(ctx, "the DOCTYPE ", (const char *)name,
		       " refers to an external DTD (not accepted)");
		return;
	}
	xmlSAX2InternalSubset(ctx, name, ExternalID, SystemID);
}

static void on_external_subset(void *ctx, const xmlChar *name, const xmlChar *ExternalID,
			       const xmlChar *SystemID)
{
	/* Never loaded; an external id was already refused. */
	(void)ctx, (void)name, (void)ExternalID, (void)SystemID;
}

static xmlParserInputPtr on_resolve_entity(void *ctx, const xmlChar *publicId,
					   const xmlChar *systemId)
{
	(void)publicId;
	refuse(ctx, "a reference to the external resource ", (const char *)systemId, "");
	return NULL;
}

static void on_start_element(void *ctx, const xmlChar *localname, const xmlChar *prefix,
			     const xmlChar *URI, int nb_namespaces, const xmlChar **namespaces,
			     int nb_attributes, int nb_defaulted, const xmlChar **attributes)
{
	xmlParserCtxt *ctxt = ctx;
	ds_xml *x = current;
	/* nameNr counts the open ancestors of this element. */
	if (x && (unsigned)ctxt->nameNr + 1 > x->max_depth) {
		if (!x->refused) {
			x->refused = DS_ELIMIT;
			snprintf(x->why, sizeof x->why,
				 "XML nesting deeper than %u elements (max_depth)", x->max_depth);
		}
		xmlStopParser(ctxt);
		return;
	}
	xmlSAX2StartElementNs(ctx, localname, prefix, URI, nb_namespaces, namespaces,
			      nb_attributes, nb_defaulted, attributes);
}

static void on_error(void *ud, xmlErrorPtr e)
{
	(void)ud;
	ds_xml *x = current;
	if (!x || x->have_error || x->refused || !e || e->level < XML_ERR_ERROR)
		return;
	x->have_error = true;
	const char *m = e->message ? e->message : "malformed";
	size_t len = strlen(m);
	while (len && (m[len - 1] == '\n' || m[len - 1] == ' '))
		len--;
	snprintf(x->why, sizeof x->why, "XML not well-formed, line %d: %.*s", e->line,
		 (int)(len > 300 ? 300 : len), m);
	for (char *p = x->why; *p; p++)
		if (*p == '\n' || *p == '\r' || *p == '\t')
			*p = ' ';
}

static xmlParserCtxt *new_ctxt(void)
{
	xmlParserCtxt *ctxt = xmlNewParserCtxt();
	if (!ctxt)
		return NULL;
	xmlSAXHandler *sax = ctxt->sax;
	sax->entityDecl = on_entity_decl;
	sax->unparsedEntityDecl = on_unparsed_entity_decl;
	sax->internalSubset = on_internal_subset;
	sax->externalSubset = on_external_subset;
	sax->resolveEntity = on_resolve_entity;
	sax->startElementNs = on_start_element;
	sax->serror = on_error;
	sax->error = NULL;
	sax->warning = NULL;
	return ctxt;
}

int ds_xml_new(ds_xml **out, const ds_xml_opts *opts, ds_err *err)
{
	*out = NULL;
	ds_xml_opts o = opts ? *opts : (ds_xml_opts){ 0 };
	if (!o.max_size)
		o.max_size = DS_XML_MAX_SIZE;
	if (!o.max_depth)
		o.max_depth = DS_XML_MAX_DEPTH;
	if (o.max_size > INT_MAX)
		return ds_err_set(err, DS_ECONFIG, "XML max_size %zu is above %d bytes", o.max_size,
				  INT_MAX);
	if (o.max_depth > 256)
		return ds_err_set(err, DS_ECONFIG, "XML max_depth %u is above 256", o.max_depth);
	ds_xml_init();
	ds_xml *x = ds_calloc(1, sizeof *x);
	if (!x)
		return ds_err_set(err, DS_ENOMEM, "out of memory");
	x->max_size = o.max_size;
	x->max_depth = o.max_depth;
	ds_arena *z = zone; /* the context outlives any zone */
	zone = NULL;
	x->ctxt = new_ctxt();
	zone = z;
	if (!x->ctxt) {
		ds_free(x);
		return ds_err_set(err, DS_ENOMEM, "out of memory (XML parser)");
	}
	*out = x;
	return DS_OK;
}

void ds_xml_free(ds_xml *x)
{
	if (!x)
		return;
	xmlFreeParserCtxt(x->ctxt);
	ds_free(x);
}

static void free_doc(void *p)
{
	xmlFreeDoc(p);
}

static void free_xpath_ctx(void *p)
{
	xmlXPathFreeContext(p);
}

/* Whether a document starts as UTF-16 text does, '<' then a character of
 * the Latin range, with no byte order mark: libxml2 reads UTF-16 from its
 * BOM or from "<?xml" only, and otherwise stops at the first NUL byte. */
static bool looks_utf16(const char *buf, size_t len)
{
	const unsigned char *u = (const unsigned char *)buf;
	if (!buf || len < 4)
		return false;
	return (u[0] == '<' && !u[1] && u[2] && !u[3]) || (!u[0] && u[1] == '<' && !u[2] && u[3]);
}

int ds_xml_parse(ds_xml *x, const char *buf, size_t len, ds_arena *a, ds_xml_doc **out,
		 ds_err *err)
{
	*out = NULL;
	if (len > x->max_size)
		return ds_err_set(err, DS_ELIMIT, "XML input of %zu bytes is larger than %zu (max_size)",
				  len, x->max_size);
	/* In a zone, a context of the document's own (see ds_xml_zone). */
	xmlParserCtxt *ctxt = zone ? new_ctxt() : x->ctxt ? x->ctxt : (x->ctxt = new_ctxt());
	if (!ctxt)
		return ds_err_set(err, DS_ENOMEM, "out of memory (XML parser)");
	x->refused = 0;
	x->have_error = false;
	x->why[0] = '\0';
	unsigned long spills = zone_spills;
	current = x;
	xmlDoc *doc = xmlCtxtReadMemory(ctxt, buf ? buf : "", (int)len, NULL, NULL,
					XML_PARSE_NONET | XML_PARSE_NOBLANKS | XML_PARSE_COMPACT);
	current = NULL;
	bool ok = doc && ctxt->wellFormed && !x->refused && !x->have_error;
	int errno_xml = ctxt->errNo;
	if (ctxt != x->ctxt) {
		xmlFreeParserCtxt(ctxt); /* closes its input's decoder */
	} else if (ctxt->dict && xmlDictSize(ctxt->dict) > DICT_MAX) {
		/* Keep the dictionary bounded: start again with a fresh context. */
		xmlFreeParserCtxt(x->ctxt);
		x->ctxt = new_ctxt(); /* NULL is retried at the next parse */
	}
	if (!ok) {
		xmlFreeDoc(doc);
		if (x->refused)
			return ds_err_set(err, x->refused, "%s", x->why);
		if (errno_xml == XML_ERR_NO_MEMORY)
			return ds_err_set(err, DS_ENOMEM, "out of memory (XML parser)");
		if (x->have_error && looks_utf16(buf, len))
			return ds_err_set(err, DS_EINVAL,
					  "XML not readable: the bytes look like UTF-16 without a byte order "
					  "mark or an encoding declaration, which XML requires (%s)", x->why);
		if (x->have_error)
			return ds_err_set(err, DS_EINVAL, "%s", x->why);
		return ds_err_set(err, DS_EINVAL, "XML not well-formed");
	}
	/* A tree made wholly in the zone a is given back by a's reset alone:
	 * walking it to free each node would free nothing. */
	bool zoned = ctxt != x->ctxt && zone == a && zone_spills == spills;
	if (!zoned && ds_arena_defer(a, free_doc, doc))
		return ds_err_set(err, DS_ENOMEM, "out of memory");
	ds_xml_doc *d = ds_arena_alloc(a, sizeof *d);
	if (!d)
		return ds_err_set(err, DS_ENOMEM, "out of memory");
	d->doc = doc;
	d->xp = NULL;
	d->a = a;
	d->nseen = 0;
	memset(d->names, 0, sizeof d->names);
	*out = d;
	return DS_OK;
}

ds_xml_tree *ds_xml_doc_tree(const ds_xml_doc *d)
{
	return d->doc;
}

ds_xml_node *ds_xml_doc_root(const ds_xml_doc *d)
{
	return xmlDocGetRootElement(d->doc);
}

void ds_xml_root_name(const ds_xml_doc *d, char *buf, size_t n)
{
	const xmlNode *root = d ? xmlDocGetRootElement(d->doc) : NULL;
	char q[72], u[72];
	if (!n)
		return;
	if (!root)
		snprintf(buf, n, "missing");
	else if (root->ns && root->ns->href)
		snprintf(buf, n, "\"%s\" in namespace \"%s\"", ds_quote((const char *)root->name, q),
			 ds_quote((const char *)root->ns->href, u));
	else
		snprintf(buf, n, "\"%s\" in no namespace", ds_quote((const char *)root->name, q));
}

/* ---- XPath sets ---- */

static bool xml_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool ncname_start(unsigned char c)
{
	return c >= 0x80 || c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static bool ncname_char(unsigned char c)
{
	return ncname_start(c) || c == '-' || c == '.' || (c >= '0' && c <= '9');
}

static bool valid_ncname(const char *s)
{
	if (!ncname_start((unsigned char)*s))
		return false;
	for (; *s; s++)
		if (!ncname_char((unsigned char)*s))
			return false;
	return true;
}

static bool has_prefix(const ds_xpath_set *s, const char *p, size_t n)
{
	if (n == 3 && !strncmp(p, "xml", 3))
		return true;
	for (size_t i = 0; i < s->nns; i++)
		if (strlen((const char *)s->ns[i].prefix) == n &&
		    !strncmp((const char *)s->ns[i].prefix, p, n))
			return true;
	return false;
}

/* Finds a QName prefix (an NCName followed by one ':') outside string
 * literals that the set does not declare: libxml2 only looks prefixes up
 * when a step runs, so a typo would otherwise pass loading silently. */
static const char *undeclared_prefix(const ds_xpath_set *s, const char *e, size_t *len)
{
	const char *p = e;
	while (*p) {
		unsigned char c = (unsigned char)*p;
		if (c == '"' || c == '\'') {
			const char *end = strchr(p + 1, c);
			if (!end)
				return NULL; /* the compiler reports it */
			p = end + 1;
		} else if (ncname_start(c)) {
			const char *start = p;
			while (ncname_char((unsigned char)*p))
				p++;
			if (p[0] == ':' && p[1] != ':' && !has_prefix(s, start, (size_t)(p - start))) {
				*len = (size_t)(p - start);
				return start;
			}
		} else if (c >= '0' && c <= '9') {
			while ((*p >= '0' && *p <= '9') || *p == '.')
				p++;
		} else {
			p++;
		}
	}
	return NULL;
}

static void px_free(struct px *x);

/* The steps and split of e, not its text and compiled whole. */
static void steps_free(struct xp_expr *e)
{
	px_free(e->pred);
	e->pred = NULL;
	if (e->after)
		steps_free(e->after);
	ds_free(e->after);
	e->after = NULL;
	ds_free(e->steps);
	e->steps = NULL;
	e->nsteps = 0;
	e->up = 0;
	xmlXPathFreeCompExpr(e->rest);
	e->rest = NULL;
}

static void expr_free(struct xp_expr *e)
{
	px_free(e->whole);
	ds_free(e->text);
	xmlXPathFreeCompExpr(e->comp);
	steps_free(e);
	for (size_t k = 0; k < e->nalts; k++)
		steps_free(&e->alts[k]);
	ds_free(e->alts);
	for (size_t k = 0; k < e->nvars; k++)
		steps_free(&e->vars[k]);
	ds_free(e->vars);
}

void ds_xpath_set_free(ds_xpath_set *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		expr_free(&s->e[i]);
	ds_free(s->e);
	for (size_t i = 0; i < s->nns; i++) {
		ds_free((void *)s->ns[i].prefix);
		ds_free((void *)s->ns[i].href);
	}
	ds_free(s->ns);
	ds_free(s->nsp);
	ds_strv_free(s->names, s->nnames);
	ds_free(s);
}

/* The set's copy of the name of n bytes at p, made on first use; NULL
 * when out of memory. One copy per name, so that a document keeps what
 * it knows of a name by its pointer (own_name). */
static const char *set_name(ds_xpath_set *s, const char *p, size_t n)
{
	for (size_t i = 0; i < s->nnames; i++)
		if (!strncmp(s->names[i], p, n) && !s->names[i][n])
			return s->names[i];
	if (s->nnames == s->names_cap) {
		size_t cap = s->names_cap ? s->names_cap * 2 : 32;
		char **v = ds_realloc(s->names, cap * sizeof *v);
		if (!v)
			return NULL;
		s->names = v;
		s->names_cap = cap;
	}
	char *c = ds_strndup(p, n);
	if (c)
		s->names[s->nnames++] = c;
	return c;
}

int ds_xpath_set_new(ds_xpath_set **out, const ds_xml_ns *ns, size_t nns, ds_err *err)
{
	*out = NULL;
	char q[72];
	for (size_t i = 0; i < nns; i++) {
		if (!ns[i].prefix || !valid_ncname(ns[i].prefix) || !strcmp(ns[i].prefix, "xml") ||
		    !strcmp(ns[i].prefix, "xmlns"))
			return ds_err_set(err, DS_ECONFIG, "namespace prefix \"%s\" is not allowed",
					  ds_quote(ns[i].prefix ? ns[i].prefix : "", q));
		if (!ns[i].uri || !*ns[i].uri)
			return ds_err_set(err, DS_ECONFIG, "namespace prefix \"%s\" has no URI",
					  ds_quote(ns[i].prefix, q));
		for (size_t j = 0; j < i; j++)
			if (!strcmp(ns[i].prefix, ns[j].prefix))
				return ds_err_set(err, DS_ECONFIG,
						  "namespace prefix \"%s\" is declared twice",
						  ds_quote(ns[i].prefix, q));
	}
	ds_xml_init();
	ds_xpath_set *s = ds_calloc(1, sizeof *s);
	if (!s)
		return ds_err_set(err, DS_ENOMEM, "out of memory");
	if (nns) {
		s->ns = ds_calloc(nns, sizeof *s->ns);
		s->nsp = ds_calloc(nns, sizeof *s->nsp);
		if (!s->ns || !s->nsp)
			goto nomem;
	}
	for (size_t i = 0; i < nns; i++) {
		s->ns[i].type = XML_NAMESPACE_DECL;
		s->ns[i].prefix = (xmlChar *)ds_strdup(ns[i].prefix);
		s->ns[i].href = (xmlChar *)ds_strdup(ns[i].uri);
		s->nns = i + 1; /* freed from here on */
		if (!s->ns[i].prefix || !s->ns[i].href)
			goto nomem;
		s->nsp[i] = &s->ns[i];
	}
	*out = s;
	return DS_OK;
nomem:
	ds_xpath_set_free(s);
	return ds_err_set(err, DS_ENOMEM, "out of memory");
}

static void quiet_xpath(void *ud, xmlErrorPtr e)
{
	(void)ud, (void)e;
}

/* libxml2's message for an XPath error, one line. */
static const char *xpath_msg(const xmlError *e, char *buf, size_t size)
{
	if (!e || !e->message) {
		snprintf(buf, size, "XPath error %d", e ? e->code : 0);
		return buf;
	}
	const char *m = e->message;
	size_t len = strlen(m);
	while (len && (m[len - 1] == '\n' || m[len - 1] == ' '))
		len--;
	snprintf(buf, size, "%.*s", (int)(len > 200 ? 200 : len), m);
	for (char *p = buf; *p; p++)
		if (*p == '\n')
			*p = ' ';
	return buf;
}

/* The namespace URI of declared prefix p (n bytes), or NULL. */
static const xmlChar *prefix_uri(const ds_xpath_set *s, const char *p, size_t n)
{
	for (size_t i = 0; i < s->nns; i++)
		if (strlen((const char *)s->ns[i].prefix) == n &&
		    !strncmp((const char *)s->ns[i].prefix, p, n))
			return s->ns[i].href;
	return NULL;
}

/* Reads the plain steps expr begins with into e (steps, nsteps, absolute)
 * and returns where they end: at the end of expr for a plain path, at
 * expr with no step (or on allocation failure, when libxml2 evaluates
 * it all). */
static const char *plain_steps(ds_xpath_set *s, const char *expr, struct xp_expr *e)
{
	struct xp_step st[32];
	size_t n = 0;
	unsigned up = 0;
	const char *p = expr;
	const char *end = expr;
	bool absolute = *p == '/';
	if (absolute)
		p++;
	/* From one node its parent is one node: what follows stays in
	 * document order. */
	while (!absolute && up < 8 && p[0] == '.' && p[1] == '.' && p[2] == '/' && p[3] != '/') {
		up++;
		p += 3;
	}
	for (;;) {
		if (n == sizeof st / sizeof *st)
			break;
		bool attr = *p == '@';
		if (attr)
			p++;
		const char *a = p;
		if (!ncname_start((unsigned char)*p))
			break;
		while (ncname_char((unsigned char)*p))
			p++;
		const char *local = a;
		size_t len = (size_t)(p - a);
		const xmlChar *uri = NULL;
		if (*p == ':') {
			/* A prefix: declared (checked before), and not "xml", whose
			 * namespace libxml2 knows without a declaration. */
			if (attr || p[1] == ':' || (len == 3 && !strncmp(a, "xml", 3)) ||
			    !(uri = prefix_uri(s, a, len)))
				break;
			local = ++p;
			if (!ncname_start((unsigned char)*p))
				break;
			while (ncname_char((unsigned char)*p))
				p++;
			len = (size_t)(p - local);
		}
		/* A name followed by "(" is a function or node test, by "::" an axis. */
		if (*p == '(' || (*p == ':' && p[1] == ':'))
			break;
		st[n].uri = uri;
		st[n].attr = attr;
		if (!(st[n].name = set_name(s, local, len)))
			return expr;
		n++;
		end = p;
		/* An attribute is the last step; "//" is not a child step. */
		if (attr || *p != '/' || p[1] == '/')
			break;
		p++;
	}
	if (!n)
		return expr;
	e->steps = ds_malloc(n * sizeof *e->steps);
	if (!e->steps)
		return expr;
	memcpy(e->steps, st, n * sizeof *st);
	e->nsteps = n;
	e->absolute = absolute;
	e->up = up;
	return end;
}

/* Where the bracket, parenthesis or quote at p closes, or NULL. */
static const char *closing(const char *p)
{
	char stack[64];
	size_t depth = 0;
	for (; *p; p++) {
		char c = *p;
		if (c == '"' || c == '\'') {
			const char *q = strchr(p + 1, c);
			if (!q)
				return NULL;
			p = q;
			if (!depth)
				return p;
		} else if (c == '[' || c == '(') {
			if (depth == sizeof stack)
				return NULL;
			stack[depth++] = c == '[' ? ']' : ')';
		} else if (c == ']' || c == ')') {
			if (!depth || stack[depth - 1] != c)
				return NULL;
			if (!--depth)
				return p;
		}
	}
	return NULL;
}

static bool starts_word(const char *p, const char *w, const char *before)
{
	size_t n = strlen(w);
	return !strncmp(p, w, n) && !ncname_char((unsigned char)p[n]) && p[n] != ':' &&
	       (p == before || (!ncname_char((unsigned char)p[-1]) && p[-1] != ':'));
}

/* Whether the predicate b..e (inside its brackets) is boolean whatever the
 * document: a comparison, "and", "or", or a call of a boolean function,
 * and does not ask the position. A number would select by position, which
 * is not the same from "self::node()". */
static bool boolean_predicate(const char *b, const char *e)
{
	static const char *const fns[] = { "not(", "starts-with(", "contains(", "boolean(",
					   "true(", "false(", "lang(" };
	for (const char *p = b; p < e; p++)
		if (!strncmp(p, "position(", 9) || !strncmp(p, "last(", 5))
			return false;
	for (const char *p = b; p < e; p++) {
		if (*p == '"' || *p == '\'' || *p == '[' || *p == '(') {
			const char *c = closing(p);
			if (!c || c >= e)
				return false;
			p = c;
		} else if (*p == '=' || *p == '<' || *p == '>' || starts_word(p, "and", b) ||
			   starts_word(p, "or", b)) {
			return true;
		}
	}
	while (b < e && (*b == ' ' || *b == '\t' || *b == '\n' || *b == '\r'))
		b++;
	for (size_t i = 0; i < sizeof fns / sizeof *fns; i++) {
		size_t n = strlen(fns[i]);
		if ((size_t)(e - b) > n && !strncmp(b, fns[i], n)) {
			const char *c = closing(b + n - 1);
			if (!c)
				return false;
			for (c++; c < e; c++)
				if (*c != ' ' && *c != '\t' && *c != '\n' && *c != '\r')
					return false;
			return true;
		}
	}
	return false;
}

/* Whether rest (what follows the plain beginning, from its first "[") is
 * predicates and child steps only, the predicates right after the plain
 * part boolean ones. */
static bool splittable(const char *p)
{
	bool first = true;
	if (*p != '[')
		return false;
	while (*p) {
		if (*p == '[') {
			const char *c = closing(p);
			if (!c || (first && !boolean_predicate(p + 1, c)))
				return false;
			p = c + 1;
		} else if (*p == '/' && p[1] != '/') {
			first = false;
			p++;
			if (*p == '@')
				p++;
			if (!ncname_start((unsigned char)*p))
				return false;
			while (ncname_char((unsigned char)*p))
				p++;
			if (*p == ':') {
				p++;
				if (!ncname_start((unsigned char)*p))
					return false;
				while (ncname_char((unsigned char)*p))
					p++;
			}
			if (*p == '(' || *p == ':')
				return false;
		} else {
			return false;
		}
	}
	return true;
}

static xmlXPathCompExpr *compile(const char *expr, xmlError *error)
{
	xmlXPathContext *ctx = xmlXPathNewContext(NULL);
	if (!ctx)
		return NULL;
	ctx->error = quiet_xpath;
	xmlXPathCompExpr *comp = xmlXPathCtxtCompile(ctx, (const xmlChar *)expr);
	if (!comp && error)
		xmlCopyError(&ctx->lastError, error);
	xmlXPathFreeContext(ctx);
	return comp;
}

static struct px *px_compile(ds_xpath_set *s, const char *expr, size_t n);

/* The rest of a split path, "[P]" and perhaps plain child steps, made
 * e->pred and e->after when xml.c evaluates P itself; else libxml2 does
 * (e->rest). */
static void native_split(ds_xpath_set *s, const char *rest, struct xp_expr *e)
{
	const char *c = closing(rest);
	struct xp_expr *after = NULL;
	if (!c)
		return;
	if (c[1] == '/') {
		if (!(after = ds_calloc(1, sizeof *after)))
			return;
		const char *end = plain_steps(s, c + 2, after);
		if (!after->nsteps || *end || after->up || after->absolute) {
			steps_free(after);
			ds_free(after);
			return;
		}
	} else if (c[1]) {
		return;
	}
	if (!(e->pred = px_compile(s, rest + 1, (size_t)(c - rest - 1)))) {
		if (after)
			steps_free(after);
		ds_free(after);
		return;
	}
	e->after = after;
}

/* Whether expr may be taken apart as a whole: not in parentheses as a
 * whole (which leaves it to libxml2), nor with variables. */
static bool whole_open(const char *expr)
{
	const char *p = expr;
	while (xml_space(*p))
		p++;
	return *p != '(' && !strchr(expr, '$');
}

/* Makes e an expression xml.c evaluates itself when expr keeps to the part
 * of XPath it knows. */
static bool native_whole(ds_xpath_set *s, const char *expr, struct xp_expr *e)
{
	return whole_open(expr) && (e->whole = px_compile(s, expr, strlen(expr))) != NULL;
}

/* Reads expr (len bytes) as a plain or split path into e; false when it is
 * neither (e then has no steps). */
static bool fast_path(ds_xpath_set *s, const char *expr, size_t len, struct xp_expr *e)
{
	char *text = ds_strndup(expr, len);
	if (!text)
		return false;
	char *p = text, *end = text + strlen(text);
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;
	while (end > p && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\n' || end[-1] == '\r'))
		*--end = '\0';
	const char *rest = plain_steps(s, p, e);
	bool ok = false;
	if (e->nsteps && !*rest) {
		ok = true;
	} else if (e->nsteps && !e->steps[e->nsteps - 1].attr && splittable(rest)) {
		char *r = ds_malloc(strlen(rest) + sizeof "self::node()");
		if (r) {
			strcpy(r, "self::node()");
			strcat(r, rest);
			ok = (e->rest = compile(r, NULL)) != NULL;
			ds_free(r);
		}
		if (ok)
			native_split(s, rest, e);
	}
	if (!ok)
		steps_free(e);
	ds_free(text);
	return ok;
}

/* Reads expr as a union of plain or split paths into e->alts; false when
 * it is not one. */
static bool fast_union(ds_xpath_set *s, const char *expr, struct xp_expr *e)
{
	const char *cut[16];
	size_t n = 0;
	for (const char *p = expr; *p; p++) {
		if (*p == '"' || *p == '\'' || *p == '[' || *p == '(') {
			if (!(p = closing(p)))
				return false;
		} else if (*p == '|') {
			if (n == sizeof cut / sizeof *cut - 1)
				return false;
			cut[n++] = p;
		}
	}
	if (!n || !(e->alts = ds_calloc(n + 1, sizeof *e->alts)))
		return false;
	const char *from = expr;
	for (size_t k = 0; k <= n; k++) {
		const char *to = k < n ? cut[k] : expr + strlen(expr);
		e->nalts = k + 1;
		if (!fast_path(s, from, (size_t)(to - from), &e->alts[k])) {
			for (size_t j = 0; j < k; j++)
				steps_free(&e->alts[j]);
			ds_free(e->alts);
			e->alts = NULL;
			e->nalts = 0;
			return false;
		}
		from = to + 1;
	}
	return true;
}

#define MAX_BOUND 16

/* Makes e a bound expression when expr gives absolute plain paths as
 * function arguments ("normalize-space(concat(/a:B/c:C, ' ', /a:B/c:D))"):
 * libxml2 then evaluates the functions only, not the steps down from the
 * root. An expression that is in parentheses as a whole, or uses
 * variables, is left as it is. False when e is not bound (unchanged). */
static bool bind_paths(ds_xpath_set *s, const char *expr, struct xp_expr *e)
{
	if (!whole_open(expr))
		return false;
	const char *p;
	size_t len = strlen(expr);
	char *text = ds_malloc(len + MAX_BOUND * sizeof "$ds_p15" + 1);
	struct xp_expr vars[MAX_BOUND];
	size_t n = 0, o = 0;
	char prev = '\0';
	if (!text)
		return false;
	for (p = expr; *p;) {
		if (*p == '"' || *p == '\'') {
			const char *q = strchr(p + 1, *p);
			size_t k = q ? (size_t)(q + 1 - p) : strlen(p);
			memcpy(text + o, p, k);
			o += k;
			p += k;
			prev = '"';
			continue;
		}
		if (*p == '/' && (prev == '(' || prev == ',') && n < MAX_BOUND) {
			struct xp_expr v = { 0 };
			const char *end = plain_steps(s, p, &v);
			const char *q = end;
			while (xml_space(*q))
				q++;
			if (v.nsteps && (*q == ')' || *q == ',')) {
				vars[n] = v;
				o += (size_t)sprintf(text + o, "$ds_p%zu", n++);
				p = end;
				prev = 'v';
				continue;
			}
			steps_free(&v);
		}
		if (!xml_space(*p))
			prev = *p;
		text[o++] = *p++;
	}
	text[o] = '\0';
	xmlXPathCompExpr *comp = n ? compile(text, NULL) : NULL;
	ds_free(text);
	if (comp && (e->vars = ds_malloc(n * sizeof *e->vars))) {
		memcpy(e->vars, vars, n * sizeof *vars);
		e->nvars = n;
		xmlXPathFreeCompExpr(e->comp);
		e->comp = comp;
		return true;
	}
	xmlXPathFreeCompExpr(comp);
	for (size_t k = 0; k < n; k++)
		steps_free(&vars[k]);
	return false;
}

int ds_xpath_set_add(ds_xpath_set *s, const char *expr, size_t *index, ds_err *err)
{
	char q[72], m[256];
	size_t plen = 0;
	const char *bad = undeclared_prefix(s, expr, &plen);
	if (bad)
		return ds_err_set(err, DS_ECONFIG, "XPath \"%s\": the prefix \"%.*s\" is not declared",
				  ds_quote(expr, q), (int)(plen > 60 ? 60 : plen), bad);
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 8;
		struct xp_expr *e = ds_realloc(s->e, cap * sizeof *e);
		if (!e)
			return ds_err_set(err, DS_ENOMEM, "out of memory");
		s->e = e;
		s->cap = cap;
	}
	char *text = ds_strdup(expr);
	if (!text)
		return ds_err_set(err, DS_ENOMEM, "out of memory");
	xmlError error = {0};
	xmlXPathCompExpr *comp = compile(expr, &error);
	if (!comp) {
		int code = error.code == XML_ERR_NO_MEMORY || !error.code ? DS_ENOMEM : DS_ECONFIG;
		ds_err_set(err, code, "XPath \"%s\": %s", ds_quote(expr, q),
			   error.code ? xpath_msg(&error, m, sizeof m) : "out of memory");
		xmlResetError(&error);
		ds_free(text);
		return code;
	}
	xmlResetError(&error);
	struct xp_expr *e = &s->e[s->n];
	*e = (struct xp_expr){ .text = text, .comp = comp };
	if (!fast_path(s, expr, strlen(expr), e) && !fast_union(s, expr, e) &&
	    !native_whole(s, expr, e))
		bind_paths(s, expr, e);
	if (index)
		*index = s->n;
	s->n++;
	return DS_OK;
}

size_t ds_xpath_set_count(const ds_xpath_set *s)
{
	return s->n;
}

const char *ds_xpath_set_how(const ds_xpath_set *s, size_t i)
{
	if (i >= s->n)
		return NULL;
	const struct xp_expr *e = &s->e[i];
	return e->nalts ? "union" : e->pred ? "split-native" : e->rest ? "split" : e->steps ? "plain"
	       : e->whole ? "native" : e->nvars ? "bound" : "libxml2";
}

const char *ds_xpath_set_expr(const ds_xpath_set *s, size_t i)
{
	return i < s->n ? s->e[i].text : NULL;
}

/* ---- evaluation ---- */

/* Evaluates comp (of expression text) from node (NULL: the document),
 * within *budget operations, which it lowers by what it spent: one pick
 * that libxml2 evaluates from many nodes has one budget for all of them,
 * DS_XPATH_OP_LIMIT. The result object is the caller's (free with
 * xmlXPathFreeObject). */
typedef struct binding {
	const struct xp_expr *e;  /* a bound expression */
	ds_xml_doc *d;
	bool nomem;
} binding;

static xmlXPathObject *bound_path(void *data, const xmlChar *name, const xmlChar *uri);

static int eval_comp(const ds_xpath_set *s, xmlXPathCompExpr *comp, const char *text,
		     const struct xp_expr *bound, ds_xml_doc *d, const ds_xml_node *node,
		     unsigned long *budget, xmlXPathObject **res, ds_err *err)
{
	char q[72], m[256];
	*res = NULL;
	if (!d->xp) {
		xmlXPathContext *xp = xmlXPathNewContext(d->doc);
		if (!xp)
			return ds_err_set(err, DS_ENOMEM, "out of memory");
		if (ds_arena_defer(d->a, free_xpath_ctx, xp))
			return ds_err_set(err, DS_ENOMEM, "out of memory");
		xp->error = quiet_xpath;
		d->xp = xp;
	}
	xmlXPathContext *xp = d->xp;
	/* Prefixes are found in this array before the (empty) hash table. */
	xp->namespaces = s->nsp;
	xp->nsNr = (int)s->nns;
	xp->node = node ? (xmlNode *)node : (xmlNode *)d->doc;
	xp->contextSize = -1;
	xp->proximityPosition = -1;
	xp->opLimit = *budget ? *budget : 1;
	xp->opCount = 0;
	xmlResetError(&xp->lastError);
	binding b = { .e = bound, .d = d };
	if (bound && bound->nvars)
		xmlXPathRegisterVariableLookup(xp, bound_path, &b);
	xmlXPathObject *r = *budget ? xmlXPathCompiledEval(comp, xp) : NULL;
	if (!*budget)
		xp->lastError.code = XML_XPATH_EXPRESSION_OK + XPATH_OP_LIMIT_EXCEEDED;
	*budget -= xp->opCount < *budget ? xp->opCount : *budget;
	xp->namespaces = NULL;
	xp->nsNr = 0;
	xmlXPathRegisterVariableLookup(xp, NULL, NULL);
	if (b.nomem) {
		xmlXPathFreeObject(r);
		return ds_err_set(err, DS_ENOMEM, "out of memory");
	}
	if (!r) {
		if (xp->lastError.code == XML_ERR_NO_MEMORY)
			return ds_err_set(err, DS_ENOMEM, "out of memory (XPath)");
		if (xp->lastError.code == XML_XPATH_EXPRESSION_OK + XPATH_OP_LIMIT_EXCEEDED)
			return ds_err_set(err, DS_ELIMIT,
					  "XPath \"%s\": more than %lu operations (DS_XPATH_OP_LIMIT)",
					  ds_quote(text, q), DS_XPATH_OP_LIMIT);
		return ds_err_set(err, DS_EINVAL, "XPath \"%s\": %s", ds_quote(text, q),
				  xp->lastError.code ? xpath_msg(&xp->lastError, m, sizeof m)
						     : "evaluation failed");
	}
	*res = r;
	return DS_OK;
}

static int eval(const ds_xpath_set *s, size_t i, ds_xml_doc *d, const ds_xml_node *node,
		xmlXPathObject **res, ds_err *err)
{
	*res = NULL;
	if (i >= s->n)
		return ds_err_set(err, DS_EINTERNAL, "XPath pick %zu does not exist", i);
	unsigned long budget = DS_XPATH_OP_LIMIT;
	return eval_comp(s, s->e[i].comp, s->e[i].text, &s->e[i], d, node, &budget, res, err);
}

/* ---- plain paths ---- */

typedef struct walk {
	ds_xml_doc *d;
	bool all;             /* every node, or the first one only */
	xmlNode *first;
	xmlNode **nodes;      /* all: ds_malloc'd */
	size_t n, cap;
	size_t visited;       /* nodes looked at: the walk's work */
	bool nomem;
} walk;

/* The document's copy of name when it has a dictionary, NULL when no
 * node of the document is named so. libxml2 interns every element name
 * its parser makes in the document's dictionary (doc->dict is set only
 * then), so an element is named name exactly when its name is that copy:
 * one pointer compared instead of the strings, and a step that names
 * nothing of the document ends the walk at once. */
static const xmlChar *own_name(ds_xml_doc *d, const char *name)
{
	size_t h = (size_t)(((uint64_t)(uintptr_t)name * 0x9e3779b97f4a7c15u) >> 57);
	for (size_t k = 0; k < NAMES_SEEN; k++, h = (h + 1) & (NAMES_SEEN - 1)) {
		if (d->names[h].step == name)
			return d->names[h].own;
		if (!d->names[h].step) {
			d->names[h].step = name;
			d->names[h].own = xmlDictExists(d->doc->dict, (const xmlChar *)name, -1);
			return d->names[h].own;
		}
	}
	return xmlDictExists(d->doc->dict, (const xmlChar *)name, -1);
}

static bool ns_matches(const struct xp_step *st, const xmlNs *ns, ds_xml_doc *d)
{
	if (!st->uri)
		return !ns;
	if (!ns || !ns->href)
		return false;
	for (size_t i = 0; i < d->nseen; i++)
		if (d->seen[i].ns == ns && d->seen[i].uri == st->uri)
			return true;
	if (!xmlStrEqual(ns->href, st->uri))
		return false;
	if (d->nseen < NS_SEEN) {
		d->seen[d->nseen].ns = ns;
		d->seen[d->nseen++].uri = st->uri;
	}
	return true;
}

static bool walk_add(walk *w, xmlNode *node)
{
	if (!w->all) {
		w->first = node;
		w->n = 1;
		return false;
	}
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 16;
		xmlNode **nn = ds_realloc(w->nodes, cap * sizeof *nn);
		if (!nn) {
			w->nomem = true;
			return false;
		}
		w->nodes = nn;
		w->cap = cap;
	}
	w->nodes[w->n++] = node;
	return w->all;
}

/* Adds the nodes steps k.. select below cur, in document order; false
 * once the walk is to stop (the first node found, or no memory). */
static bool walk_steps(const struct xp_expr *e, size_t k, xmlNode *cur, walk *w)
{
	const struct xp_step *st = &e->steps[k];
	if (st->attr) {
		if (cur->type != XML_ELEMENT_NODE)
			return true;
		for (xmlAttr *at = cur->properties; at; at = at->next, w->visited++)
			if (!strcmp((const char *)at->name, st->name) && ns_matches(st, at->ns, w->d))
				return walk_add(w, (xmlNode *)at);
		return true;
	}
	if (cur->type != XML_ELEMENT_NODE && cur->type != XML_DOCUMENT_NODE)
		return true;
	const xmlChar *own = w->d->doc->dict ? own_name(w->d, st->name) : NULL;
	if (w->d->doc->dict && !own)
		return true;
	for (xmlNode *c = cur->children; c; c = c->next) {
		w->visited++;
		if (c->type != XML_ELEMENT_NODE ||
		    (own ? c->name != own : strcmp((const char *)c->name, st->name)) ||
		    !ns_matches(st, c->ns, w->d))
			continue;
		if (!(k + 1 == e->nsteps ? walk_add(w, c) : walk_steps(e, k + 1, c, w)))
			return false;
	}
	return true;
}

/* The nodes plain path e selects from node (NULL: the document). */
static int walk_path(const struct xp_expr *e, ds_xml_doc *d, const ds_xml_node *node, bool all,
		     walk *w, ds_err *err)
{
	*w = (walk){ .d = d, .all = all };
	xmlNode *start = e->absolute || !node ? (xmlNode *)d->doc : (xmlNode *)node;
	for (unsigned k = 0; start && k < e->up; k++, w->visited++)
		start = start->type == XML_DOCUMENT_NODE ? NULL : start->parent;
	if (start)
		walk_steps(e, 0, start, w);
	if (w->nomem) {
		ds_free(w->nodes);
		w->nodes = NULL;
		return ds_err_set(err, DS_ENOMEM, "out of memory");
	}
	return DS_OK;
}

/* ---- predicates and functions evaluated here ----
 *
 * The predicate of a split path ("[@schemeID = '0009' or not(@x)]") and
 * an expression of functions ("translate(/a:B/c:C, ' .', '')") are, when
 * they keep to a small part of XPath 1.0, compiled into a tree that xml.c
 * evaluates itself, as libxml2 would, without libxml2's evaluator and its
 * allocations: string and integer literals; plain paths (relative, with
 * parent steps first, or absolute; "." the context node); "or", "and",
 * "=" and "!="; not, boolean, true, false, string, number, concat,
 * normalize-space, translate, string-length, starts-with and contains.
 * Conversions follow XPath 1.0 (3.4 and 4), with libxml2's own functions
 * for numbers (xmlXPathCastStringToNumber, xmlXPathCastNumberToString).
 * Anything else ("<", "mod", unary minus, positions, axes, "//") is left
 * to libxml2. The work is bounded as libxml2's is: every node a path
 * visits and every pair compared counts against the pick's budget, and so
 * do the bytes of every string made (PX_BYTES_PER_OP). The strings made
 * for the predicate of one head are in a scratch arena reset before the
 * next head. */

enum px_kind {
	PX_STR, PX_NUM, PX_PATH, PX_SELF, PX_OR, PX_AND, PX_EQ, PX_NE, PX_ADD, PX_SUB, PX_MUL,
	PX_DIV, PX_FN
};
enum px_fn {
	F_NOT, F_BOOLEAN, F_TRUE, F_FALSE, F_STRING, F_NUMBER, F_CONCAT, F_NORMALIZE,
	F_TRANSLATE, F_STRLEN, F_STARTS, F_CONTAINS, F_SUBSTRING
};

static const struct {
	const char *name;
	enum px_fn fn;
	unsigned min, max;    /* arguments */
} px_fns[] = {
	{ "not", F_NOT, 1, 1 }, { "boolean", F_BOOLEAN, 1, 1 }, { "true", F_TRUE, 0, 0 },
	{ "false", F_FALSE, 0, 0 }, { "string", F_STRING, 0, 1 }, { "number", F_NUMBER, 0, 1 },
	{ "concat", F_CONCAT, 2, 16 }, { "normalize-space", F_NORMALIZE, 0, 1 },
	{ "translate", F_TRANSLATE, 3, 3 }, { "string-length", F_STRLEN, 0, 1 },
	{ "starts-with", F_STARTS, 2, 2 }, { "contains", F_CONTAINS, 2, 2 },
	{ "substring", F_SUBSTRING, 2, 3 },
};

struct px {
	enum px_kind kind;
	enum px_fn fn;
	char *str;             /* PX_STR */
	double num;            /* PX_NUM */
	struct xp_expr path;   /* PX_PATH: its steps */
	struct px *arg[16];    /* operands, arguments */
	size_t narg;
};

static void px_free(struct px *x)
{
	if (!x)
		return;
	for (size_t i = 0; i < x->narg; i++)
		px_free(x->arg[i]);
	ds_free(x->str);
	steps_free(&x->path);
	ds_free(x);
}

typedef struct px_parse {
	ds_xpath_set *s;
	const char *p;
	unsigned depth;
} px_parse;

static void px_blank(px_parse *q)
{
	while (xml_space(*q->p))
		q->p++;
}

/* Whether the operator word w (and, or) is next. */
static bool px_word(px_parse *q, const char *w)
{
	size_t n = strlen(w);
	if (strncmp(q->p, w, n) || ncname_char((unsigned char)q->p[n]) || q->p[n] == ':')
		return false;
	q->p += n;
	return true;
}

static struct px *px_new(enum px_kind k)
{
	struct px *x = ds_calloc(1, sizeof *x);
	if (x)
		x->kind = k;
	return x;
}

static struct px *px_or(px_parse *q);

static struct px *px_primary(px_parse *q)
{
	px_blank(q);
	const char *p = q->p;
	if (*p == '\'' || *p == '"') {
		const char *e = strchr(p + 1, *p);
		struct px *x = e ? px_new(PX_STR) : NULL;
		if (x && !(x->str = ds_strndup(p + 1, (size_t)(e - p - 1)))) {
			ds_free(x);
			return NULL;
		}
		if (x)
			q->p = e + 1;
		return x;
	}
	if (*p >= '0' && *p <= '9') {
		/* integers only: read the same by any parser */
		double v = 0;
		while (*p >= '0' && *p <= '9' && v < 1e15)
			v = v * 10 + (*p++ - '0');
		if (*p == '.' || (*p >= '0' && *p <= '9') || ncname_char((unsigned char)*p))
			return NULL;
		struct px *x = px_new(PX_NUM);
		if (x) {
			x->num = v;
			q->p = p;
		}
		return x;
	}
	if (*p == '(') {
		q->p++;
		struct px *x = px_or(q);
		px_blank(q);
		if (x && *q->p == ')') {
			q->p++;
			return x;
		}
		px_free(x);
		return NULL;
	}
	if (*p == '.' && p[1] != '.' && p[1] != '/' && !(p[1] >= '0' && p[1] <= '9')) {
		q->p++;
		return px_new(PX_SELF);
	}
	/* a function: a name without a prefix, then "(" */
	const char *n = p;
	while (ncname_char((unsigned char)*n))
		n++;
	const char *after = n;
	while (xml_space(*after))
		after++;
	if (n > p && *after == '(') {
		for (size_t i = 0; i < sizeof px_fns / sizeof *px_fns; i++) {
			size_t len = (size_t)(n - p);
			if (strlen(px_fns[i].name) != len || strncmp(px_fns[i].name, p, len))
				continue;
			struct px *x = px_new(PX_FN);
			if (!x)
				return NULL;
			x->fn = px_fns[i].fn;
			q->p = after + 1;
			px_blank(q);
			if (*q->p != ')') {
				for (;;) {
					struct px *a = x->narg < px_fns[i].max ? px_or(q) : NULL;
					if (!a) {
						px_free(x);
						return NULL;
					}
					x->arg[x->narg++] = a;
					px_blank(q);
					if (*q->p != ',')
						break;
					q->p++;
				}
			}
			if (*q->p != ')' || x->narg < px_fns[i].min) {
				px_free(x);
				return NULL;
			}
			q->p++;
			return x;
		}
		return NULL;
	}
	/* a plain path, which nothing may follow but an operator */
	struct px *x = px_new(PX_PATH);
	if (!x)
		return NULL;
	const char *end = plain_steps(q->s, p, &x->path);
	if (!x->path.nsteps || *end == '[' || *end == '/' || *end == '(' || *end == ':') {
		px_free(x);
		return NULL;
	}
	q->p = end;
	return x;
}

static struct px *px_binary(enum px_kind k, struct px *l, struct px *r)
{
	struct px *x = l && r ? px_new(k) : NULL;
	if (!x) {
		px_free(l);
		px_free(r);
		return NULL;
	}
	x->arg[0] = l;
	x->arg[1] = r;
	x->narg = 2;
	return x;
}

/* The binary operators by precedence, the loosest first; each level's
 * operands are of the next one, the last level's primaries. */
static const struct px_op {
	const char *text;
	bool word;             /* "or", "and", "div": not part of a name */
	enum px_kind kind;
} px_ops[][2] = {
	{ { "or", true, PX_OR } },
	{ { "and", true, PX_AND } },
	{ { "!=", false, PX_NE }, { "=", false, PX_EQ } },
	{ { "+", false, PX_ADD }, { "-", false, PX_SUB } },
	{ { "*", false, PX_MUL }, { "div", true, PX_DIV } },
};
#define PX_LEVELS (sizeof px_ops / sizeof *px_ops)

/* The operator of level next in q (taken), or NULL. */
static const struct px_op *px_op_at(px_parse *q, size_t level)
{
	for (size_t i = 0; i < 2 && px_ops[level][i].text; i++) {
		const struct px_op *op = &px_ops[level][i];
		size_t n = strlen(op->text);
		if (op->word ? px_word(q, op->text) : !strncmp(q->p, op->text, n)) {
			if (!op->word)
				q->p += n;
			return op;
		}
	}
	return NULL;
}

/* Operands of level joined, left to right, by its operators. */
static struct px *px_level(px_parse *q, size_t level)
{
	if (level == PX_LEVELS)
		return px_primary(q);
	if (!level && ++q->depth > 32)
		return NULL;
	struct px *x = px_level(q, level + 1);
	const struct px_op *op;
	for (;;) {
		px_blank(q);
		if (!x || !(op = px_op_at(q, level)))
			break;
		x = px_binary(op->kind, x, px_level(q, level + 1));
	}
	if (!level)
		q->depth--;
	return x;
}

static struct px *px_or(px_parse *q)
{
	return px_level(q, 0);
}

/* expr (n bytes) as a tree xml.c evaluates, or NULL when it asks more than
 * the part of XPath above (or on allocation failure). */
static struct px *px_compile(ds_xpath_set *s, const char *expr, size_t n)
{
	char *text = ds_strndup(expr, n);
	if (!text)
		return NULL;
	px_parse q = { .s = s, .p = text };
	struct px *x = px_or(&q);
	px_blank(&q);
	if (x && *q.p) {
		px_free(x);
		x = NULL;
	}
	ds_free(text);
	return x;
}

/* A value: nodes in document order (heap, freed by pv_done), a string (in
 * the run's arena or the tree), a number or a boolean. */
enum pv_type { PV_NODES, PV_STR, PV_NUM, PV_BOOL };
typedef struct pv {
	enum pv_type t;
	xmlNode **nodes;
	size_t n;
	bool own;              /* nodes is ds_malloc'd */
	const char *s;
	double num;
	bool b;
} pv;

typedef struct px_run {
	ds_xml_doc *d;
	ds_arena *a;           /* the strings made: the document's, or scratch */
	xmlNode *ctx;          /* the context node */
	unsigned long *budget;
	int rc;                /* DS_ELIMIT, DS_ENOMEM: stop */
} px_run;

static void pv_done(pv *v)
{
	if (v->t == PV_NODES && v->own)
		ds_free(v->nodes);
	v->nodes = NULL;
	v->own = false;
}

static bool px_spend(px_run *r, unsigned long n)
{
	if (r->rc)
		return false;
	if (*r->budget < n) {
		*r->budget = 0;
		r->rc = DS_ELIMIT;
		return false;
	}
	*r->budget -= n;
	return true;
}

/* The bytes of strings made (or compared) that count as one operation:
 * the memory and the copying strings take count against the same budget
 * as the nodes, so a hostile document cannot make one evaluation take
 * more than about DS_XPATH_OP_LIMIT * PX_BYTES_PER_OP bytes. */
#define PX_BYTES_PER_OP 16

/* Charges a string of len bytes made; false when over the budget. */
static bool px_made(px_run *r, size_t len)
{
	return px_spend(r, 1 + len / PX_BYTES_PER_OP);
}

/* A string libxml2 made (v, freed here), copied into the run's arena;
 * "" with r->rc set when out of memory or over the budget. */
static const char *px_keep(px_run *r, xmlChar *v)
{
	char *s = v && px_made(r, strlen((const char *)v)) ? ds_arena_strdup(r->a, (const char *)v)
							     : NULL;
	xmlFree(v);
	if (!s && !r->rc)
		r->rc = DS_ENOMEM;
	return s ? s : "";
}

/* The nodes below n that its string-value is made of. */
static size_t px_below(xmlNode *n)
{
	size_t k = 0;
	xmlNode *c = n->children;
	while (c) {
		k++;
		if (c->type == XML_ELEMENT_NODE && c->children) {
			c = c->children;
			continue;
		}
		while (c && c != n && !c->next)
			c = c->parent;
		c = c && c != n ? c->next : NULL;
	}
	return k;
}

/* The string-value of a node (XPath 5), as libxml2 gives it: the text of
 * its one text node, or a string libxml2 makes, left in *made for the
 * caller to free with xmlFree and charged for the nodes below n and its
 * bytes; "" with r->rc set when out of memory or over the budget. */
static const char *px_value(px_run *r, xmlNode *n, xmlChar **made)
{
	*made = NULL;
	xmlNode *c = n->children;
	if ((n->type == XML_ELEMENT_NODE || n->type == XML_ATTRIBUTE_NODE) && !c)
		return "";
	if ((n->type == XML_ELEMENT_NODE || n->type == XML_ATTRIBUTE_NODE) && !c->next &&
	    (c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE))
		return c->content ? (const char *)c->content : "";
	if (!px_spend(r, px_below(n)))
		return "";
	xmlChar *v = xmlXPathCastNodeToString(n);
	if (!v) {
		r->rc = DS_ENOMEM;
		return "";
	}
	if (!px_made(r, strlen((const char *)v))) {
		xmlFree(v);
		return "";
	}
	*made = v;
	return (const char *)v;
}

/* px_value kept in the run's arena. */
static const char *px_node_string(px_run *r, xmlNode *n)
{
	xmlChar *made;
	const char *v = px_value(r, n, &made);
	if (!made)
		return v;
	char *s = ds_arena_strdup(r->a, v);
	xmlFree(made);
	if (!s)
		r->rc = DS_ENOMEM;
	return s ? s : "";
}

static const char *px_number_string(px_run *r, double num)
{
	return px_keep(r, xmlXPathCastNumberToString(num));
}

static const char *pv_string(px_run *r, const pv *v)
{
	switch (v->t) {
	case PV_NODES: return v->n ? px_node_string(r, v->nodes[0]) : "";
	case PV_STR: return v->s;
	case PV_NUM: return px_number_string(r, v->num);
	default: return v->b ? "true" : "false";
	}
}

static double pv_number(px_run *r, const pv *v)
{
	switch (v->t) {
	case PV_NUM: return v->num;
	case PV_BOOL: return v->b ? 1 : 0;
	default: return xmlXPathCastStringToNumber((const xmlChar *)pv_string(r, v));
	}
}

static bool pv_bool(const pv *v)
{
	switch (v->t) {
	case PV_NODES: return v->n > 0;
	case PV_STR: return *v->s;
	case PV_NUM: return !isnan(v->num) && v->num != 0;
	default: return v->b;
	}
}

static void px_eval(px_run *r, const struct px *x, pv *out);

static void pv_set_str(pv *out, const char *s)
{
	*out = (pv){ .t = PV_STR, .s = s };
}

static void pv_set_bool(pv *out, bool b)
{
	*out = (pv){ .t = PV_BOOL, .b = b };
}

/* = and != (neq) of two node-sets: whether some pair of their nodes has
 * equal (different) string-values. The string-values of b are made once,
 * not once for each node of a, and freed at the end; each pair is
 * charged, with the bytes strcmp may read. */
static bool pv_equal_nodes(px_run *r, const pv *a, const pv *b, bool neq)
{
	if (!a->n || !b->n)
		return false;
	struct bstr {
		const char *s;
		xmlChar *made;
	} *bs = ds_calloc(b->n, sizeof *bs);
	if (!bs) {
		r->rc = DS_ENOMEM;
		return false;
	}
	size_t sum = 0;
	for (size_t j = 0; j < b->n && !r->rc; j++)
		sum += strlen(bs[j].s = px_value(r, b->nodes[j], &bs[j].made));
	bool found = false;
	for (size_t i = 0; i < a->n && !r->rc && !found; i++) {
		xmlChar *made;
		const char *sa = px_value(r, a->nodes[i], &made);
		size_t la = strlen(sa);
		/* strcmp reads at most the shorter string of each pair */
		size_t bytes = la > sum / b->n ? sum : la * b->n;
		if (px_spend(r, 1 + b->n + bytes / PX_BYTES_PER_OP))
			for (size_t j = 0; j < b->n && !found; j++)
				found = (strcmp(sa, bs[j].s) != 0) == neq;
		xmlFree(made);
	}
	for (size_t j = 0; j < b->n; j++)
		xmlFree(bs[j].made);
	ds_free(bs);
	return found && !r->rc;
}

/* XPath 3.4: = and != (neq) of a and b, as libxml2 compares them. */
static bool pv_equal(px_run *r, const pv *a, const pv *b, bool neq)
{
	if (a->t != PV_NODES && b->t == PV_NODES)
		return pv_equal(r, b, a, neq);
	if (a->t == PV_NODES) {
		switch (b->t) {
		case PV_NODES:
			return pv_equal_nodes(r, a, b, neq);
		case PV_BOOL:
			return (a->n > 0) == b->b ? !neq : neq;
		case PV_NUM:
			for (size_t i = 0; i < a->n; i++) {
				xmlChar *made;
				if (!px_spend(r, 1))
					return false;
				double v = xmlXPathCastStringToNumber(
					(const xmlChar *)px_value(r, a->nodes[i], &made));
				xmlFree(made);
				if (r->rc)
					return false;
				if (neq ? v != b->num : v == b->num)
					return true;
			}
			return false;
		default:
			for (size_t i = 0; i < a->n; i++) {
				xmlChar *made;
				if (!px_spend(r, 1))
					return false;
				bool hit = (strcmp(px_value(r, a->nodes[i], &made), b->s) != 0) == neq;
				xmlFree(made);
				if (r->rc)
					return false;
				if (hit)
					return true;
			}
			return false;
		}
	}
	bool eq;
	if (a->t == PV_BOOL || b->t == PV_BOOL)
		eq = pv_bool(a) == pv_bool(b);
	else if (a->t == PV_NUM || b->t == PV_NUM)
		eq = pv_number(r, a) == pv_number(r, b);
	else
		eq = !strcmp(a->s, b->s);
	return eq != neq;
}

/* The length in bytes of the UTF-8 character at s (1 for a stray byte). */
static size_t utf8_len(const unsigned char *s)
{
	size_t n = *s < 0x80 ? 1 : *s >= 0xf0 ? 4 : *s >= 0xe0 ? 3 : *s >= 0xc0 ? 2 : 1;
	for (size_t i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return i;
	return n;
}

/* translate(s, from, to) of XPath 4.2, character by character. */
static const char *px_translate(px_run *r, const char *s, const char *from, const char *to)
{
	size_t len = strlen(s);
	if (!px_made(r, len * 4))
		return "";
	char *o = ds_arena_alloc(r->a, len * 4 + 1), *w = o;
	if (!o) {
		r->rc = DS_ENOMEM;
		return "";
	}
	for (const unsigned char *p = (const unsigned char *)s; *p;) {
		size_t cl = utf8_len(p);
		/* where the character is first in from, by characters */
		size_t pos = 0;
		const unsigned char *f = (const unsigned char *)from;
		bool found = false;
		while (*f) {
			size_t fl = utf8_len(f);
			if (fl == cl && !memcmp(f, p, cl)) {
				found = true;
				break;
			}
			f += fl;
			pos++;
		}
		if (!found) {
			memcpy(w, p, cl);
			w += cl;
		} else {
			const unsigned char *t = (const unsigned char *)to;
			while (*t && pos--)
				t += utf8_len(t);
			if (*t) {
				size_t tl = utf8_len(t);
				memcpy(w, t, tl);
				w += tl;
			}
		}
		p += cl;
	}
	*w = '\0';
	return o;
}

static const char *px_normalize(px_run *r, const char *s)
{
	if (!px_made(r, strlen(s)))
		return "";
	char *o = ds_arena_alloc(r->a, strlen(s) + 1), *w = o;
	if (!o) {
		r->rc = DS_ENOMEM;
		return "";
	}
	bool gap = false;
	for (const char *p = s; *p; p++) {
		if (xml_space(*p)) {
			gap = w != o;
			continue;
		}
		if (gap)
			*w++ = ' ';
		gap = false;
		*w++ = *p;
	}
	*w = '\0';
	return o;
}

/* The argument i of a function, or the context node when there is none. */
static void px_arg(px_run *r, const struct px *x, size_t i, pv *out)
{
	if (i < x->narg) {
		px_eval(r, x->arg[i], out);
	} else {
		*out = (pv){ .t = PV_NODES, .nodes = &r->ctx, .n = 1 };
	}
}

static const char *px_arg_string(px_run *r, const struct px *x, size_t i)
{
	pv v;
	px_arg(r, x, i, &v);
	const char *s = pv_string(r, &v);
	pv_done(&v);
	return s;
}

static double px_arg_number(px_run *r, const struct px *x, size_t i)
{
	pv v;
	px_arg(r, x, i, &v);
	double num = pv_number(r, &v);
	pv_done(&v);
	return num;
}

/* substring(s, start, length?) of XPath 4.2: the characters from the
 * rounded start on, as many as the rounded length, as libxml2 rounds and
 * bounds them. */
static const char *px_substring(px_run *r, const struct px *x)
{
	const char *str = px_arg_string(r, x, 0);
	double in = px_arg_number(r, x, 1), le = x->narg > 2 ? px_arg_number(r, x, 2) : 0;
	int i = 1, j = INT_MAX;
	if (!(in < INT_MAX)) {
		i = INT_MAX;
	} else if (in >= 1.0) {
		i = (int)in;
		if (in - floor(in) >= 0.5)
			i += 1;
	}
	if (x->narg > 2) {
		double rin = floor(in), rle = floor(le);
		if (in - rin >= 0.5)
			rin += 1.0;
		if (le - rle >= 0.5)
			rle += 1.0;
		double end = rin + rle;
		if (!(end >= 1.0))
			j = 1;
		else if (end < INT_MAX)
			j = (int)end;
	}
	const unsigned char *p = (const unsigned char *)str;
	for (int k = 1; *p && k < i; k++)
		p += utf8_len(p);
	const unsigned char *e = p;
	for (long k = i; *e && k < j; k++)
		e += utf8_len(e);
	if (i >= j || p == e)
		return "";
	if (!px_made(r, (size_t)(e - p)))
		return "";
	char *o = ds_arena_strndup(r->a, (const char *)p, (size_t)(e - p));
	if (!o)
		r->rc = DS_ENOMEM;
	return o ? o : "";
}

static void px_fn(px_run *r, const struct px *x, pv *out)
{
	pv v;
	switch (x->fn) {
	case F_NOT:
	case F_BOOLEAN:
		px_arg(r, x, 0, &v);
		pv_set_bool(out, pv_bool(&v) != (x->fn == F_NOT));
		pv_done(&v);
		return;
	case F_TRUE:
	case F_FALSE:
		pv_set_bool(out, x->fn == F_TRUE);
		return;
	case F_STRING:
		pv_set_str(out, px_arg_string(r, x, 0));
		return;
	case F_NUMBER:
		px_arg(r, x, 0, &v);
		*out = (pv){ .t = PV_NUM, .num = pv_number(r, &v) };
		pv_done(&v);
		return;
	case F_CONCAT: {
		const char *part[16];
		size_t len = 0;
		for (size_t i = 0; i < x->narg; i++)
			len += strlen(part[i] = px_arg_string(r, x, i));
		char *o = px_made(r, len) ? ds_arena_alloc(r->a, len + 1) : NULL;
		if (!o) {
			if (!r->rc)
				r->rc = DS_ENOMEM;
			pv_set_str(out, "");
			return;
		}
		o[0] = '\0';
		for (size_t i = 0, at = 0; i < x->narg; i++) {
			size_t n = strlen(part[i]);
			memcpy(o + at, part[i], n + 1);
			at += n;
		}
		pv_set_str(out, o);
		return;
	}
	case F_NORMALIZE:
		pv_set_str(out, px_normalize(r, px_arg_string(r, x, 0)));
		return;
	case F_TRANSLATE: {
		const char *s = px_arg_string(r, x, 0), *from = px_arg_string(r, x, 1);
		pv_set_str(out, px_translate(r, s, from, px_arg_string(r, x, 2)));
		return;
	}
	case F_STRLEN: {
		size_t n = 0;
		for (const unsigned char *p = (const unsigned char *)px_arg_string(r, x, 0); *p;
		     p += utf8_len(p))
			n++;
		*out = (pv){ .t = PV_NUM, .num = (double)n };
		return;
	}
	case F_SUBSTRING:
		pv_set_str(out, px_substring(r, x));
		return;
	case F_STARTS:
	case F_CONTAINS: {
		const char *s = px_arg_string(r, x, 0), *t = px_arg_string(r, x, 1);
		bool b = x->fn == F_STARTS ? !strncmp(s, t, strlen(t)) : strstr(s, t) != NULL;
		pv_set_bool(out, b);
		return;
	}
	}
	pv_set_bool(out, false);
}

static void px_eval(px_run *r, const struct px *x, pv *out)
{
	pv a, b;
	if (r->rc) {
		pv_set_bool(out, false);
		return;
	}
	switch (x->kind) {
	case PX_STR:
		pv_set_str(out, x->str);
		return;
	case PX_NUM:
		*out = (pv){ .t = PV_NUM, .num = x->num };
		return;
	case PX_SELF:
		*out = (pv){ .t = PV_NODES, .nodes = &r->ctx, .n = 1 };
		return;
	case PX_PATH: {
		walk w;
		ds_err err = { 0 };
		*out = (pv){ .t = PV_NODES };
		if (walk_path(&x->path, r->d, r->ctx, true, &w, &err)) {
			r->rc = DS_ENOMEM;
			return;
		}
		out->nodes = w.nodes;
		out->n = w.n;
		out->own = true;
		/* the nodes visited, not only those found: a parent step or an
		 * absolute path walks its siblings again from every head */
		px_spend(r, 1 + w.visited + w.n);
		return;
	}
	case PX_OR:
	case PX_AND:
		px_eval(r, x->arg[0], &a);
		bool first = pv_bool(&a);
		pv_done(&a);
		if (first == (x->kind == PX_OR)) {
			pv_set_bool(out, first);
			return;
		}
		px_eval(r, x->arg[1], &b);
		pv_set_bool(out, pv_bool(&b));
		pv_done(&b);
		return;
	case PX_EQ:
	case PX_NE:
		px_eval(r, x->arg[0], &a);
		px_eval(r, x->arg[1], &b);
		pv_set_bool(out, pv_equal(r, &a, &b, x->kind == PX_NE));
		pv_done(&a);
		pv_done(&b);
		return;
	case PX_ADD:
	case PX_SUB:
	case PX_MUL:
	case PX_DIV: {
		px_eval(r, x->arg[0], &a);
		double l = pv_number(r, &a);
		pv_done(&a);
		px_eval(r, x->arg[1], &b);
		double n = pv_number(r, &b);
		pv_done(&b);
		double v = x->kind == PX_ADD ? l + n : x->kind == PX_SUB ? l - n
			   : x->kind == PX_MUL ? l * n : l / n;
		*out = (pv){ .t = PV_NUM, .num = v };
		return;
	}
	case PX_FN:
		px_fn(r, x, out);
		return;
	}
	pv_set_bool(out, false);
}

/* Whether predicate x holds at r's context node; false with r->rc set
 * when the work bound or memory ran out. */
static bool px_holds(px_run *r, const struct px *x)
{
	pv v;
	px_eval(r, x, &v);
	bool b = pv_bool(&v);
	pv_done(&v);
	return b && !r->rc;
}

/* The error of a stopped evaluation of expression text; 0 when none. */
static int px_error(const px_run *r, const char *text, ds_err *err)
{
	char q[72];
	if (r->rc == DS_ELIMIT)
		return ds_err_set(err, DS_ELIMIT, "XPath \"%s\": more than %lu operations "
				  "(DS_XPATH_OP_LIMIT)", ds_quote(text, q), DS_XPATH_OP_LIMIT);
	if (r->rc)
		return ds_err_set(err, r->rc, "out of memory");
	return DS_OK;
}

static int trimmed(ds_arena *a, const xmlChar *s, const char **out, ds_err *err);

/* ds_xpath_eval_string of an expression xml.c evaluates: its string, as
 * trimmed as libxml2's result would be; NULL when empty or missing. */
static int px_string(const struct px *x, const char *text, ds_xml_doc *d, const ds_xml_node *node,
		     ds_arena *a, const char **out, ds_err *err)
{
	unsigned long budget = DS_XPATH_OP_LIMIT;
	px_run r = { .d = d, .a = d->a, .ctx = node ? (xmlNode *)node : (xmlNode *)d->doc,
		     .budget = &budget };
	pv v;
	px_eval(&r, x, &v);
	const char *str = NULL;
	if (!r.rc && !(v.t == PV_NODES && !v.n) && !(v.t == PV_NUM && isnan(v.num)))
		str = pv_string(&r, &v);
	pv_done(&v);
	int rc = px_error(&r, text, err);
	const char *t = NULL;
	if (!rc && str && !(rc = trimmed(a, (const xmlChar *)str, &t, err)) && t && *t)
		*out = t;
	return rc;
}

/* libxml2's value of variable $ds_pK of a bound expression: the nodes of
 * its path K, in document order. */
static xmlXPathObject *bound_path(void *data, const xmlChar *name, const xmlChar *uri)
{
	binding *b = data;
	const char *n = (const char *)name;
	if (uri || strncmp(n, "ds_p", 4) || !isdigit((unsigned char)n[4]))
		return NULL;
	char *end = NULL;
	unsigned long k = strtoul(n + 4, &end, 10);
	if (*end || k >= b->e->nvars)
		return NULL;
	walk w;
	ds_err err = { 0 };
	xmlXPathObject *o = NULL;
	if (!walk_path(&b->e->vars[k], b->d, NULL, true, &w, &err) &&
	    (o = xmlXPathNewNodeSet(NULL)) && o->nodesetval) {
		for (size_t i = 0; i < w.n; i++)
			if (xmlXPathNodeSetAddUnique(o->nodesetval, w.nodes[i]) < 0) {
				xmlXPathFreeObject(o);
				o = NULL;
				break;
			}
	}
	ds_free(w.nodes);
	if (o && !o->nodesetval) {
		xmlXPathFreeObject(o);
		o = NULL;
	}
	b->nomem |= !o;
	return o;
}

/* The nodes a plain or split path selects from node, in document order
 * (the first only unless w->all), into w. */
static int select_path(const ds_xpath_set *s, const struct xp_expr *e, const char *text,
		       ds_xml_doc *d, const ds_xml_node *node, unsigned long *budget, walk *w,
		       ds_err *err)
{
	if (!e->rest)
		return walk_path(e, d, node, w->all, w, err);
	walk heads;
	ds_arena *scratch = NULL;  /* the strings of one head's predicate */
	int rc = walk_path(e, d, node, true, &heads, err);
	if (!rc && e->pred && heads.n && !(scratch = ds_arena_new(4096)))
		rc = ds_err_set(err, DS_ENOMEM, "out of memory");
	for (size_t k = 0; !rc && e->pred && k < heads.n; k++) {
		px_run r = { .d = d, .a = scratch, .ctx = heads.nodes[k], .budget = budget };
		bool holds = px_holds(&r, e->pred);
		ds_arena_reset(scratch);
		if (!holds) {
			rc = px_error(&r, text, err);
			continue;
		}
		xmlNode *head = heads.nodes[k];
		if (!(e->after ? walk_steps(e->after, 0, head, w) : walk_add(w, head)))
			break;
	}
	if (!rc && e->pred && w->nomem)
		rc = ds_err_set(err, DS_ENOMEM, "out of memory");
	for (size_t k = 0; !rc && !e->pred && k < heads.n; k++) {
		xmlXPathObject *r = NULL;
		if ((rc = eval_comp(s, e->rest, text, NULL, d, heads.nodes[k], budget, &r, err)))
			break;
		bool more = true;
		for (int j = 0; more && r->nodesetval && j < r->nodesetval->nodeNr; j++)
			more = walk_add(w, r->nodesetval->nodeTab[j]);
		xmlXPathFreeObject(r);
		if (w->nomem)
			rc = ds_err_set(err, DS_ENOMEM, "out of memory");
		if (!more)
			break;
	}
	ds_arena_free(scratch);
	ds_free(heads.nodes);
	return rc;
}

/* The first node expression i selects from node, in document order, when
 * it is a plain or split path or a union of them: *fast false otherwise. */
static int first_node(const ds_xpath_set *s, size_t i, ds_xml_doc *d, const ds_xml_node *node,
		      bool *fast, xmlNode **first, ds_err *err)
{
	const struct xp_expr *e = &s->e[i];
	*first = NULL;
	*fast = e->steps || e->nalts;
	if (!*fast)
		return DS_OK;
	const struct xp_expr *parts = e->nalts ? e->alts : e;
	size_t nparts = e->nalts ? e->nalts : 1;
	unsigned long budget = DS_XPATH_OP_LIMIT;
	for (size_t k = 0; k < nparts; k++) {
		walk w = { .d = d };
		int rc = select_path(s, &parts[k], e->text, d, node, &budget, &w, err);
		if (rc)
			return rc;
		if (w.n && (!*first || xmlXPathCmpNodes(w.first, *first) > 0))
			*first = w.first;
	}
	return DS_OK;
}


/* A trimmed copy of s in the arena; *out NULL when s is NULL. */
static int trimmed(ds_arena *a, const xmlChar *s, const char **out, ds_err *err)
{
	*out = NULL;
	if (!s)
		return DS_OK;
	const char *p = (const char *)s;
	while (xml_space(*p))
		p++;
	size_t len = strlen(p);
	while (len && xml_space(p[len - 1]))
		len--;
	char *c = ds_arena_strndup(a, p, len);
	if (!c)
		return ds_err_set(err, DS_ENOMEM, "out of memory");
	*out = c;
	return DS_OK;
}

/* The trimmed string value of a node (an element's text, an attribute's
 * value) in the arena, as XPath's string() gives it. */
static int node_value(xmlNode *node, ds_arena *a, const char **out, ds_err *err)
{
	xmlNode *c = node->children;
	/* Mostly one text node: its content is the value. */
	if (c && !c->next && (c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) &&
	    c->content)
		return trimmed(a, c->content, out, err);
	xmlChar *v = xmlNodeGetContent(node);
	int rc = trimmed(a, v ? v : (const xmlChar *)"", out, err);
	xmlFree(v);
	return rc;
}

/* The string form of a non-node-set result, or of one node; NULL when
 * it is missing (NaN). Free with xmlFree. */
static xmlChar *value_of(const xmlXPathObject *r, xmlNode *node)
{
	if (node)
		return xmlXPathCastNodeToString(node);
	switch (r->type) {
	case XPATH_STRING:
		return xmlStrdup(r->stringval ? r->stringval : (const xmlChar *)"");
	case XPATH_NUMBER:
		return isnan(r->floatval) ? NULL : xmlXPathCastNumberToString(r->floatval);
	case XPATH_BOOLEAN:
		return xmlStrdup((const xmlChar *)(r->boolval ? "true" : "false"));
	default:
		return NULL;
	}
}

static int one_value(const xmlXPathObject *r, xmlNode *node, ds_arena *a, const char **out,
		     ds_err *err)
{
	*out = NULL;
	bool missing = !node && r->type == XPATH_NUMBER && isnan(r->floatval);
	xmlChar *v = missing ? NULL : value_of(r, node);
	if (!missing && !v)
		return ds_err_set(err, DS_ENOMEM, "out of memory (XPath)");
	int rc = trimmed(a, v, out, err);
	xmlFree(v);
	return rc;
}

static bool is_nodes(const xmlXPathObject *r)
{
	return r->type == XPATH_NODESET || r->type == XPATH_XSLT_TREE;
}

static int nodes_of(const xmlXPathObject *r)
{
	return r->nodesetval ? r->nodesetval->nodeNr : 0;
}

int ds_xpath_eval_string(const ds_xpath_set *s, size_t i, ds_xml_doc *d,
			 const ds_xml_node *node, ds_arena *a, const char **out, ds_err *err)
{
	xmlXPathObject *r = NULL;
	*out = NULL;
	if (i < s->n && s->e[i].whole)
		return px_string(s->e[i].whole, s->e[i].text, d, node, a, out, err);
	if (i < s->n) {
		bool fast;
		xmlNode *first;
		const char *v = NULL;
		int rc = first_node(s, i, d, node, &fast, &first, err);
		if (fast) {
			if (!rc && first)
				rc = node_value(first, a, &v, err);
			if (!rc && v && *v)
				*out = v;
			return rc;
		}
	}
	int rc = eval(s, i, d, node, &r, err);
	if (rc)
		return rc;
	const char *v = NULL;
	if (is_nodes(r)) {
		if (nodes_of(r) > 0)
			rc = one_value(r, r->nodesetval->nodeTab[0], a, &v, err);
	} else {
		rc = one_value(r, NULL, a, &v, err);
	}
	xmlXPathFreeObject(r);
	if (!rc && v && *v)
		*out = v;
	return rc;
}

int ds_xpath_eval_strings(const ds_xpath_set *s, size_t i, ds_xml_doc *d,
			  const ds_xml_node *node, ds_arena *a, const char ***out, size_t *n,
			  ds_err *err)
{
	xmlXPathObject *r = NULL;
	*out = NULL;
	*n = 0;
	if (i < s->n && s->e[i].steps) {
		walk w = { .d = d, .all = true };
		const char **v = NULL;
		unsigned long budget = DS_XPATH_OP_LIMIT;
		int rc = select_path(s, &s->e[i], s->e[i].text, d, node, &budget, &w, err);
		if (!rc && w.n && !(v = ds_arena_alloc(a, w.n * sizeof *v)))
			rc = ds_err_set(err, DS_ENOMEM, "out of memory");
		for (size_t k = 0; !rc && k < w.n; k++)
			rc = node_value(w.nodes[k], a, &v[k], err);
		if (!rc && w.n) {
			*out = v;
			*n = w.n;
		}
		ds_free(w.nodes);
		return rc;
	}
	int rc = eval(s, i, d, node, &r, err);
	if (rc)
		return rc;
	size_t count = is_nodes(r) ? (size_t)nodes_of(r) : 1;
	const char **v = NULL;
	if (count) {
		v = ds_arena_alloc(a, count * sizeof *v);
		if (!v) {
			rc = ds_err_set(err, DS_ENOMEM, "out of memory");
			goto done;
		}
	}
	for (size_t k = 0; k < count; k++) {
		rc = one_value(r, is_nodes(r) ? r->nodesetval->nodeTab[k] : NULL, a, &v[k], err);
		if (rc)
			goto done;
	}
	if (!is_nodes(r) && (!v[0] || !*v[0]))
		count = 0; /* a missing single value */
	if (count) {
		*out = v;
		*n = count;
	}
done:
	xmlXPathFreeObject(r);
	return rc;
}

int ds_xpath_eval_nodes(const ds_xpath_set *s, size_t i, ds_xml_doc *d,
			const ds_xml_node *node, ds_arena *a, ds_xml_node ***out, size_t *n,
			ds_err *err)
{
	char q[72];
	xmlXPathObject *r = NULL;
	*out = NULL;
	*n = 0;
	if (i < s->n && s->e[i].steps) {
		walk w = { .d = d, .all = true };
		unsigned long budget = DS_XPATH_OP_LIMIT;
		int rc = select_path(s, &s->e[i], s->e[i].text, d, node, &budget, &w, err);
		ds_xml_node **v = NULL;
		if (!rc && w.n && !(v = ds_arena_alloc(a, w.n * sizeof *v)))
			rc = ds_err_set(err, DS_ENOMEM, "out of memory");
		if (!rc && w.n) {
			memcpy(v, w.nodes, w.n * sizeof *v);
			*out = v;
			*n = w.n;
		}
		ds_free(w.nodes);
		return rc;
	}
	int rc = eval(s, i, d, node, &r, err);
	if (rc)
		return rc;
	if (!is_nodes(r)) {
		rc = ds_err_set(err, DS_EINVAL, "XPath \"%s\" selects a value, not nodes",
				ds_quote(s->e[i].text, q));
		goto done;
	}
	size_t count = (size_t)nodes_of(r);
	if (count) {
		ds_xml_node **v = ds_arena_alloc(a, count * sizeof *v);
		if (!v) {
			rc = ds_err_set(err, DS_ENOMEM, "out of memory");
			goto done;
		}
		memcpy(v, r->nodesetval->nodeTab, count * sizeof *v);
		*out = v;
		*n = count;
	}
done:
	xmlXPathFreeObject(r);
	return rc;
}
