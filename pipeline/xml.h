/*
 * xml.h - untrusted XML documents, parsed safely, and XPath picks over them.
 *
 * Parsing. A ds_xml is a parser used by one thread at a time: it keeps a
 * libxml2 parser context and reuses it from document to document (about
 * 30 % faster than a new context each time), except in a memory zone (see
 * ds_xml_zone), where each document gets a context of its own. The
 * guarantees, for any input bytes:
 *   - nothing is fetched: network access is off (XML_PARSE_NONET), no
 *     external DTD subset is loaded, entities are never substituted
 *     (no XML_PARSE_NOENT, DTDLOAD, DTDATTR, XINCLUDE, HUGE);
 *   - a DOCTYPE that declares any entity (general, parameter or unparsed)
 *     or that refers to an external DTD (PUBLIC or SYSTEM id) is refused
 *     with DS_EINVAL as soon as the parser meets it, so an entity bomb or
 *     an external entity costs a few microseconds and expands nothing; a
 *     plain DOCTYPE with only element or attribute declarations is
 *     accepted (and ignored);
 *   - the input size is bounded (checked before parsing) and so is element
 *     nesting (checked as each element starts): DS_ELIMIT, naming the limit;
 *   - a document that is not well-formed XML is DS_EINVAL with libxml2's
 *     first error and its line;
 *   - nothing is printed: libxml2's messages go into the ds_err.
 * libxml2's internal limits for documents that are not "huge" stay on
 * (10 MB text nodes, 50,000-byte names, 256 levels).
 *
 * XPath picks. A ds_xpath_set holds the XPath 1.0 expressions of one source
 * compiled once, with the namespace prefixes the source declares. It is
 * immutable once built and may be evaluated from several threads at once
 * (each against its own document). XPath 1.0 has no default namespace: an
 * element in a namespace needs a declared prefix (for a UBL order,
 * "/ord:Order/cbc:ID" with ord and cbc declared).
 *
 * What a pick yields (ds_xpath_eval_string):
 *   - a node set: the string value of its first node in document order
 *     (text content of an element and all its descendants, value of an
 *     attribute), XML white space (space, tab, CR, LF) trimmed at both
 *     ends, inner spaces kept; an empty node set, or an empty string after
 *     trimming, is missing (NULL);
 *   - a string (string(), concat()...): the same trimming and emptiness;
 *   - a number: its XPath string form ("15", "1.5"); NaN is missing;
 *   - a boolean: "true" or "false".
 * ds_xpath_eval_strings gives every node's trimmed value (empty ones kept
 * as "", so positions line up); ds_xpath_eval_nodes gives the nodes.
 *
 * Arrays of objects (order lines). A pick that selects nodes, evaluated
 * with ds_xpath_eval_nodes, gives one context node per array element; the
 * sub-picks are ordinary expressions of the same set, evaluated relative
 * to each node (the node argument of the eval functions). A mapping reads:
 *
 *   "/lines": {"xpath": "/ord:Order/cac:OrderLine",
 *              "each": {"/id":       {"xpath": "cac:LineItem/cbc:ID"},
 *                       "/quantity": {"xpath": "cac:LineItem/cbc:Quantity"},
 *                       "/unit":     {"xpath": "cac:LineItem/cbc:Quantity/@unitCode"}}}
 *
 * and produces [{"id": "1", "quantity": "120", "unit": "LTR"}, ...]: for
 * each node, each sub-pick through ds_xpath_eval_string(set, i, doc, node).
 * An expression starting with "/" ignores the context node.
 */
#ifndef DS_XML_H
#define DS_XML_H

#include <stddef.h>

#include "err.h"
#include "mem.h"

/* Default limits, used for each ds_xml_opts field left at 0. */
#define DS_XML_MAX_SIZE (16u << 20)  /* bytes */
#define DS_XML_MAX_DEPTH 100u        /* element nesting, root = 1 */
/* Work bound of one XPath evaluation (libxml2 operations). */
#define DS_XPATH_OP_LIMIT 10000000ul

typedef struct ds_xml_opts {
	size_t max_size;     /* at most INT_MAX */
	unsigned max_depth;  /* at most 256 (libxml2's own bound) */
} ds_xml_opts;

typedef struct ds_xml ds_xml;
typedef struct ds_xml_doc ds_xml_doc;
typedef struct _xmlNode ds_xml_node;  /* libxml2's xmlNode */
typedef struct _xmlDoc ds_xml_tree;   /* libxml2's xmlDoc */

/* Sets up libxml2 once per process (ds_xml_new does it); for code that
 * calls libxml2 itself, such as the HTML reading of emails. */
void ds_xml_init(void);

/* Memory zones. After ds_xml_zone(a), what libxml2 allocates on the
 * calling thread comes from the arena a (up to 64 MB, then the heap), and
 * freeing it is free: the arena's reset or free takes it all back. Every
 * document parsed in a zone gets a parser context of its own, in the zone
 * too, so nothing long-lived points into it. ds_xml_zone(NULL) ends the
 * zone. While a is in use as a zone and until the documents, XPath
 * results and strings libxml2 made in it are no longer needed, it must not
 * be reset; they may be freed (xmlFree, xmlFreeDoc...) from any thread,
 * before the reset. A reader thread parsing document after document spends
 * a third less time this way than with malloc and free. */
void ds_xml_zone(ds_arena *a);

/* A parser for the calling thread; opts may be NULL (defaults). Free with
 * ds_xml_free. Returns 0, DS_ECONFIG (a limit out of range) or DS_ENOMEM;
 * *out is NULL on failure. */
int ds_xml_new(ds_xml **out, const ds_xml_opts *opts, ds_err *err);
/* Frees the parser; documents it parsed stay valid. Accepts NULL. */
void ds_xml_free(ds_xml *x);

/* Parses len bytes of buf (need not be NUL-terminated) into a document
 * owned by the arena a: it is freed by ds_arena_reset/free, along with any
 * XPath state made for it. Returns 0; DS_ELIMIT (size or depth); DS_EINVAL
 * (not well-formed, or a refused DOCTYPE); DS_ENOMEM. *out is NULL on
 * failure. */
int ds_xml_parse(ds_xml *x, const char *buf, size_t len, ds_arena *a, ds_xml_doc **out,
		 ds_err *err);

/* The libxml2 tree, for readers such as inspect; owned by the document. */
ds_xml_tree *ds_xml_doc_tree(const ds_xml_doc *d);
/* The root element, or NULL. */
ds_xml_node *ds_xml_doc_root(const ds_xml_doc *d);
/* The root element for a message: "Invoice" in namespace "urn:...", quoted
 * and cut as ds_quote does; at most n bytes with the NUL. */
void ds_xml_root_name(const ds_xml_doc *d, char *buf, size_t n);

typedef struct ds_xml_ns {
	const char *prefix;  /* an NCName, not "xml" or "xmlns" */
	const char *uri;     /* not empty */
} ds_xml_ns;

typedef struct ds_xpath_set ds_xpath_set;

/* An empty set with the namespace table ns[0..nns) (copied). Returns 0,
 * DS_ECONFIG (a bad or repeated prefix, an empty URI; err names it) or
 * DS_ENOMEM; *out is NULL on failure. */
int ds_xpath_set_new(ds_xpath_set **out, const ds_xml_ns *ns, size_t nns, ds_err *err);
/* Compiles expr (copied) into the set; its index goes to *index (may be
 * NULL), indices counting from 0 in order of addition. Returns 0,
 * DS_ECONFIG (syntax error, or a prefix the set does not declare; err
 * quotes the expression) or DS_ENOMEM; the set is unchanged on failure. */
int ds_xpath_set_add(ds_xpath_set *s, const char *expr, size_t *index, ds_err *err);
size_t ds_xpath_set_count(const ds_xpath_set *s);
/* The source text of expression i (owned by the set). */
/* How expression i is evaluated: "plain" (walked), "split" (a plain
 * beginning walked, the rest by libxml2), "split-native" (a plain
 * beginning walked, its predicate evaluated by xml.c, then plain steps
 * walked), "union" (of plain or split parts), "native" (functions and
 * comparisons evaluated by xml.c), "bound" (functions by libxml2 over
 * absolute plain paths walked), "libxml2" (whole); NULL when there is no
 * expression i. */
const char *ds_xpath_set_how(const ds_xpath_set *s, size_t i);
const char *ds_xpath_set_expr(const ds_xpath_set *s, size_t i);
/* Frees the set; accepts NULL. */
void ds_xpath_set_free(ds_xpath_set *s);

/* The evaluation functions below evaluate expression i of s against d,
 * relative to node (NULL: the document node), and put their results in
 * the arena a (usually d's arena). A missing result is *out = NULL (and
 * *n = 0), with return value 0. They return 0, DS_EINVAL (a runtime XPath
 * error; err quotes the expression), DS_ELIMIT (more than DS_XPATH_OP_LIMIT
 * operations) or DS_ENOMEM. A document is used by one thread at a time. */

/* One string, as described at the top of this file. */
int ds_xpath_eval_string(const ds_xpath_set *s, size_t i, ds_xml_doc *d,
			 const ds_xml_node *node, ds_arena *a, const char **out, ds_err *err);
/* Every selected node's trimmed string value, in document order; a
 * non-node result gives one string as ds_xpath_eval_string does. */
int ds_xpath_eval_strings(const ds_xpath_set *s, size_t i, ds_xml_doc *d,
			  const ds_xml_node *node, ds_arena *a, const char ***out, size_t *n,
			  ds_err *err);
/* The selected nodes, in document order (the array in a, the nodes owned
 * by d). A result that is not a node set is DS_EINVAL. */
int ds_xpath_eval_nodes(const ds_xpath_set *s, size_t i, ds_xml_doc *d,
			const ds_xml_node *node, ds_arena *a, ds_xml_node ***out, size_t *n,
			ds_err *err);

#endif
