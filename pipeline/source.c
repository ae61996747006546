/*
 * source.c - source files, mapping rules and normalizers; see source.h.
 */
#include "source.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include "normalize.h"

/* ---- loading ---- */

static void free_fields(ds_field_map *fields, size_t n)
{
	for (size_t f = 0; f < n; f++) {
		ds_field_map *fm = &fields[f];
		ds_free(fm->target);
		ds_free(fm->pick);
		ds_free(fm->prefix);
		for (size_t k = 0; k < fm->nnorms; k++)
			ds_free(fm->norm_names[k]);
		ds_free(fm->norm_names);
		ds_free(fm->norms);
		cJSON_Delete(fm->deflt);
		free_fields(fm->each, fm->neach);
		pcre2_code_free(fm->re);
		ds_free(fm->re_in);
	}
	ds_free(fields);
}

void ds_source_free(ds_source *s)
{
	if (!s)
		return;
	for (size_t r = 0; r < s->nrules; r++) {
		ds_map_rule *rule = &s->rules[r];
		ds_free(rule->record);
		ds_expr_free(rule->when);
		ds_free(rule->copy);
		free_fields(rule->fields, rule->nfields);
	}
	ds_free(s->rules);
	ds_xpath_set_free(s->xpaths);
	ds_free(s->file);
	ds_free(s->secret_env);
	ds_free(s->name);
	ds_free(s->channel);
	ds_free(s->role);
	ds_free(s);
}

static bool valid_pointer(const char *p)
{
	return !*p || *p == '/';
}

static bool valid_field(const char *p)
{
	return *p && strlen(p) <= 1024;
}

static bool valid_fact(const char *p)
{
	return !strcmp(p, "sha256");
}

/* The kinds of pick: one interface, one member name per kind, each for
 * the channels whose parsed input it can read. */
static const struct pick_kind {
	const char *member;
	ds_pick_kind kind;
	const char *channels;
	bool (*valid)(const char *);
	const char *expected;
} pick_kinds[] = {
	{ "pick", DS_PICK_POINTER, "json form email", valid_pointer,
	  "\"pick\" must be a JSON Pointer such as \"/customer/email\"" },
	{ "field", DS_PICK_FIELD, "form", valid_field,
	  "\"field\" must name a form field" },
	{ "xpath", DS_PICK_XPATH, "xml", valid_field,
	  "\"xpath\" must be an XPath expression" },
	{ "regex", DS_PICK_REGEX, "json form email", valid_field,
	  "\"regex\" must be a pattern with a named group" },
	{ "interaction", DS_PICK_INTERACTION, "json form email xml", valid_fact,
	  "\"interaction\" must be \"sha256\", the SHA-256 of the interaction's raw bytes" },
};

static const struct pick_kind *pick_kind_of(const char *member)
{
	for (size_t i = 0; i < sizeof pick_kinds / sizeof *pick_kinds; i++)
		if (!strcmp(pick_kinds[i].member, member))
			return &pick_kinds[i];
	return NULL;
}

static void load_field(ds_source *s, ds_field_map *fm, const cJSON *j, const char *path,
		       ds_diag *diag, int depth);

/* A regex pick: the pattern compiled once (UTF), the text it reads ("in",
 * a JSON Pointer) and the named group it gives ("group"; the pattern's
 * only named group when left out). */
static void load_regex(ds_source *s, ds_field_map *fm, const cJSON *j, const char *path,
		       ds_diag *diag)
{
	char sub[700];
	int code;
	PCRE2_SIZE off;
	const char *in = ds_json_str(j, "in");
	const char *group = ds_json_str(j, "group");
	snprintf(sub, sizeof sub, "%s/in", path);
	if (!in || (*in && *in != '/')) {
		ds_diag_error(diag, s->file, sub, "\"in\" must be the JSON Pointer of the text to search");
		return;
	}
	fm->re_in = ds_strdup(in);
	snprintf(sub, sizeof sub, "%s/regex", path);
	pcre2_code *re = pcre2_compile((PCRE2_SPTR)fm->pick, PCRE2_ZERO_TERMINATED,
				       PCRE2_UTF | PCRE2_UCP, &code, &off, NULL);
	if (!re) {
		PCRE2_UCHAR msg[200];
		pcre2_get_error_message(code, msg, sizeof msg);
		ds_diag_error(diag, s->file, sub, "at offset %zu: %s", (size_t)off, (char *)msg);
		return;
	}
	fm->re = re;
	uint32_t names = 0;
	pcre2_pattern_info(re, PCRE2_INFO_NAMECOUNT, &names);
	int n = -1;
	if (group) {
		n = pcre2_substring_number_from_name(re, (PCRE2_SPTR)group);
	} else if (names == 1) {
		PCRE2_SPTR table;
		pcre2_pattern_info(re, PCRE2_INFO_NAMETABLE, &table);
		n = (table[0] << 8) | table[1];
	}
	if (n <= 0) {
		ds_diag_error(diag, s->file, sub, group ? "the pattern has no group named \"%s\""
						      : "name the group to take with \"group\"%s",
			      group ? group : "");
		return;
	}
	fm->re_group = (unsigned)n;
}

/* The fields of an "each": one array item's fields, picked relative to
 * its node. */
static void load_each(ds_source *s, ds_field_map *fm, const cJSON *each, const char *path,
		      ds_diag *diag, int depth)
{
	if (!cJSON_IsObject(each) || depth > 4) {
		ds_diag_error(diag, s->file, path, "\"each\" maps target pointers to XPath picks%s",
			      depth > 4 ? " (nested at most 4 deep)" : "");
		return;
	}
	size_t n = (size_t)cJSON_GetArraySize(each);
	fm->each = ds_calloc(n ? n : 1, sizeof *fm->each);
	if (!fm->each)
		return;
	const cJSON *it;
	cJSON_ArrayForEach(it, each) {
		char sub[700];
		snprintf(sub, sizeof sub, "%s/", path);
		ds_json_pointer_escape(it->string, sub + strlen(sub), sizeof sub - strlen(sub));
		ds_field_map *e = &fm->each[fm->neach++];
		/* "" is the item itself: an array of values, not of objects. */
		if (!*it->string && n != 1)
			ds_diag_error(diag, s->file, sub,
				      "the target \"\" (the item itself) is the only field of its \"each\"");
		else if (*it->string && it->string[0] != '/')
			ds_diag_error(diag, s->file, sub, "a target must be a JSON Pointer such as \"/quantity\"");
		e->target = ds_strdup(it->string);
		load_field(s, e, it, sub, diag, depth + 1);
	}
}

/* "digits" of an interaction pick (8 to 64 hex digits of the hash; all of
 * them without it) and "prefix", text put before a text value. */
static void load_text_options(ds_source *s, ds_field_map *fm, const cJSON *j, const char *path,
			      ds_diag *diag)
{
	char sub[700];
	const cJSON *digits = cJSON_GetObjectItemCaseSensitive(j, "digits");
	fm->digits = 64;
	snprintf(sub, sizeof sub, "%s/digits", path);
	if (digits && fm->kind != DS_PICK_INTERACTION)
		ds_diag_error(diag, s->file, sub, "\"digits\" goes with an \"interaction\" pick");
	else if (digits && (!cJSON_IsNumber(digits) || digits->valuedouble < 8 ||
			    digits->valuedouble > 64 ||
			    digits->valuedouble != (double)(int)digits->valuedouble))
		ds_diag_error(diag, s->file, sub,
			      "\"digits\" is a whole number from 8 to 64 (hex digits of the SHA-256)");
	else if (digits)
		fm->digits = (unsigned)digits->valueint;
	const cJSON *prefix = cJSON_GetObjectItemCaseSensitive(j, "prefix");
	if (!prefix)
		return;
	snprintf(sub, sizeof sub, "%s/prefix", path);
	bool plain = cJSON_IsString(prefix) && *prefix->valuestring &&
		     strlen(prefix->valuestring) <= 64;
	for (const char *c = plain ? prefix->valuestring : ""; *c; c++)
		plain = plain && (unsigned char)*c >= 0x20 && *c != 0x7f;
	if (!plain)
		ds_diag_error(diag, s->file, sub, "\"prefix\" is text of 1 to 64 characters, "
			      "no control characters");
	else if (fm->result != DS_NORM_STRING)
		ds_diag_error(diag, s->file, sub, "\"prefix\" goes before text; normalizer \"%s\" "
			      "makes the value a %s", fm->norm_names[fm->nnorms - 1],
			      fm->result == DS_NORM_BOOLEAN ? "boolean" : "number");
	else if (fm->each)
		ds_diag_error(diag, s->file, sub, "\"prefix\" goes with a pick of text, not an \"each\"");
	else
		fm->prefix = ds_strdup(prefix->valuestring);
}

static void load_field(ds_source *s, ds_field_map *fm, const cJSON *j, const char *path,
		       ds_diag *diag, int depth)
{
	char sub[600];
	if (!cJSON_IsObject(j)) {
		ds_diag_error(diag, s->file, path, "a field mapping must be an object");
		return;
	}
	const cJSON *it;
	const struct pick_kind *kind = NULL;
	cJSON_ArrayForEach(it, j) {
		const struct pick_kind *k = pick_kind_of(it->string);
		if (k) {
			if (kind)
				ds_diag_error(diag, s->file, path, "a field has one pick, not \"%s\" and \"%s\"",
					      kind->member, k->member);
			kind = k;
			continue;
		}
		if (strcmp(it->string, "normalize") && strcmp(it->string, "default") &&
		    strcmp(it->string, "each") && strcmp(it->string, "in") &&
		    strcmp(it->string, "group") && strcmp(it->string, "list") &&
		    strcmp(it->string, "digits") && strcmp(it->string, "prefix"))
			ds_diag_error(diag, s->file, path, "unknown member \"%s\"", it->string);
	}
	if (!kind) {
		/* Without a pick, a field is its default: a constant. */
		const cJSON *def = cJSON_GetObjectItemCaseSensitive(j, "default");
		if (!def)
			ds_diag_error(diag, s->file, path,
				      "a field needs a pick (\"pick\", a JSON Pointer; \"field\" for forms; "
				      "\"xpath\" for XML) or a constant \"default\"");
		else if (!(fm->deflt = cJSON_Duplicate(def, true)))
			ds_diag_error(diag, s->file, path, "out of memory");
		if (cJSON_GetObjectItemCaseSensitive(j, "prefix") ||
		    cJSON_GetObjectItemCaseSensitive(j, "digits"))
			ds_diag_error(diag, s->file, path, "\"prefix\" and \"digits\" go with a pick; "
				      "a default is written as it is");
		return;
	}
	const cJSON *pick = cJSON_GetObjectItemCaseSensitive(j, kind->member);
	snprintf(sub, sizeof sub, "%s/%s", path, kind->member);
	if (!strstr(kind->channels, s->channel))
		ds_diag_error(diag, s->file, sub, "\"%s\" picks do not apply to channel \"%s\"",
			      kind->member, s->channel);
	else if (!cJSON_IsString(pick) || !kind->valid(pick->valuestring))
		ds_diag_error(diag, s->file, sub, "%s", kind->expected);
	else
		fm->pick = ds_strdup(pick->valuestring);
	fm->kind = kind->kind;
	if (fm->pick && fm->kind == DS_PICK_XPATH) {
		ds_err e = {0};
		if (!s->xpaths || ds_xpath_set_add(s->xpaths, fm->pick, &fm->xpath, &e))
			ds_diag_error(diag, s->file, sub, "%s", s->xpaths ? e.msg : "no XPath set");
	}
	if (fm->pick && fm->kind == DS_PICK_REGEX)
		load_regex(s, fm, j, path, diag);
	const cJSON *each = cJSON_GetObjectItemCaseSensitive(j, "each");
	if (each) {
		char ep[700];
		snprintf(ep, sizeof ep, "%s/each", path);
		if (fm->kind != DS_PICK_XPATH)
			ds_diag_error(diag, s->file, ep, "\"each\" goes with an \"xpath\" pick");
		else
			load_each(s, fm, each, ep, diag, depth);
	}
	const cJSON *norm = cJSON_GetObjectItemCaseSensitive(j, "normalize");
	if (norm) {
		snprintf(sub, sizeof sub, "%s/normalize", path);
		if (!cJSON_IsArray(norm)) {
			ds_diag_error(diag, s->file, sub, "\"normalize\" must be an array of names");
		} else {
			size_t n = (size_t)cJSON_GetArraySize(norm);
			fm->norms = ds_calloc(n ? n : 1, sizeof *fm->norms);
			fm->norm_names = ds_calloc(n ? n : 1, sizeof *fm->norm_names);
			size_t i = 0;
			cJSON_ArrayForEach(it, norm) {
				char ip[700];
				snprintf(ip, sizeof ip, "%s/%zu", sub, i++);
				ds_normalizer_fn fn = cJSON_IsString(it) ? ds_normalizer(it->valuestring) : NULL;
				if (!fn) {
					ds_diag_error(diag, s->file, ip, "unknown normalizer %s%s%s",
						      cJSON_IsString(it) ? "\"" : "",
						      cJSON_IsString(it) ? it->valuestring : "(not a string)",
						      cJSON_IsString(it) ? "\"" : "");
					continue;
				}
				if (!fm->norms || !fm->norm_names)
					continue;
				fm->norm_names[fm->nnorms] = ds_strdup(it->valuestring);
				fm->norms[fm->nnorms++] = fn;
				fm->result = ds_normalizer_kind(it->valuestring);
			}
		}
	}
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(j, "list");
	if (list) {
		snprintf(sub, sizeof sub, "%s/list", path);
		if (!cJSON_IsBool(list))
			ds_diag_error(diag, s->file, sub, "\"list\" is true or false");
		else if (fm->kind != DS_PICK_FIELD)
			ds_diag_error(diag, s->file, sub, "\"list\" goes with a \"field\" pick");
		fm->list = cJSON_IsTrue(list);
	}
	load_text_options(s, fm, j, path, diag);
	const cJSON *def = cJSON_GetObjectItemCaseSensitive(j, "default");
	if (def)
		fm->deflt = cJSON_Duplicate(def, true);
}

int ds_source_load(const char *path, ds_diag *diag, ds_source **out, ds_err *err)
{
	*out = NULL;
	ds_diag local;
	if (!diag) {
		ds_diag_init(&local);
		diag = &local;
	}
	size_t before = diag->errors;
	cJSON *doc = ds_json_load_file(path, diag);
	ds_source *s = ds_calloc(1, sizeof *s);
	int rc = DS_OK;
	if (!s || !(s->file = ds_strdup(path))) {
		rc = ds_err_set(err, DS_ENOMEM, "out of memory");
		goto done;
	}
	if (!doc)
		goto done;
	if (!cJSON_IsObject(doc)) {
		ds_diag_error(diag, path, "", "a source must be a JSON object");
		goto done;
	}
	const cJSON *it;
	static const char *const keys[] = { "name", "channel", "role", "rules",
					    "description", "namespaces", "secret", NULL };
	cJSON_ArrayForEach(it, doc) {
		bool ok = false;
		for (const char *const *k = keys; *k; k++)
			ok = ok || !strcmp(*k, it->string);
		if (!ok)
			ds_diag_error(diag, path, "", "unknown member \"%s\"", it->string);
	}
	const cJSON *secret = cJSON_GetObjectItemCaseSensitive(doc, "secret");
	if (secret) {
		/* The secret itself never sits in the repository: only the name
		 * of the environment variable that holds it. */
		const char *env = ds_json_str(secret, "env");
		if (!cJSON_IsObject(secret) || cJSON_GetArraySize(secret) != 1 || !env ||
		    !*env || strspn(env, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") != strlen(env))
			ds_diag_error(diag, path, "/secret",
				      "\"secret\" names the environment variable holding it: "
				      "{\"env\": \"DOSSIER_SECRET_NAME\"} (capitals, digits, _)");
		else if (!(s->secret_env = ds_strdup(env)))
			rc = ds_err_set(err, DS_ENOMEM, "out of memory");
	}
	const char *name = ds_json_str(doc, "name");
	const char *channel = ds_json_str(doc, "channel");
	const char *role = ds_json_str(doc, "role");
	if (!name || !*name)
		ds_diag_error(diag, path, "/name", "\"name\" is required");
	if (!channel || (strcmp(channel, "json") && strcmp(channel, "form") && strcmp(channel, "xml") &&
			 strcmp(channel, "email")))
		ds_diag_error(diag, path, "/channel",
			      "channel \"%s\" is not supported by this build (supported: json, form, xml, email)",
			      channel ? channel : "");
	if (channel && !strcmp(channel, "xml")) {
		/* XPath picks are compiled once, with the declared prefixes. */
		const cJSON *nsj = cJSON_GetObjectItemCaseSensitive(doc, "namespaces");
		ds_xml_ns ns[32];
		size_t nns = 0;
		if (nsj && !cJSON_IsObject(nsj))
			ds_diag_error(diag, path, "/namespaces", "\"namespaces\" maps prefixes to URIs");
		cJSON_ArrayForEach(it, nsj) {
			if (nns == 32 || !cJSON_IsString(it)) {
				ds_diag_error(diag, path, "/namespaces",
					      "at most 32 prefixes, each mapped to a URI string");
				break;
			}
			ns[nns].prefix = it->string;
			ns[nns++].uri = it->valuestring;
		}
		ds_err e = {0};
		if (ds_xpath_set_new(&s->xpaths, ns, nns, &e))
			ds_diag_error(diag, path, "/namespaces", "%s", e.msg);
	}
	s->name = ds_strdup(name ? name : "");
	s->channel = ds_strdup(channel ? channel : "");
	/* Records edit cases under the rights of this role: without one, a
	 * source could change what a state locks. */
	if (!role || !*role)
		ds_diag_error(diag, path, "/role",
			      "\"role\" is required: the role whose rights the source's records use");
	s->role = ds_strdup(role ? role : "");
	const cJSON *rules = cJSON_GetObjectItemCaseSensitive(doc, "rules");
	if (!cJSON_IsArray(rules) || !cJSON_GetArraySize(rules)) {
		ds_diag_error(diag, path, "/rules", "\"rules\" must be a non-empty array");
		goto done;
	}
	size_t n = (size_t)cJSON_GetArraySize(rules);
	s->rules = ds_calloc(n, sizeof *s->rules);
	if (!s->rules) {
		rc = ds_err_set(err, DS_ENOMEM, "out of memory");
		goto done;
	}
	const cJSON *rj;
	cJSON_ArrayForEach(rj, rules) {
		char rp[64], sub[600];
		snprintf(rp, sizeof rp, "/rules/%zu", s->nrules);
		ds_map_rule *rule = &s->rules[s->nrules++];
		if (!cJSON_IsObject(rj)) {
			ds_diag_error(diag, path, rp, "a rule must be an object");
			continue;
		}
		cJSON_ArrayForEach(it, rj) {
			if (strcmp(it->string, "record") && strcmp(it->string, "when") &&
			    strcmp(it->string, "copy") && strcmp(it->string, "fields"))
				ds_diag_error(diag, path, rp, "unknown member \"%s\"", it->string);
		}
		const char *rec = ds_json_str(rj, "record");
		snprintf(sub, sizeof sub, "%s/record", rp);
		if (!rec || !*rec)
			ds_diag_error(diag, path, sub, "\"record\" must name a record type");
		else
			rule->record = ds_strdup(rec);
		const cJSON *when = cJSON_GetObjectItemCaseSensitive(rj, "when");
		if (when && s->xpaths) {
			/* An XML rule's condition is an XPath, true as boolean()
			 * says: "/ord:Order" holds when the root is a UBL Order. */
			ds_err e = {0};
			char *expr = NULL;
			snprintf(sub, sizeof sub, "%s/when", rp);
			if (!cJSON_IsString(when) || !valid_field(when->valuestring))
				ds_diag_error(diag, path, sub, "\"when\" must be an XPath expression");
			else if (!(expr = ds_malloc(strlen(when->valuestring) + 10)))
				rc = ds_err_set(err, DS_ENOMEM, "out of memory");
			else if (sprintf(expr, "boolean(%s)", when->valuestring),
				 ds_xpath_set_add(s->xpaths, expr, &rule->when_xpath, &e))
				ds_diag_error(diag, path, sub, "%s", e.msg);
			else
				rule->xml_when = true;
			ds_free(expr);
			if (rc)
				goto done;
		} else if (when) {
			ds_err e = {0};
			snprintf(sub, sizeof sub, "%s/when", rp);
			if (!cJSON_IsString(when))
				ds_diag_error(diag, path, sub, "\"when\" must be an expression string");
			else if (ds_expr_parse(when->valuestring, &rule->when, &e))
				ds_diag_error(diag, path, sub, "%s", e.msg);
		}
		if (s->xpaths && cJSON_GetObjectItemCaseSensitive(rj, "copy"))
			ds_diag_error(diag, path, rp,
				      "an XML source's rules pick fields with \"xpath\": no \"copy\"");
		const cJSON *copy = cJSON_GetObjectItemCaseSensitive(rj, "copy");
		if (copy) {
			snprintf(sub, sizeof sub, "%s/copy", rp);
			if (!cJSON_IsString(copy) || !valid_pointer(copy->valuestring))
				ds_diag_error(diag, path, sub, "\"copy\" must be a JSON Pointer (\"\" for the whole input)");
			else
				rule->copy = ds_strdup(copy->valuestring);
		}
		const cJSON *fields = cJSON_GetObjectItemCaseSensitive(rj, "fields");
		if (fields && !cJSON_IsObject(fields)) {
			snprintf(sub, sizeof sub, "%s/fields", rp);
			ds_diag_error(diag, path, sub, "\"fields\" maps target pointers to picks");
			continue;
		}
		if (!fields && !copy)
			ds_diag_error(diag, path, rp, "a rule needs \"copy\" or \"fields\"");
		size_t nf = fields ? (size_t)cJSON_GetArraySize(fields) : 0;
		rule->fields = ds_calloc(nf ? nf : 1, sizeof *rule->fields);
		if (!rule->fields) {
			rc = ds_err_set(err, DS_ENOMEM, "out of memory");
			goto done;
		}
		const cJSON *fj;
		cJSON_ArrayForEach(fj, fields) {
			char fp[600];
			snprintf(fp, sizeof fp, "%s/fields/", rp);
			ds_json_pointer_escape(fj->string, fp + strlen(fp), sizeof fp - strlen(fp));
			ds_field_map *fm = &rule->fields[rule->nfields++];
			if (!*fj->string || fj->string[0] != '/')
				ds_diag_error(diag, path, fp, "a target must be a JSON Pointer such as \"/customer/email\"");
			fm->target = ds_strdup(fj->string);
			load_field(s, fm, fj, fp, diag, 0);
		}
	}
done:
	cJSON_Delete(doc);
	if (!rc && diag->errors > before)
		rc = ds_err_set(err, DS_ECONFIG, "%s: the source has errors", path);
	if (rc) {
		ds_source_free(s);
		s = NULL;
	}
	*out = s;
	if (diag == &local)
		ds_diag_free(&local);
	return rc;
}

/* ---- mapping ---- */

static const cJSON *resolve_input(void *ud, const char *const *segs, size_t n)
{
	return ds_expr_json_path(ud, segs, n);
}

/* Sets target (a JSON Pointer) in rec to v (taken), creating objects on
 * the way. */
static int set_pointer(cJSON *rec, const char *target, cJSON *v, ds_err *err)
{
	cJSON *cur = rec;
	const char *p = target + 1;
	for (;;) {
		char seg[256];
		size_t n = 0;
		while (*p && *p != '/') {
			char c = *p++;
			if (c == '~' && (*p == '0' || *p == '1'))
				c = *p++ == '0' ? '~' : '/';
			if (n + 1 >= sizeof seg) {
				cJSON_Delete(v);
				return ds_err_set(err, DS_EINVAL, "target %s is too long", target);
			}
			seg[n++] = c;
		}
		seg[n] = '\0';
		if (!cJSON_IsObject(cur)) {
			cJSON_Delete(v);
			return ds_err_set(err, DS_EINVAL, "cannot set %s: its parent is not an object",
					  target);
		}
		if (!*p) {
			if (cJSON_GetObjectItemCaseSensitive(cur, seg))
				cJSON_ReplaceItemInObjectCaseSensitive(cur, seg, v);
			else
				cJSON_AddItemToObject(cur, seg, v);
			return DS_OK;
		}
		cJSON *next = cJSON_GetObjectItemCaseSensitive(cur, seg);
		if (!next) {
			next = cJSON_AddObjectToObject(cur, seg);
			if (!next) {
				cJSON_Delete(v);
				return ds_err_set(err, DS_ENOMEM, "out of memory");
			}
		}
		cur = next;
		p++;
	}
}

/* Normalized text as the JSON type its last normalizer says: "bool" gives
 * a boolean, "integer" a number (at most 15 digits: exact), else a string. */
static cJSON *typed(const ds_field_map *fm, const char *s)
{
	if (fm->result == DS_NORM_BOOLEAN)
		return cJSON_CreateBool(!strcmp(s, "true"));
	if (fm->result == DS_NORM_INTEGER) {
		long long v = strtoll(s, NULL, 10);
		return cJSON_CreateNumber((double)v);
	}
	if (fm->result == DS_NORM_NUMBER)
		return cJSON_CreateNumber(strtod(s, NULL));
	if (!fm->prefix)
		return cJSON_CreateString(s);
	size_t np = strlen(fm->prefix), ns = strlen(s);
	char *t = ds_malloc(np + ns + 1);
	if (!t)
		return NULL;
	memcpy(t, fm->prefix, np);
	memcpy(t + np, s, ns + 1);
	cJSON *v = cJSON_CreateString(t);
	ds_free(t);
	return v;
}

/* The text of an interaction pick in *raw: the first digits of the
 * SHA-256 of the raw bytes; NULL when it is not known. */
static int fact_text(const ds_field_map *fm, const char *sha256, ds_arena *a, const char **raw,
		     ds_err *err)
{
	*raw = NULL;
	if (!sha256 || strlen(sha256) != 64)
		return DS_OK;
	if (!(*raw = ds_arena_strndup(a, sha256, fm->digits)))
		return ds_err_set(err, DS_ENOMEM, "out of memory");
	return DS_OK;
}

static int norm_value(const ds_field_map *fm, const char *raw, ds_arena *a, cJSON **out,
		      ds_err *err);

/* A "list" field pick: the values of a form field (one string, or the
 * array of a field sent several times) as an array, each normalized,
 * blank ones left out; *out stays NULL when none is left. */
static int list_value(const ds_field_map *fm, const cJSON *v, ds_arena *a, cJSON **out,
		      ds_err *err)
{
	cJSON *arr = cJSON_CreateArray();
	if (!arr)
		return ds_err_set(err, DS_ENOMEM, "out of memory");
	const cJSON *one = cJSON_IsString(v) ? v : NULL;
	const cJSON *it = one ? one : cJSON_IsArray(v) ? v->child : NULL;
	for (; it; it = one ? NULL : it->next) {
		cJSON *x = NULL;
		int rc = cJSON_IsString(it) && *it->valuestring
				 ? norm_value(fm, it->valuestring, a, &x, err) : DS_OK;
		if (rc) {
			cJSON_Delete(arr);
			return rc;
		}
		if (x && (!cJSON_IsString(x) || *x->valuestring))
			cJSON_AddItemToArray(arr, x);
		else
			cJSON_Delete(x);
	}
	if (!cJSON_GetArraySize(arr)) {
		cJSON_Delete(arr);
		return DS_OK;
	}
	*out = arr;
	return DS_OK;
}

/* A form field sent several times where one value is expected. */
static int repeated(const ds_field_map *fm, const cJSON *v, ds_err *err)
{
	char a[72], b[72];
	const cJSON *x = cJSON_GetArrayItem(v, 0), *y = cJSON_GetArrayItem(v, 1);
	return ds_err_set(err, DS_EINVAL,
			  "%s: the form field is sent %d times (\"%s\", \"%s\"%s) where one value "
			  "is expected", fm->pick, cJSON_GetArraySize(v),
			  ds_quote(cJSON_IsString(x) ? x->valuestring : "", a),
			  ds_quote(cJSON_IsString(y) ? y->valuestring : "", b),
			  cJSON_GetArraySize(v) > 2 ? ", ..." : "");
}

/* The value a field mapping gives (new tree, caller frees), or NULL in
 * *out when the pick is missing and there is no default. */
static int map_value(const ds_field_map *fm, const cJSON *input, const char *sha256,
		     ds_arena *a, cJSON **out, ds_err *err)
{
	const cJSON *v = NULL;
	*out = NULL;
	if (fm->pick && fm->kind == DS_PICK_INTERACTION) {
		const char *raw = NULL;
		int rc = fact_text(fm, sha256, a, &raw, err);
		if (rc || raw)
			return rc ? rc : norm_value(fm, raw, a, out, err);
	} else if (fm->pick && fm->kind == DS_PICK_POINTER) {
		v = ds_json_pointer(input, fm->pick);
	} else if (fm->pick && fm->kind == DS_PICK_REGEX && fm->re && fm->re_group) {
		const cJSON *t = ds_json_pointer(input, fm->re_in);
		if (cJSON_IsString(t)) {
			pcre2_match_data *md = pcre2_match_data_create_from_pattern(fm->re, NULL);
			if (!md)
				return ds_err_set(err, DS_ENOMEM, "out of memory");
			int rc = pcre2_match(fm->re, (PCRE2_SPTR)t->valuestring, strlen(t->valuestring),
					     0, 0, md, NULL);
			PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
			if (rc > (int)fm->re_group && ov[2 * fm->re_group] != PCRE2_UNSET) {
				size_t b = ov[2 * fm->re_group], e = ov[2 * fm->re_group + 1];
				char *raw = ds_arena_strndup(a, t->valuestring + b, e - b);
				pcre2_match_data_free(md);
				if (!raw)
					return ds_err_set(err, DS_ENOMEM, "out of memory");
				return norm_value(fm, raw, a, out, err);
			}
			pcre2_match_data_free(md);
		}
	} else if (fm->pick && fm->kind == DS_PICK_FIELD) {
		v = cJSON_GetObjectItemCaseSensitive(input, fm->pick);
		if (fm->list) {
			int rc = list_value(fm, v, a, out, err);
			if (rc || *out)
				return rc;
			v = NULL;
		} else if (cJSON_IsArray(v)) {
			return repeated(fm, v, err);
		} else if (cJSON_IsString(v) && !*v->valuestring) {
			/* An empty form field is a field left blank: missing. */
			v = NULL;
		}
	}
	if (!v || cJSON_IsNull(v)) {
		if (!fm->deflt)
			return DS_OK; /* absent stays absent: the schema decides */
		*out = cJSON_Duplicate(fm->deflt, true);
	} else if (fm->nnorms || fm->prefix) {
		if (!cJSON_IsString(v))
			return ds_err_set(err, DS_EINVAL, "%s: expected text to %s", fm->pick,
					  fm->nnorms ? "normalize" : "prefix");
		const char *s = v->valuestring;
		for (size_t i = 0; i < fm->nnorms; i++) {
			int rc = fm->norms[i](a, s, &s, err);
			if (rc)
				return ds_err_prefix(err, "%s (%s)", fm->pick, fm->norm_names[i]);
		}
		*out = typed(fm, s);
	} else {
		*out = cJSON_Duplicate(v, true);
	}
	return *out ? DS_OK : ds_err_set(err, DS_ENOMEM, "out of memory");
}

static const char *kind_of(const cJSON *v)
{
	return !v ? "nothing" : cJSON_IsArray(v) ? "an array" : cJSON_IsString(v) ? "a string" :
	       cJSON_IsNumber(v) ? "a number" : "a literal";
}

int ds_source_accepts(const ds_source *s, const cJSON *input, ds_time now, bool *yes,
		      ds_err *err)
{
	*yes = false;
	for (size_t r = 0; r < s->nrules && !*yes; r++) {
		const ds_map_rule *rule = &s->rules[r];
		if (!rule->when) {
			*yes = true;
			break;
		}
		ds_expr_env env = { resolve_input, (void *)input, now };
		if (ds_expr_eval_bool(rule->when, &env, yes, err))
			return ds_err_prefix(err, "source %s, rule %zu condition", s->name, r);
	}
	return DS_OK;
}

bool ds_source_keeps_input(const ds_source *s)
{
	for (size_t r = 0; r < s->nrules; r++)
		if (s->rules[r].copy)
			return false;
	return true;
}

#define MAX_FIELDS 256

int ds_source_map(const ds_source *s, cJSON **input, const char *sha256, ds_time now,
		  ds_arena *a,
		  int (*emit)(void *ud, const char *type, cJSON *record), void *ud,
		  ds_err *err)
{
	size_t last = s->nrules;
	bool matches[64] = { false };
	if (s->nrules > 64)
		return ds_err_set(err, DS_ELIMIT, "source %s has more than 64 rules", s->name);
	/* Conditions first, so the last matching rule is known. */
	for (size_t r = 0; r < s->nrules; r++) {
		const ds_map_rule *rule = &s->rules[r];
		bool ok = true;
		if (rule->when) {
			ds_expr_env env = { resolve_input, *input, now };
			if (ds_expr_eval_bool(rule->when, &env, &ok, err))
				return ds_err_prefix(err, "rule %zu condition", r);
		}
		matches[r] = ok;
		if (ok)
			last = r;
	}
	for (size_t r = 0; r < s->nrules; r++) {
		const ds_map_rule *rule = &s->rules[r];
		cJSON *vals[MAX_FIELDS] = { NULL };
		cJSON *rec = NULL;
		int rc = DS_OK;
		if (!matches[r])
			continue;
		if (rule->nfields > MAX_FIELDS)
			return ds_err_set(err, DS_ELIMIT, "rule %zu has more than %d fields", r, MAX_FIELDS);
		/* Every value is picked from the input as received, before the
		 * record (which may be the input itself) is changed. */
		for (size_t f = 0; f < rule->nfields && !rc; f++)
			rc = map_value(&rule->fields[f], *input, sha256, a, &vals[f], err);
		if (!rc && rule->copy) {
			cJSON *base = (cJSON *)ds_json_pointer(*input, rule->copy);
			if (!cJSON_IsObject(base)) {
				rc = ds_err_set(err, DS_EINVAL, "expected a JSON object at \"%s\", got %s",
						rule->copy, kind_of(base));
			} else if (r == last && base == *input) {
				/* The last rule may have the input itself: no copy. */
				rec = *input;
				*input = NULL;
			} else if (!(rec = cJSON_Duplicate(base, true))) {
				rc = ds_err_set(err, DS_ENOMEM, "out of memory");
			}
		} else if (!rc && !(rec = cJSON_CreateObject())) {
			rc = ds_err_set(err, DS_ENOMEM, "out of memory");
		}
		for (size_t f = 0; f < rule->nfields; f++) {
			if (!vals[f])
				continue;
			if (rc)
				cJSON_Delete(vals[f]);
			else
				rc = set_pointer(rec, rule->fields[f].target, vals[f], err);
		}
		if (rc) {
			cJSON_Delete(rec);
			return rc;
		}
		if ((rc = emit(ud, rule->record, rec)))
			return rc;
	}
	return DS_OK;
}

/* ---- XML ---- */

/* Normalizes raw text as fm says and makes it a JSON value; an error names
 * what: the pick, or for XML the record field (a JSON Pointer such as
 * "/lines/2/unit_price"), clearer than an XPath. */
/* Where an XML value goes in the record, for messages, made into text
 * only for one (a record has many values, and few errors): the field's
 * pointer, or an item of an array (up) and the pointer below it. */
typedef struct place {
	const struct place *up;
	size_t index;
	const char *target;
} place;

static const char *place_str(const place *p, char *buf, size_t n)
{
	if (!p->up) {
		snprintf(buf, n, "%s", p->target);
	} else {
		char up[512];
		snprintf(buf, n, "%s/%zu%s", place_str(p->up, up, sizeof up), p->index, p->target);
	}
	return buf;
}

/* Normalizes raw into *out; an error names what, or else the place at. */
static int norm_named(const ds_field_map *fm, const char *what, const place *at,
		      const char *raw, ds_arena *a, cJSON **out, ds_err *err)
{
	const char *s = raw;
	for (size_t i = 0; i < fm->nnorms; i++) {
		int rc = fm->norms[i](a, s, &s, err);
		char b[512];
		if (rc)
			return ds_err_prefix(err, "%s (%s)", what ? what : place_str(at, b, sizeof b),
					     fm->norm_names[i]);
	}
	*out = typed(fm, s);
	return *out ? DS_OK : ds_err_set(err, DS_ENOMEM, "out of memory");
}

/* The same, an error naming the pick. */
static int norm_value(const ds_field_map *fm, const char *raw, ds_arena *a, cJSON **out,
		      ds_err *err)
{
	return norm_named(fm, fm->pick, NULL, raw, a, out, err);
}

/* The value of an XPath field map at node (NULL: the document), or NULL
 * in *out when missing without a default; at is the field's place in the
 * record, for messages. */
static int xml_value(const ds_source *src, const ds_field_map *fm, const place *at,
		     ds_xml_doc *doc, const ds_xml_node *node, const char *sha256, ds_arena *a,
		     cJSON **out, ds_err *err)
{
	int rc;
	char b[512];
	*out = NULL;
	if (fm->pick && fm->kind == DS_PICK_INTERACTION) {
		const char *raw = NULL;
		if ((rc = fact_text(fm, sha256, a, &raw, err)) || raw)
			return rc ? rc : norm_named(fm, NULL, at, raw, a, out, err);
	} else if (fm->pick && fm->each) {
		ds_xml_node **nodes = NULL;
		size_t n = 0;
		if ((rc = ds_xpath_eval_nodes(src->xpaths, fm->xpath, doc, node, a, &nodes, &n, err)))
			return ds_err_prefix(err, "%s", place_str(at, b, sizeof b));
		if (n) {
			cJSON *arr = cJSON_CreateArray();
			if (!arr)
				return ds_err_set(err, DS_ENOMEM, "out of memory");
			/* "each" {"": pick}: the items are the values themselves,
			 * missing ones left out. */
			bool scalar = fm->neach == 1 && !*fm->each[0].target;
			for (size_t i = 0; i < n && !rc && scalar; i++) {
				cJSON *v = NULL;
				place item = { at, i, "" };
				rc = xml_value(src, &fm->each[0], &item, doc, nodes[i], sha256, a, &v,
					       err);
				if (!rc && v && !cJSON_AddItemToArray(arr, v)) {
					cJSON_Delete(v);
					rc = ds_err_set(err, DS_ENOMEM, "out of memory");
				}
			}
			for (size_t i = 0; i < n && !rc && !scalar; i++) {
				cJSON *item = cJSON_CreateObject();
				if (!item || !cJSON_AddItemToArray(arr, item)) {
					cJSON_Delete(item);
					rc = ds_err_set(err, DS_ENOMEM, "out of memory");
					break;
				}
				for (size_t k = 0; k < fm->neach && !rc; k++) {
					cJSON *v = NULL;
					place below = { at, i, fm->each[k].target };
					rc = xml_value(src, &fm->each[k], &below, doc, nodes[i], sha256, a,
						       &v, err);
					if (!rc && v)
						rc = set_pointer(item, fm->each[k].target, v, err);
				}
			}
			if (rc || !cJSON_GetArraySize(arr)) {
				cJSON_Delete(arr);
				if (rc)
					return rc;
			} else {
				*out = arr;
				return DS_OK;
			}
		}
	} else if (fm->pick) {
		const char *raw = NULL;
		if ((rc = ds_xpath_eval_string(src->xpaths, fm->xpath, doc, node, a, &raw, err)))
			return ds_err_prefix(err, "%s", place_str(at, b, sizeof b));
		if (raw)
			return norm_named(fm, NULL, at, raw, a, out, err);
	}
	if (fm->deflt && !(*out = cJSON_Duplicate(fm->deflt, true)))
		return ds_err_set(err, DS_ENOMEM, "out of memory");
	return DS_OK;
}

/* Whether rule r of an XML source holds for doc (no "when": always). */
static int xml_rule_holds(const ds_source *s, size_t r, ds_xml_doc *doc, ds_arena *a,
			  bool *yes, ds_err *err)
{
	const ds_map_rule *rule = &s->rules[r];
	const char *v = NULL;
	*yes = true;
	if (!rule->xml_when)
		return DS_OK;
	int rc = ds_xpath_eval_string(s->xpaths, rule->when_xpath, doc, NULL, a, &v, err);
	if (rc)
		return ds_err_prefix(err, "source %s, rule %zu condition", s->name, r);
	*yes = v && !strcmp(v, "true");
	return DS_OK;
}

int ds_source_accepts_xml(const ds_source *s, ds_xml_doc *doc, ds_arena *a, bool *yes,
			  ds_err *err)
{
	*yes = false;
	if (!s->xpaths)
		return DS_OK;
	for (size_t r = 0; r < s->nrules && !*yes; r++) {
		int rc = xml_rule_holds(s, r, doc, a, yes, err);
		if (rc)
			return rc;
	}
	return DS_OK;
}

int ds_source_map_xml(const ds_source *s, ds_xml_doc *doc, const char *sha256, ds_arena *a,
		      int (*emit)(void *ud, const char *type, cJSON *record), void *ud,
		      ds_err *err)
{
	if (!s->xpaths)
		return ds_err_set(err, DS_ECONFIG, "source %s does not read XML", s->name);
	for (size_t r = 0; r < s->nrules; r++) {
		const ds_map_rule *rule = &s->rules[r];
		bool holds = true;
		int rc = xml_rule_holds(s, r, doc, a, &holds, err);
		if (rc)
			return rc;
		if (!holds)
			continue;
		cJSON *rec = cJSON_CreateObject();
		if (!rec)
			rc = ds_err_set(err, DS_ENOMEM, "out of memory");
		for (size_t f = 0; f < rule->nfields && !rc; f++) {
			cJSON *v = NULL;
			place at = { NULL, 0, rule->fields[f].target };
			rc = xml_value(s, &rule->fields[f], &at, doc, NULL, sha256, a, &v, err);
			if (!rc && v)
				rc = set_pointer(rec, rule->fields[f].target, v, err);
		}
		if (rc) {
			cJSON_Delete(rec);
			return rc;
		}
		if ((rc = emit(ud, rule->record, rec)))
			return rc;
	}
	return DS_OK;
}
