/*
 * test_input.c - reading inputs by media type, and getting back one file an
 * input carried (an email's part, a multipart form's upload).
 */
#include <criterion/criterion.h>
#include <string.h>

#include "config.h"
#include "hash.h"
#include "input.h"
#include "json.h"
#include "mem.h"

Test(input, channel_of_media_type)
{
	cr_expect_str_eq(ds_input_channel_of_type("application/json"), "json");
	cr_expect_str_eq(ds_input_channel_of_type("application/ld+json; charset=utf-8"), "json");
	cr_expect_str_eq(ds_input_channel_of_type("Application/XML"), "xml");
	cr_expect_str_eq(ds_input_channel_of_type("text/xml;charset=iso-8859-1"), "xml");
	cr_expect_str_eq(ds_input_channel_of_type("application/ubl+xml"), "xml");
	cr_expect_str_eq(ds_input_channel_of_type("message/rfc822"), "email");
	cr_expect_str_eq(ds_input_channel_of_type("application/x-www-form-urlencoded"), "form");
	cr_expect_str_eq(ds_input_channel_of_type(" multipart/form-data; boundary=x"), "form");
	cr_expect_null(ds_input_channel_of_type("multipart/mixed; boundary=x"));
	cr_expect_null(ds_input_channel_of_type("application/jsonx"));
	cr_expect_null(ds_input_channel_of_type("+json"));
	cr_expect_null(ds_input_channel_of_type(""));
}

Test(input, multipart_with_its_type)
{
	char *b = NULL;
	size_t n = 0;
	ds_err err = { 0 };
	cr_assert_eq(ds_input_multipart_with_type("multipart/form-data; boundary=x", "--x--", 5,
						  &b, &n, &err), 0);
	cr_expect_str_eq(b, "Content-Type: multipart/form-data; boundary=x\r\n\r\n--x--");
	cr_expect_eq(n, strlen(b));
	ds_free(b);
	cr_expect_eq(ds_input_multipart_with_type("multipart/form-data;\r\nX: y", "", 0, &b, &n,
						  &err), DS_EINVAL);
	cr_expect_null(b);
}

Test(input, form_upload_comes_back)
{
	char *text = NULL, *data = NULL;
	size_t len = 0, n = 0;
	ds_err err = { 0 };
	cr_assert_eq(ds_read_file("fixtures/forms/contact-carre-with-file.mime", 1 << 20, &text,
				  &len, &err), 0);
	ds_limits lim = { .max_input_bytes = 1 << 20 };
	cr_assert_eq(ds_input_attachment("form", text, len, &lim, "piece_jointe", 0, &data, &n,
					 &err), 0, "%s", err.msg);
	char sha[65];
	ds_sha256_hex(data, n, sha);
	cr_expect_eq(n, 53);
	cr_expect_str_eq(sha, "a2f9317b6f887bfe3c45cb1002b5153a3b05d665d127e425fab942247d1a0d14");
	ds_free(data);
	cr_expect_eq(ds_input_attachment("form", text, len, &lim, "piece_jointe", 1, &data, &n,
					 &err), DS_ENOTFOUND);
	cr_expect_null(data);
	cr_expect_eq(ds_input_attachment("json", text, len, &lim, "x", 0, &data, &n, &err),
		     DS_ENOTFOUND);
	ds_free(text);
}

/* A file input left empty is not a file: the numbers are those of the
 * "_files" the read stage gives. */
Test(input, empty_file_input_is_no_file)
{
	const char *body = "Content-Type: multipart/form-data; boundary=b\r\n\r\n"
			   "--b\r\nContent-Disposition: form-data; name=\"a\"; filename=\"\"\r\n"
			   "Content-Type: application/octet-stream\r\n\r\n\r\n"
			   "--b\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"plaque.jpg\"\r\n"
			   "Content-Type: image/jpeg\r\n\r\nJPEG\r\n--b--\r\n";
	ds_limits lim = { .max_input_bytes = 1 << 20 };
	cJSON *doc = NULL;
	ds_xml_doc *x = NULL;
	ds_err err = { 0 };
	cr_assert_eq(ds_input_parse("form", body, strlen(body), &lim, NULL, NULL, &doc, &x, &err), 0,
		     "%s", err.msg);
	const cJSON *files = cJSON_GetObjectItemCaseSensitive(doc, "_files");
	cr_assert_eq(cJSON_GetArraySize(files), 1);
	cr_expect_str_eq(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(files, 0), "filename")
				 ->valuestring, "plaque.jpg");
	cJSON_Delete(doc);
	char *data = NULL;
	size_t n = 0;
	cr_assert_eq(ds_input_attachment("form", body, strlen(body), &lim, "photo", 0, &data, &n,
					 &err), 0, "%s", err.msg);
	cr_expect_eq(n, 4);
	cr_expect_eq(memcmp(data, "JPEG", 4), 0);
	ds_free(data);
	cr_expect_eq(ds_input_attachment("form", body, strlen(body), &lim, "a", 1, &data, &n, &err),
		     DS_ENOTFOUND);
}
