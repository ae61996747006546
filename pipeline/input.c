/*
 * input.c - reading one input for its channel; see input.h.
 */
#include "input.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "email.h"
#include "form.h"
#include "json.h"
#include "multipart.h"

bool ds_input_is_multipart(const char *bytes, size_t len)
{
	return len >= 13 && !strncasecmp(bytes, "Content-Type:", 13);
}

/* Whether the media type of ct (up to ';' or white space) is type, or ends
 * in suffix when type is NULL. */
static bool type_is(const char *ct, const char *type, const char *suffix)
{
	size_t n = strcspn(ct, "; \t");
	if (type)
		return n == strlen(type) && !strncasecmp(ct, type, n);
	size_t k = strlen(suffix);
	return n > k && !strncasecmp(ct + n - k, suffix, k);
}

const char *ds_input_channel_of_type(const char *ct)
{
	while (*ct == ' ' || *ct == '\t')
		ct++;
	if (type_is(ct, "application/json", NULL) || type_is(ct, NULL, "+json"))
		return "json";
	if (type_is(ct, "application/xml", NULL) || type_is(ct, "text/xml", NULL) ||
	    type_is(ct, NULL, "+xml"))
		return "xml";
	if (type_is(ct, "message/rfc822", NULL))
		return "email";
	if (type_is(ct, "application/x-www-form-urlencoded", NULL) ||
	    type_is(ct, "multipart/form-data", NULL))
		return "form";
	return NULL;
}

int ds_input_multipart_with_type(const char *ct, const char *body, size_t len, char **out,
				 size_t *n, ds_err *err)
{
	*out = NULL;
	*n = 0;
	if (strpbrk(ct, "\r\n"))
		return ds_err_set(err, DS_EINVAL, "a content type is one line");
	size_t head = strlen("Content-Type: ") + strlen(ct) + 4;
	if (len > SIZE_MAX - head - 1)
		return ds_err_set(err, DS_ELIMIT, "body too large");
	char *b = ds_malloc(head + len + 1);
	if (!b)
		return ds_err_set(err, DS_ENOMEM, "out of memory");
	int k = snprintf(b, head + 1, "Content-Type: %s\r\n\r\n", ct);
	if (len)
		memcpy(b + k, body, len);
	b[k + len] = '\0';
	*out = b;
	*n = (size_t)k + len;
	return DS_OK;
}

static int parse_json(const char *bytes, size_t len, const ds_limits *lim, cJSON **doc,
		      ds_err *err)
{
	int rc = ds_json_parse(bytes, len, lim->max_depth, doc, err);
	if (rc)
		return rc;
	bool oom = false;
	const char *dup = ds_json_duplicate_member(*doc, &oom);
	if (oom || dup) {
		rc = oom ? ds_err_set(err, DS_ENOMEM, "out of memory")
			 : ds_err_set(err, DS_EINVAL, "member \"%.100s\" appears twice in one object", dup);
		cJSON_Delete(*doc);
		*doc = NULL;
	}
	return rc;
}

/* A browser sends a textarea's line ends as CRLF: what mappings read has
 * "\n", as an email's text does. Values only shrink, in place. */
static void form_lines(cJSON *v)
{
	if (cJSON_IsArray(v)) {
		for (cJSON *it = v->child; it; it = it->next)
			form_lines(it);
		return;
	}
	if (!cJSON_IsString(v) || !strchr(v->valuestring, '\r'))
		return;
	char *w = v->valuestring;
	for (const char *r = v->valuestring; *r; r++)
		if (*r != '\r')
			*w++ = *r;
		else if (r[1] != '\n')
			*w++ = '\n';
	*w = '\0';
}

static void form_fields_lines(cJSON *fields)
{
	for (cJSON *f = fields ? fields->child : NULL; f; f = f->next)
		form_lines(f);
}

/* "_files" is where the form channel describes the uploads: a field of
 * that name would pass for them, so a form that sends one is refused. */
static int reserved_field(const cJSON *fields, ds_err *err)
{
	if (!cJSON_GetObjectItemCaseSensitive(fields, "_files"))
		return DS_OK;
	return ds_err_set(err, DS_EINVAL,
			  "form field \"_files\": the name is reserved for the uploaded files");
}

static int parse_multipart(const char *bytes, size_t len, const ds_limits *lim, cJSON **doc,
			   ds_err *err)
{
	ds_multipart_opts mo = lim->multipart;
	mo.max_total = lim->max_input_bytes;
	mo.flags |= DS_MULTIPART_STRICT;
	cJSON *all = NULL;
	int rc = ds_multipart_parse_mime_json(bytes, len, &mo, DS_FORM_OBJECT, &all, err);
	if (rc)
		return rc;
	cJSON *fields = cJSON_DetachItemFromObjectCaseSensitive(all, "fields");
	cJSON *files = cJSON_DetachItemFromObjectCaseSensitive(all, "files");
	cJSON_Delete(all);
	if ((rc = reserved_field(fields, err))) {
		cJSON_Delete(fields);
		cJSON_Delete(files);
		return rc;
	}
	form_fields_lines(fields);
	/* A file input left empty is sent as a part with no filename and no
	 * bytes: it uploaded nothing. */
	for (cJSON *f = files ? files->child : NULL, *next; f; f = next) {
		next = f->next;
		const cJSON *fn = cJSON_GetObjectItemCaseSensitive(f, "filename");
		const cJSON *size = cJSON_GetObjectItemCaseSensitive(f, "size");
		if (cJSON_IsString(fn) && !*fn->valuestring && cJSON_IsNumber(size) &&
		    size->valuedouble == 0)
			cJSON_Delete(cJSON_DetachItemViaPointer(files, f));
	}
	if (files && !files->child) {
		/* no file: no "_files", as in an urlencoded form */
		cJSON_Delete(files);
		files = NULL;
		if (fields) {
			*doc = fields;
			return DS_OK;
		}
	}
	if (!fields || !files || !cJSON_AddItemToObject(fields, "_files", files)) {
		cJSON_Delete(fields);
		cJSON_Delete(files);
		return ds_err_set(err, DS_ENOMEM, "out of memory");
	}
	*doc = fields;
	return DS_OK;
}

static int parse_urlencoded(const char *bytes, size_t len, const ds_limits *lim, cJSON **doc,
			    ds_err *err)
{
	ds_form_opts fo = lim->form;
	fo.max_total = lim->max_input_bytes;
	/* What no browser sends is refused, not guessed at. */
	fo.flags |= DS_FORM_STRICT;
	/* A trailing line end from a file is not part of the last value. */
	while (len && (bytes[len - 1] == '\n' || bytes[len - 1] == '\r'))
		len--;
	if (!len)
		return ds_err_set(err, DS_EINVAL, "empty form: the body has no fields");
	int rc = ds_form_parse_json(bytes, len, &fo, DS_FORM_OBJECT, doc, err);
	if (!rc && (rc = reserved_field(*doc, err))) {
		cJSON_Delete(*doc);
		*doc = NULL;
	}
	if (!rc)
		form_fields_lines(*doc);
	return rc;
}

int ds_input_parse(const char *channel, const char *bytes, size_t len, const ds_limits *lim,
		   ds_xml *x, ds_arena *a, cJSON **doc, ds_xml_doc **xml, ds_err *err)
{
	*doc = NULL;
	*xml = NULL;
	if (!strcmp(channel, "json"))
		return parse_json(bytes, len, lim, doc, err);
	if (!strcmp(channel, "form"))
		return ds_input_is_multipart(bytes, len) ? parse_multipart(bytes, len, lim, doc, err)
							 : parse_urlencoded(bytes, len, lim, doc, err);
	if (!strcmp(channel, "email")) {
		ds_email_opts eo = lim->email;
		eo.max_total = lim->max_input_bytes;
		return ds_email_parse(bytes, len, &eo, doc, err);
	}
	if (!strcmp(channel, "xml"))
		return ds_xml_parse(x, bytes, len, a, xml, err);
	return ds_err_set(err, DS_ECONFIG, "channel \"%s\" is not read by this build", channel);
}

/* ---- one file of an input ---- */

/* Files are numbered as "_files" lists them: a file input left empty (no
 * filename, no bytes) is not one. Such a part has no data, so the bytes
 * of the current part are the wanted file's whenever the files counted
 * before it are as many as want. */
struct one_file {
	int want, seen;              /* the file wanted; files ended so far */
	ds_buf out;
	bool found;
};

static int file_data(void *ud, const ds_multipart_file *f, const char *data, size_t len,
		     ds_err *err)
{
	(void)f;
	struct one_file *o = ud;
	if (o->seen != o->want)
		return DS_OK;
	return ds_buf_append(&o->out, data, len) ? ds_err_set(err, DS_ENOMEM, "out of memory") : DS_OK;
}

static int file_end(void *ud, const ds_multipart_file *f, ds_err *err)
{
	(void)err;
	struct one_file *o = ud;
	if (!*f->filename && !f->size)
		return DS_OK;
	o->found = o->found || o->seen == o->want;
	o->seen++;
	return DS_OK;
}

int ds_input_attachment(const char *channel, const char *bytes, size_t len, const ds_limits *lim,
			const char *part, int seq, char **data, size_t *n, ds_err *err)
{
	*data = NULL;
	*n = 0;
	if (!strcmp(channel, "email")) {
		ds_email_opts eo = lim->email;
		eo.max_total = lim->max_input_bytes;
		return ds_email_part(bytes, len, &eo, part, data, n, err);
	}
	if (strcmp(channel, "form") || !ds_input_is_multipart(bytes, len))
		return ds_err_set(err, DS_ENOTFOUND, "a %s input carries no files", channel);
	ds_multipart_opts mo = lim->multipart;
	mo.max_total = lim->max_input_bytes;
	struct one_file o = { .want = seq };
	ds_buf_init(&o.out, SIZE_MAX / 2);
	ds_multipart_cb cb = { .file_data = file_data, .file_end = file_end, .ud = &o };
	int rc = ds_multipart_parse_mime(bytes, len, &mo, &cb, err);
	if (!rc && !o.found)
		rc = ds_err_set(err, DS_ENOTFOUND, "the form has no file number %d", seq + 1);
	if (!rc && !o.out.data && ds_buf_append(&o.out, "", 0))
		rc = ds_err_set(err, DS_ENOMEM, "out of memory");
	if (rc) {
		ds_buf_free(&o.out);
		return rc;
	}
	*n = o.out.len;
	*data = o.out.data;
	return DS_OK;
}
