/*
 * pdf.h - document templates (schemas/documents/<name>.json) and their
 * rendering to PDF with libharu.
 *
 * A template is declarative data: a page (size, orientation, margins in
 * millimetres), a font (the built-in Helvetica family, or a TrueType family
 * embedded from /usr/share/fonts/truetype/dejavu/), an optional footer and a
 * list of blocks laid out top to bottom:
 *
 *   company  static lines (name, address, SIRET, phone), the first in bold
 *   title    one bold heading; also the PDF's Title unless "title" is set
 *   text     lines bound to case fields, wrapped to the width, with a label
 *   columns  two to four company/title/text blocks side by side
 *   items    a priced line table over an array field, with subtotal,
 *            discount, net, VAT by rate and total, in exact decimals
 *   spacer   vertical space
 *
 * Text is written with bindings: "Devis {data.reference}",
 * "{data.date|date}" -> "20 novembre 2026", "{row.total|money}" ->
 * "1 234,50 €". A binding whose field is missing (absent, null or "") is an
 * error naming the path, unless written {path?}: then the line holding it is
 * left out, and a block left with no line is left out. Money is never a
 * binary float. docs/documents.md has the full format.
 *
 * Guarantees: a template is checked completely at load (every problem goes
 * to the diag with its JSON path) and is immutable afterwards, so threads
 * can share it. Rendering is deterministic: the same template and vars give
 * the same bytes on any renderer, whatever it rendered before (no wall
 * clock, no random identifiers), so a document's SHA-256 is reproducible.
 * Nothing is drawn outside the margins: long text wraps, and continues on a
 * new page when it is outside columns; cells are wrapped or shrunk, single
 * lines truncated with an ellipsis; tables continue on further pages with
 * their header repeated. libharu never exits the process: its errors are
 * recorded and returned.
 */
#ifndef DS_PDF_H
#define DS_PDF_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "diag.h"
#include "err.h"
#include "mem.h"

/* Where "font": {"ttf": NAME} looks for NAME.ttf and NAME-Bold.ttf. */
#define DS_PDF_FONT_DIR "/usr/share/fonts/truetype/dejavu"
/* Limits that keep a hostile case from producing an unbounded document. */
#define DS_PDF_MAX_PAGES 200
#define DS_PDF_MAX_ROWS 5000      /* upper bound for an items "max_rows" */
#define DS_PDF_DEFAULT_ROWS 500   /* "max_rows" when the template is silent */
#define DS_PDF_MAX_TEXT (64u << 10) /* bytes of one evaluated text */

typedef struct ds_doc_template ds_doc_template;

/* Loads and checks the template file at path (schemas/documents/NAME.json);
 * the template's name is the file name without ".json". On success *out
 * owns the template (free with ds_doc_template_free). Every problem is
 * reported to diag (which may be NULL) with the file and a JSON Pointer.
 * Returns 0; DS_ECONFIG when problems were reported; DS_EIO when the file
 * cannot be read (also reported); DS_ENOMEM. *out is NULL on failure. */
int ds_doc_template_load(const char *path, ds_diag *diag,
			 ds_doc_template **out, ds_err *err);

/* Frees a template; accepts NULL. */
void ds_doc_template_free(ds_doc_template *t);

/* The template's name ("offer"), owned by the template. */
const char *ds_doc_template_name(const ds_doc_template *t);

/* A renderer owns one libharu document object and the font state cached in
 * it (built-in font metrics, TrueType fonts loaded once and reused by every
 * later document). Use one renderer per thread; a renderer may render any
 * number of templates, one at a time. */
typedef struct ds_pdf ds_pdf;

/* Creates a renderer into *out (free with ds_pdf_free). 0, DS_ENOMEM or
 * DS_EINTERNAL (libharu could not start). */
int ds_pdf_new(ds_pdf **out, ds_err *err);

/* Frees a renderer and everything libharu holds for it; accepts NULL. */
void ds_pdf_free(ds_pdf *r);

/* Renders t with vars = {"case": {"id", "key", "process", "state",
 * "version"}, "data": {...the case data...}, "now": "ISO 8601"} and appends
 * the PDF bytes to out (out->max bounds its size). vars.now, when it parses,
 * becomes the PDF's creation date; nothing else comes from outside vars.
 * Returns 0, or:
 *   DS_EINVAL   the case data does not fit the template: a required field
 *               missing, an amount that is not a decimal, a date that is
 *               not ISO 8601, a currency other than EUR (message names the
 *               path, e.g. "offer: data.lines.2.unit_price: ...")
 *   DS_ELIMIT   more rows than the template allows, more than
 *               DS_PDF_MAX_PAGES pages, a text over DS_PDF_MAX_TEXT bytes,
 *               or out->max reached
 *   DS_ECONFIG  the template's TrueType font cannot be loaded any more
 *   DS_ENOMEM, DS_EINTERNAL (a libharu failure, with its error number)
 * On failure out is left as it was. */
int ds_pdf_render(ds_pdf *r, const ds_doc_template *t, const cJSON *vars,
		  ds_buf *out, ds_err *err);

#endif
