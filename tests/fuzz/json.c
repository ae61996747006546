/*
 * json.c - fuzz harness: untrusted JSON through ds_json_parse and the
 * duplicate-member check, as the read stage does.
 */
#include <stdint.h>

#include "json.h"
#include "mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cJSON *doc = NULL;
	ds_mem_init();
	if (!ds_json_parse((const char *)data, size, DS_JSON_MAX_DEPTH, &doc, NULL)) {
		bool oom = false;
		(void)ds_json_duplicate_member(doc, &oom);
		char names[128];
		ds_json_member_names(doc, names, sizeof names);
		cJSON_Delete(doc);
	}
	return 0;
}
