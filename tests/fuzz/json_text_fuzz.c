/*
 * json_text_fuzz - libFuzzer target holding json_text_parse (common/json_text.h) to Jansson
 *
 * Whatever the bytes, json_text_parse at a nesting bound must give what json_loadb with
 * JSON_REJECT_DUPLICATES gives on text within that bound: both refuse, or both accept and
 * build the same tree (equal values, equal compact text, so equal key order). The first
 * input byte picks the bound (1..16) so that deep and shallow documents both meet it. Every
 * accepted tree is written back by json_text_dump, which must give json_dumps's text byte for
 * byte, keys in their order and sorted.
 * One known difference: Jansson drops a NUL byte that follows a number or a literal
 * ("[1\0]" loads as [1]); a NUL byte is never JSON, so json_text_parse must refuse any
 * input holding one, and Jansson is not asked.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "domain/dossier.h"
#include "json_text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text;
    size_t len;
    int max_depth;
    json_error_t err;
    json_t *want, *got;

    if (size < 1)
        return 0;
    max_depth = 1 + data[0] % 16;
    text = (const char *)data + 1;
    len = size - 1;
    if (memchr(text, '\0', len)) {
        got = json_text_parse(text, len, max_depth, &err);
        if (got)
            abort(); /* a NUL byte accepted */
        return 0;
    }
    want = json_depth_ok(text, len, max_depth) ? json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL) : NULL;
    got = json_text_parse(text, len, max_depth, &err);
    if (!want != !got)
        abort(); /* one parser accepts what the other refuses */
    if (!got && (!err.text[0] || err.line < 1 || err.column < 1))
        abort(); /* a refusal says where and why */
    if (got) {
        char *a = json_dumps(want, JSON_COMPACT | JSON_ENCODE_ANY);
        char *b = json_dumps(got, JSON_COMPACT | JSON_ENCODE_ANY);
        if (!a || !b || strcmp(a, b) != 0 || !json_equal(want, got))
            abort(); /* different trees */
        free(b);
        b = json_text_dump(got, JSON_COMPACT);
        if (!b || strcmp(a, b) != 0)
            abort(); /* different text */
        free(a);
        free(b);
        a = json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS);
        b = json_text_dump(got, JSON_COMPACT | JSON_SORT_KEYS);
        if (!a || !b || strcmp(a, b) != 0)
            abort(); /* different text, keys sorted */
        free(a);
        free(b);
    }
    json_decref(want);
    json_decref(got);
    return 0;
}
