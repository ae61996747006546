/*
 * xml.c - fuzz harness: untrusted XML through the safe parser, then an
 * XPath pick on whatever parsed.
 */
#include <stdint.h>

#include "mem.h"
#include "xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static ds_xml *x;
	static ds_xpath_set *set;
	static size_t pick;
	ds_mem_init();
	if (!x && ds_xml_new(&x, NULL, NULL))
		return 0;
	if (!set) {
		ds_xml_ns ns[] = { { "cbc", "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2" } };
		if (ds_xpath_set_new(&set, ns, 1, NULL) || ds_xpath_set_add(set, "//cbc:ID", &pick, NULL))
			return 0;
	}
	ds_arena *a = ds_arena_new(4096);
	ds_xml_doc *doc = NULL;
	if (a && !ds_xml_parse(x, (const char *)data, size, a, &doc, NULL)) {
		const char *out = NULL;
		ds_xpath_eval_string(set, pick, doc, NULL, a, &out, NULL);
	}
	ds_arena_free(a);
	return 0;
}
