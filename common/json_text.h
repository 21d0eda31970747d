/*
 * json_text - JSON text to and from Jansson values, on the request path
 *
 * json_text_parse reads a request body into the tree json_loadb(text, len,
 * JSON_REJECT_DUPLICATES) would build (same values, same key order, the same
 * refusals but one, below), with the nesting bound checked on the way.
 * json_text_dump writes a document built with Jansson as json_dumps writes it
 * in compact form, byte for byte. Both exist for speed: Jansson reads and
 * writes one character at a time through a stream or a callback, and the two
 * were a third of bccid's instructions at intake; these scan runs of plain
 * bytes and copy each string once. Documents are still built with Jansson
 * (json_t values); text the gateway stored itself is still read with
 * json_loads. tests/fuzz/json_text_fuzz.c holds both to Jansson's answer on
 * every input the fuzzer finds.
 *
 * Accepted: one object or array at the top (RFC 8259), surrounded only by
 * space, TAB, CR, LF. Refused: a NUL byte anywhere (where Jansson differs: it
 * drops one that follows a number or a literal), invalid UTF-8 (overlong
 * forms, surrogates, above U+10FFFF), raw control characters in strings,
 * \u0000, lone surrogate escapes, duplicate keys in one object, integers
 * outside json_int_t, reals that overflow, nesting deeper than max_depth.
 *
 * Memory: a parsed value carries one reference, owned by the caller
 * (json_decref); dumped text is the caller's to free(). Nothing is kept
 * between calls.
 */
#ifndef BCCI_JSON_TEXT_H
#define BCCI_JSON_TEXT_H

#include <stddef.h>

#include <jansson.h>

/* the deepest nesting json_text_parse accepts whatever max_depth asks (Jansson's own bound) */
#define JSON_TEXT_DEPTH_LIMIT 2048

/* json_text_dump - the text json_dumps(v, flags) writes, byte for byte, for flags
 * JSON_COMPACT with JSON_SORT_KEYS and JSON_ENCODE_ANY or not (other flags: json_dumps
 * itself); NULL where json_dumps gives NULL (not a container without JSON_ENCODE_ANY,
 * a string that is not UTF-8, a loop), and for a key that is not UTF-8 (where Jansson
 * drops the key and writes text that is not JSON). Caller frees with free(). */
char *json_text_dump(const json_t *v, size_t flags);

/* json_text_parse - the object or array text[0..len) holds, nested at most max_depth
 * levels (the top object or array is level 1); NULL when the text is not such a
 * document, with err (when not NULL) saying where and why: line and column (in
 * characters, from 1), byte position and a message. */
json_t *json_text_parse(const char *text, size_t len, int max_depth, json_error_t *err);

#endif
