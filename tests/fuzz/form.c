/*
 * form.c - fuzz harness: untrusted urlencoded bodies through the form
 * parser, whole and in small chunks.
 */
#include <stdint.h>

#include "form.h"
#include "mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int ignore(void *ud, const char *name, size_t nlen, const char *value, size_t vlen,
		  ds_err *err)
{
	(void)ud, (void)name, (void)nlen, (void)value, (void)vlen, (void)err;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ds_form_opts opts = { 0 };
	cJSON *doc = NULL;
	ds_mem_init();
	if (!ds_form_parse_json((const char *)data, size, &opts, DS_FORM_OBJECT, &doc, NULL))
		cJSON_Delete(doc);
	/* strictly, as the read stage does */
	ds_form_opts strict = { .flags = DS_FORM_STRICT };
	if (!ds_form_parse_json((const char *)data, size, &strict, DS_FORM_OBJECT, &doc, NULL))
		cJSON_Delete(doc);
	ds_form_parser *p = NULL;
	if (!ds_form_new(&p, &strict, ignore, NULL, NULL)) {
		for (size_t i = 0; i < size; i += 5)
			if (ds_form_feed(p, (const char *)data + i, size - i < 5 ? size - i : 5, NULL))
				break;
		ds_form_finish(p, NULL);
		ds_form_free(p);
	}
	p = NULL;
	if (!ds_form_new(&p, &opts, ignore, NULL, NULL)) {
		for (size_t i = 0; i < size; i += 7)
			if (ds_form_feed(p, (const char *)data + i, size - i < 7 ? size - i : 7, NULL))
				break;
		ds_form_finish(p, NULL);
		ds_form_free(p);
	}
	return 0;
}
