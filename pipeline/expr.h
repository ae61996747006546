/*
 * expr.h - the small expression language of guards, segment filters and
 * mapping conditions (SPEC section 5).
 *
 *   discount_pct > 20
 *   days_since(traits.last_order_at) > 90 and consent.email_marketing = true
 *   subject matches "^R[ée]clamation" or "vip" in profile.tags
 *
 * An expression only reads fields and compares values: it never executes
 * anything else, never allocates without bound and never reads the clock
 * (now() is the time the caller puts in the environment). Parsing checks
 * everything that can be checked without data, so evaluation fails only on
 * data of the wrong type for 'and', 'or' and 'not', on a JSON number that
 * does not fit an exact decimal, or on a regex that exceeds its match limit.
 *
 * Grammar, loosest binding first:
 *
 *   expr     := and ('or' and)*
 *   and      := not ('and' not)*
 *   not      := 'not' not | test
 *   test     := operand [ cmpop operand | 'in' (list | path)
 *                       | 'contains' operand | 'matches' STRING ]
 *   cmpop    := '=' | '==' | '!=' | '<' | '<=' | '>' | '>='
 *   operand  := literal | list | path | func '(' [path] ')' | '(' expr ')'
 *   literal  := NUMBER | DURATION | STRING | 'true' | 'false' | 'null'
 *   list     := '[' [literal (',' literal)*] ']'
 *   path     := IDENT ('.' (IDENT | DIGITS))*
 *   func     := 'exists' | 'now' | 'days_since'
 *
 * NUMBER is -?[0-9]+(\.[0-9]+)?, an exact ds_dec (at most 18 digits).
 * DURATION is [0-9]+ followed at once by m, h, d or bd ("5bd"). STRING is
 * in double or single quotes; \\ \" \' \n \r \t and \uXXXX are escapes,
 * any other backslash is kept with the character after it, so regex
 * patterns read naturally ('^\d+$'). Keywords are lowercase and reserved
 * as a lone identifier; a dotted path may use any identifier after a dot.
 * Comparisons do not chain: write 'a < b and b < c'.
 *
 * Values and comparisons:
 * - A missing field, and a JSON null, is null. null = null is the only
 *   true comparison involving null; ordering comparisons with null are
 *   false; != is always the negation of =.
 * - Numbers compare as exact decimals (20.00 = 20). A string compared with
 *   a number, a duration or a time is read as one ("0.30" = 0.3, "5d" =
 *   5d, "2026-01-01" < now()); when it does not parse, the values are of
 *   different types.
 * - Values of different types are never equal and never ordered: such
 *   comparisons are false (and != is true), not errors.
 * - Strings compare bytewise. Durations compare by length (a business day
 *   counts as a day); a number compared with a duration counts days, so
 *   days_since(x) > 5d means more than 5 days.
 * - Lists compare item by item; JSON objects compare structurally.
 * - 'x in L' is true when an item of L equals x (L: a list literal or a
 *   field holding a JSON array). 'a contains b' is a substring test when
 *   both are strings, membership when a is a list, otherwise false.
 * - 'matches' is a PCRE2 search (UTF-8 aware, \w matches accented
 *   letters) on a string, otherwise false; the pattern is compiled once at
 *   parse time.
 * - exists(p) is true when p is present and not JSON null.
 *   days_since(p) is the number of whole days (truncated toward zero)
 *   from the ISO 8601 date or date-time at p to now, negative when p is in
 *   the future; null when p is missing or does not parse. now() is the
 *   environment's time.
 * - 'and', 'or', 'not' and the final result treat null as false; any
 *   other non-boolean is an evaluation error (DS_EINVAL). 'and' and 'or'
 *   stop at the first operand that decides the result.
 *
 * Limits: source at most DS_EXPR_MAX_SOURCE bytes, parentheses and 'not'
 * nested at most DS_EXPR_MAX_DEPTH deep, lists at most DS_EXPR_MAX_LIST
 * items; exceeding one is DS_ELIMIT. The source must be valid UTF-8.
 *
 * Threads: a parsed ds_expr is immutable; any number of threads may
 * evaluate it at once, each with its own environment and error object.
 */
#ifndef DS_EXPR_H
#define DS_EXPR_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "caltime.h"
#include "decimal.h"
#include "err.h"
#include "mem.h"

#define DS_EXPR_MAX_SOURCE 4096
#define DS_EXPR_MAX_DEPTH 64
#define DS_EXPR_MAX_LIST 1024

typedef struct ds_expr ds_expr;
/* A node of its syntax tree (below). */
typedef struct ds_expr_node ds_expr_node;

/* Parses src (NUL-terminated). On success *out owns a new expression, to be
 * released with ds_expr_free(). Errors: DS_EINVAL for a syntax error or a
 * bad regex, with "column N: expected ..." in err (1-based, counted in
 * characters; "line L, column N" when the source spans several lines);
 * DS_ELIMIT when a limit above is exceeded; DS_ENOMEM. *out is NULL on
 * error. */
int ds_expr_parse(const char *src, ds_expr **out, ds_err *err);

/* Releases e and everything it owns; accepts NULL. */
void ds_expr_free(ds_expr *e);

/* The source text e was parsed from; owned by e. */
const char *ds_expr_source(const ds_expr *e);

/*
 * How evaluation reads fields: returns the cJSON node at the path given as
 * nsegs segments (an array index is a segment of digits, "0"), or NULL when
 * it is missing. The resolver decides what the roots mean ("data",
 * "profile", or a bare field meaning data.<field>). The node must stay
 * valid and unchanged for the whole evaluation; evaluation only reads it.
 */
typedef const cJSON *(*ds_expr_resolve_fn)(void *ud, const char *const *segs,
					   size_t nsegs);

typedef struct ds_expr_env {
	ds_expr_resolve_fn resolve;  /* NULL: every field is missing */
	void *ud;                    /* passed to resolve */
	ds_time now;                 /* what now() and days_since() use */
} ds_expr_env;

/* Evaluates e against env and stores the result in *out (null counts as
 * false). Returns 0, or DS_EINVAL when a value of the wrong type meets
 * 'and', 'or', 'not' or ends up as the result, or a data number does not
 * fit an exact decimal; DS_ELIMIT when a regex match exceeds its limits;
 * DS_ENOMEM. *out is false on error. Thread-safe for a shared e. */
int ds_expr_eval_bool(const ds_expr *e, const ds_expr_env *env, bool *out,
		      ds_err *err);

/* ds_expr_eval_bool() of the subtree n of e (a node from ds_expr_root(e)
 * or below it): what that part of the expression gives on its own, e.g.
 * one operand of an 'and'. Same errors and thread-safety. */
int ds_expr_eval_node(const ds_expr *e, const ds_expr_node *n,
		      const ds_expr_env *env, bool *out, ds_err *err);

/* Calls fn once per field path occurring in e (in source order, repeats
 * included), e.g. for `dossier check` to verify that guards name real
 * fields. The segments are owned by e. */
void ds_expr_foreach_path(const ds_expr *e,
			  void (*fn)(void *ud, const char *const *segs,
				     size_t nsegs),
			  void *ud);

/* ds_expr_foreach_path() over the subtree n of a parsed expression. */
void ds_expr_node_foreach_path(const ds_expr_node *n,
			       void (*fn)(void *ud, const char *const *segs,
					  size_t nsegs),
			       void *ud);

/* Walks a JSON tree along segs: objects by key (case-sensitive, first
 * duplicate wins), arrays by a segment of digits. Returns the node (owned
 * by root) or NULL when missing. A ready-made piece for resolvers. */
const cJSON *ds_expr_json_path(const cJSON *root, const char *const *segs,
			       size_t nsegs);

/* Appends the canonical text of e to out: every operation parenthesised,
 * strings in double quotes, numbers and durations normalised. It parses
 * back to the same tree. Returns 0 or the ds_buf error (DS_ELIMIT,
 * DS_ENOMEM). */
int ds_expr_format(const ds_expr *e, ds_buf *out);

/*
 * The syntax tree, read-only, for compilers of the language (segment
 * filters become SQL with bound parameters from these nodes). Nodes are
 * owned by the ds_expr and live as long as it does.
 */
typedef enum ds_expr_kind {
	DS_EXPR_NULL,        /* null */
	DS_EXPR_BOOL,        /* v.boolean */
	DS_EXPR_NUMBER,      /* v.number */
	DS_EXPR_STRING,      /* v.string: escapes undone, UTF-8, no NUL */
	DS_EXPR_DURATION,    /* v.duration */
	DS_EXPR_LIST,        /* kids: literals (never lists), 0..MAX_LIST */
	DS_EXPR_PATH,        /* v.path */
	DS_EXPR_NOT,         /* kids[0] */
	DS_EXPR_AND,         /* kids[0..nkids-1], nkids >= 2 */
	DS_EXPR_OR,          /* kids[0..nkids-1], nkids >= 2 */
	DS_EXPR_CMP,         /* kids[0] op kids[1] */
	DS_EXPR_IN,          /* kids[0] in kids[1]; kids[1] is LIST or PATH */
	DS_EXPR_CONTAINS,    /* kids[0] contains kids[1] */
	DS_EXPR_MATCHES,     /* kids[0] matches kids[1]; kids[1] is STRING */
	DS_EXPR_EXISTS,      /* exists(kids[0]); kids[0] is PATH */
	DS_EXPR_NOW,         /* now(); no kids */
	DS_EXPR_DAYS_SINCE,  /* days_since(kids[0]); kids[0] is PATH */
} ds_expr_kind;

typedef enum ds_expr_op {
	DS_EXPR_EQ, DS_EXPR_NE, DS_EXPR_LT, DS_EXPR_LE, DS_EXPR_GT, DS_EXPR_GE,
} ds_expr_op;

struct ds_expr_node {
	ds_expr_kind kind;
	ds_expr_op op;                    /* DS_EXPR_CMP only */
	unsigned line, column;            /* 1-based, where the node starts */
	size_t nkids;
	const ds_expr_node *const *kids;
	union {
		bool boolean;
		ds_dec number;
		struct {
			const char *s;    /* NUL-terminated */
			size_t len;
		} string;
		ds_duration duration;
		struct {
			const char *const *segs;
			size_t nsegs;     /* >= 1 */
		} path;
	} v;
};

/* The root node of e; never NULL for a parsed expression. */
const ds_expr_node *ds_expr_root(const ds_expr *e);

/* Printable names: "=", "<=", ... and "and", "days_since", ... */
const char *ds_expr_op_name(ds_expr_op op);
const char *ds_expr_kind_name(ds_expr_kind kind);

#endif
