/*
 * multipart.c - fuzz harness: untrusted `.mime` inputs (a Content-Type line,
 * then a multipart/form-data body) through the multipart parser.
 */
#include <stdint.h>

#include "mem.h"
#include "multipart.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	ds_multipart_opts opts = { 0 };
	cJSON *doc = NULL;
	ds_mem_init();
	if (!ds_multipart_parse_mime_json((const char *)data, size, &opts, DS_FORM_OBJECT, &doc, NULL))
		cJSON_Delete(doc);
	/* strictly, as the read stage does */
	opts.flags = DS_MULTIPART_STRICT;
	if (!ds_multipart_parse_mime_json((const char *)data, size, &opts, DS_FORM_OBJECT, &doc, NULL))
		cJSON_Delete(doc);
	return 0;
}
