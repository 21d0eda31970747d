/*
 * bcci - the command-line client of bccid (design §11, docs/bcci.1)
 *
 * SYNOPSIS
 *   bcci [--url URL] [--token TOKEN] [--config FILE] [--json] [--no-color] COMMAND [ARGS…]
 *
 * DESCRIPTION
 *   Every subcommand is one or more HTTP calls to bccid, except `keys gen`
 *   (a local ZeroMQ CURVE key pair), `backup` (a local online copy of the
 *   database) and `store copy` (a whole gateway into an empty store). Configuration: flags, then the environment (BCCI_URL,
 *   BCCI_TOKEN), then a file (gateway/cli.h). --json prints the server's
 *   JSON (or a JSON summary) on stdout instead of readable text.
 *
 * DIAGNOSTICS
 *   Errors are one line on stderr: "bcci: STATUS CODE FIELD: message".
 *   Exit status: 0 success; 1 the server refused or a bulk submission was
 *   not wholly accepted; 2 bad usage; 3 bccid unreachable or a local file
 *   could not be read or written.
 *
 * SECURITY
 *   The token is sent only in the Authorization header and never printed,
 *   except the new token of `token create`, shown once.
 */
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <xlsxwriter.h>
#include <zmq.h>

#include "buf.h"
#include "gateway/cli/cli.h"
#include "domain/s10.h"

enum { EXIT_OK = 0, EXIT_REFUSED = 1, EXIT_USAGE = 2, EXIT_IO = 3 };

typedef struct {
    cli_client_t *client;
    cli_conf_t conf;
    int json;
    int color;
} app_t;

/* the arguments after the command name; options are taken out as they are read */
typedef struct {
    int n;
    char **v;
    const char *cmd; /* "manifest create", for messages */
} args_t;

typedef int (*cmd_fn)(app_t *app, args_t *a);

typedef struct {
    const char *name; /* "codes import" */
    cmd_fn fn;
    int local;        /* 1: no HTTP (keys gen, backup) */
    const char *synopsis;
    const char *help;
} command_t;

/* ------------------------------------------------------------ arguments */

static int
usage_error(const args_t *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int
usage_error(const args_t *a, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "bcci %s: ", a->cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see bcci %s --help)\n", a->cmd);
    return EXIT_USAGE;
}

static void
drop(args_t *a, int i, int count)
{
    memmove(&a->v[i], &a->v[i + count], (size_t)(a->n - i - count) * sizeof a->v[0]);
    a->n -= count;
}

/* take_opt - remove "--name VALUE" or "--name=VALUE" (or a short alias) from a; 1 found, 0 not,
 * -1 when the value is missing */
static int
take_opt(args_t *a, const char *name, const char *alias, const char **value)
{
    size_t nl = strlen(name);
    int i;

    for (i = 0; i < a->n; i++) {
        if (strcmp(a->v[i], "--") == 0)
            return 0;
        if (strcmp(a->v[i], name) == 0 || (alias && strcmp(a->v[i], alias) == 0)) {
            if (i + 1 >= a->n)
                return -1;
            *value = a->v[i + 1];
            drop(a, i, 2);
            return 1;
        }
        if (strncmp(a->v[i], name, nl) == 0 && a->v[i][nl] == '=') {
            *value = a->v[i] + nl + 1;
            drop(a, i, 1);
            return 1;
        }
    }
    return 0;
}

static int
take_flag(args_t *a, const char *name)
{
    int i;

    for (i = 0; i < a->n; i++) {
        if (strcmp(a->v[i], "--") == 0)
            return 0;
        if (strcmp(a->v[i], name) == 0) {
            drop(a, i, 1);
            return 1;
        }
    }
    return 0;
}

/* rest - after every option was taken: refuses leftover options; drops "--" */
static int
rest(args_t *a, int min, int max)
{
    int i;

    for (i = 0; i < a->n; i++) {
        if (strcmp(a->v[i], "--") == 0) {
            drop(a, i, 1);
            break;
        }
        if (a->v[i][0] == '-' && a->v[i][1] != '\0')
            return usage_error(a, "unknown option %s", a->v[i]);
    }
    if (a->n < min)
        return usage_error(a, "missing argument");
    if (max >= 0 && a->n > max)
        return usage_error(a, "unexpected argument '%s'", a->v[max]);
    return 0;
}

/* parse_ll - a whole decimal number in [lo, hi] */
static int
parse_ll(const char *s, long long lo, long long hi, long long *out)
{
    char *end;

    errno = 0;
    *out = strtoll(s, &end, 10);
    return errno == 0 && end != s && *end == '\0' && *out >= lo && *out <= hi;
}

/* ------------------------------------------------------------ output */

static const char *
C(const app_t *app, const char *code)
{
    return app->color ? code : "";
}

#define RESET "\033[0m"
#define BOLD "\033[1m"
#define DIM "\033[2m"
#define RED "\033[31m"
#define GREEN "\033[32m"
#define YELLOW "\033[33m"
#define CYAN "\033[36m"

static const char *
jstr(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));

    return s ? s : "";
}

static void
print_json(const json_t *doc)
{
    char *text = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);

    if (text)
        printf("%s\n", text);
    free(text);
}

static void
print_pretty(const json_t *doc)
{
    char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

    if (text)
        printf("%s\n", text);
    free(text);
}

/* report_error - the one-line error of a failed call (prefix names what was tried) */
static int
report_error(const char *method, const char *path, const cli_resp_t *r)
{
    json_t *doc, *e;

    if (r->status == 0) {
        fprintf(stderr, "bcci: %s\n", r->err);
        return EXIT_IO;
    }
    doc = json_loadb(r->body.data ? r->body.data : "", r->body.len, 0, NULL);
    e = json_object_get(doc, "error");
    if (e && r->status == 404 && strcmp(jstr(e, "code"), "not_found") == 0 &&
        strncmp(jstr(e, "message"), "no route", 8) == 0)
        fprintf(stderr, "bcci: 404 not_found: this bccid does not serve %s %s (upgrade bccid)\n", method, path);
    else if (e)
        fprintf(stderr, "bcci: %ld %s%s%s: %s\n", r->status, jstr(e, "code"), *jstr(e, "field") ? " " : "",
                jstr(e, "field"), jstr(e, "message"));
    else
        fprintf(stderr, "bcci: %s %s answered HTTP %ld without an error document\n", method, path, r->status);
    json_decref(doc);
    return EXIT_REFUSED;
}

/* call_json - one call that answers JSON; *out (caller owns) on 2xx, else the error is printed
 * and the exit code returned */
static int
call_json(app_t *app, const char *method, const char *path, const json_t *body, json_t **out)
{
    cli_resp_t r;
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_error_t jerr;
    int rc = EXIT_OK;

    *out = NULL;
    cli_call(app->client, method, path, text, text ? strlen(text) : 0, &r);
    free(text);
    if (r.status < 200 || r.status >= 300) {
        rc = report_error(method, path, &r);
        goto out;
    }
    *out = json_loadb(r.body.data ? r.body.data : "", r.body.len, 0, &jerr);
    if (!*out) {
        fprintf(stderr, "bcci: %s %s answered something that is not JSON: %s\n", method, path, jerr.text);
        rc = EXIT_REFUSED;
    }
out:
    cli_resp_free(&r);
    return rc;
}

/* call_print - call_json and print the answer (compact with --json, indented otherwise) */
static int
call_print(app_t *app, const char *method, const char *path, const json_t *body)
{
    json_t *doc;
    int rc = call_json(app, method, path, body, &doc);

    if (rc == EXIT_OK) {
        if (app->json)
            print_json(doc);
        else
            print_pretty(doc);
    }
    json_decref(doc);
    return rc;
}

/* write_file - data to path ("-" = stdout, refused on a terminal); EXIT_IO on failure */
static int
write_file(const char *path, const char *data, size_t len)
{
    FILE *f;

    if (strcmp(path, "-") == 0) {
        if (isatty(STDOUT_FILENO)) {
            fprintf(stderr, "bcci: refusing to write binary data to a terminal; use -o FILE\n");
            return EXIT_USAGE;
        }
        f = stdout;
    } else {
        f = fopen(path, "wb");
        if (!f) {
            fprintf(stderr, "bcci: cannot write %s: %s\n", path, strerror(errno));
            return EXIT_IO;
        }
    }
    if (fwrite(data, 1, len, f) != len || (f != stdout ? fclose(f) : fflush(f)) != 0) {
        fprintf(stderr, "bcci: cannot write %s: %s\n", path, strerror(errno));
        return EXIT_IO;
    }
    return EXIT_OK;
}

/* call_file - a call whose answer is a document (PDF, PNG, ZPL…) saved to out_path */
static int
call_file(app_t *app, const char *method, const char *path, const json_t *body, const char *out_path)
{
    cli_resp_t r;
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    int rc;

    cli_call(app->client, method, path, text, text ? strlen(text) : 0, &r);
    free(text);
    if (r.status < 200 || r.status >= 300) {
        rc = report_error(method, path, &r);
        goto out;
    }
    rc = write_file(out_path, r.body.data ? r.body.data : "", r.body.len);
    if (rc != EXIT_OK)
        goto out;
    if (app->json) {
        json_t *doc = json_pack("{s:s, s:I, s:s}", "file", out_path, "bytes", (json_int_t)r.body.len, "content_type",
                                r.content_type);
        print_json(doc);
        json_decref(doc);
    } else if (strcmp(out_path, "-") != 0) {
        fprintf(stderr, "bcci: wrote %s (%zu bytes, %s)\n", out_path, r.body.len, r.content_type);
    }
out:
    cli_resp_free(&r);
    return rc;
}

/* seg - one escaped path segment kept in a small ring so a few can be used in one snprintf */
static const char *
seg(const char *s)
{
    static char ring[4][512];
    static int next;
    char *e = cli_escape(s);
    char *slot = ring[next++ % 4];

    snprintf(slot, sizeof ring[0], "%s", e ? e : "");
    free(e);
    return slot;
}

/* ------------------------------------------------------------ submit */

typedef struct {
    int accepted, duplicates, rejected, total_hint;
    json_t *errors, *results;
} submit_sum_t;

static void
progress(const app_t *app, const submit_sum_t *s, int done, long long bytes, long long total)
{
    int width = 30, filled, i;
    char bar[64];

    (void)app;
    filled = total > 0 ? (int)(bytes * width / total) : 0;
    if (filled > width)
        filled = width;
    for (i = 0; i < width; i++)
        bar[i] = i < filled ? '#' : '.';
    bar[width] = '\0';
    fprintf(stderr, "\r[%s] %d sent: %d accepted, %d duplicates, %d rejected", bar, done, s->accepted,
            s->duplicates, s->rejected);
}

static void
submit_one(app_t *app, const char *doc, size_t len, int lineno, submit_sum_t *s)
{
    cli_resp_t r;
    json_t *ans;

    cli_call(app->client, "POST", "/v1/dossiers", doc, len, &r);
    ans = json_loadb(r.body.data ? r.body.data : "", r.body.len, 0, NULL);
    if (r.status == 201 || r.status == 200) {
        json_t *ship = json_array_get(json_object_get(ans, "shipments"), 0);
        json_t *res = json_pack("{s:i, s:s, s:s, s:s}", "line", lineno, "outcome",
                                r.status == 201 ? "accepted" : "duplicate", "dossier_code", jstr(ans, "dossier_code"),
                                "waybill", jstr(ship, "waybill"));
        if (r.status == 201)
            s->accepted++;
        else
            s->duplicates++;
        json_array_append_new(s->results, res);
    } else {
        json_t *e = json_object_get(ans, "error");
        json_t *err = json_pack("{s:i, s:I, s:s, s:s, s:s}", "line", lineno, "status", (json_int_t)r.status, "code",
                                r.status ? jstr(e, "code") : "unreachable", "field", jstr(e, "field"), "message",
                                r.status ? jstr(e, "message") : r.err);
        s->rejected++;
        json_array_append_new(s->errors, err);
    }
    json_decref(ans);
    cli_resp_free(&r);
}

static int
cmd_submit(app_t *app, args_t *a)
{
    submit_sum_t s = { 0, 0, 0, 0, json_array(), json_array() };
    const char *file;
    FILE *f;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int lineno = 0, rc = EXIT_OK, tty = isatty(STDERR_FILENO) && !app->json, sent = 0;
    long long total = 0, done_bytes = 0;
    struct stat sb;
    buf_t whole;
    size_t i;
    json_t *e;

    buf_init(&whole, (size_t)64 * 1024 * 1024);
    if ((rc = rest(a, 1, 1)) != 0)
        goto out;
    file = a->v[0];
    f = strcmp(file, "-") == 0 ? stdin : fopen(file, "r");
    if (!f) {
        fprintf(stderr, "bcci: cannot read %s: %s\n", file, strerror(errno));
        rc = EXIT_IO;
        goto out;
    }
    if (fstat(fileno(f), &sb) == 0 && S_ISREG(sb.st_mode))
        total = sb.st_size;
    /* JSON Lines when the first non-blank line is a JSON document by itself; otherwise the
     * whole input is one (pretty-printed) document */
    while ((n = getline(&line, &cap, f)) > 0) {
        char *p = line;
        json_t *probe;

        lineno++;
        done_bytes += n;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p)
            continue;
        if (sent == 0 && whole.len == 0) {
            probe = json_loads(p, 0, NULL);
            if (!probe) {
                /* not a line of its own: collect the whole document */
                buf_append(&whole, line, (size_t)n);
                buf_append(&whole, "\n", 1);
                continue;
            }
            json_decref(probe);
        }
        if (whole.len > 0) {
            if (buf_append(&whole, line, (size_t)n) != BUF_OK || buf_append(&whole, "\n", 1) != BUF_OK) {
                fprintf(stderr, "bcci: %s is larger than 64 MiB; send JSON Lines instead\n", file);
                rc = EXIT_USAGE;
                break;
            }
            continue;
        }
        submit_one(app, p, strlen(p), lineno, &s);
        sent++;
        if (tty)
            progress(app, &s, sent, done_bytes, total);
    }
    if (f != stdin)
        fclose(f);
    if (rc != EXIT_OK)
        goto out;
    if (whole.len > 0) {
        submit_one(app, whole.data, whole.len, 1, &s);
        sent++;
    }
    if (tty && sent > 1)
        fputc('\n', stderr);
    if (sent == 0) {
        fprintf(stderr, "bcci: %s holds no dossier\n", file);
        rc = EXIT_USAGE;
        goto out;
    }
    if (app->json) {
        json_t *doc = json_pack("{s:i, s:i, s:i, s:O, s:O}", "accepted", s.accepted, "duplicates", s.duplicates,
                                "rejected", s.rejected, "results", s.results, "errors", s.errors);
        print_json(doc);
        json_decref(doc);
    } else {
        json_array_foreach(s.errors, i, e) {
            long long st = json_integer_value(json_object_get(e, "status"));
            if (st)
                fprintf(stderr, "bcci: line %d: %lld %s%s%s: %s\n", (int)json_integer_value(json_object_get(e, "line")),
                        st, jstr(e, "code"), *jstr(e, "field") ? " " : "", jstr(e, "field"), jstr(e, "message"));
            else
                fprintf(stderr, "bcci: line %d: %s\n", (int)json_integer_value(json_object_get(e, "line")),
                        jstr(e, "message"));
        }
        if (sent == 1 && json_array_size(s.results) == 1) {
            json_t *r0 = json_array_get(s.results, 0);
            printf("%s%s%s %s waybill %s\n", C(app, BOLD), jstr(r0, "dossier_code"), C(app, RESET),
                   jstr(r0, "outcome"), jstr(r0, "waybill"));
        }
        fprintf(stderr, "bcci: %d accepted, %d duplicates, %d rejected\n", s.accepted, s.duplicates, s.rejected);
        if (s.duplicates == sent)
            fprintf(stderr, "bcci: every dossier was already accepted with the same content: nothing changed\n");
    }
    /* a duplicate is an identical replay (200): that dossier is in the gateway as sent, so a
     * file re-submitted after a lost answer succeeds as long as nothing was rejected */
    if (s.rejected > 0) {
        json_t *e0 = json_array_get(s.errors, 0);
        rc = s.rejected && json_integer_value(json_object_get(e0, "status")) == 0 && s.rejected == sent ? EXIT_IO
                                                                                                       : EXIT_REFUSED;
    }
out:
    free(line);
    buf_free(&whole);
    json_decref(s.errors);
    json_decref(s.results);
    return rc;
}

/* ------------------------------------------------------------ status */

static const char *
status_color(const app_t *app, const char *status)
{
    if (!app->color)
        return "";
    if (strcmp(status, "delivered") == 0)
        return GREEN;
    if (strcmp(status, "delivery_failed") == 0 || strcmp(status, "exception") == 0 ||
        strcmp(status, "cancelled") == 0 || strcmp(status, "returned") == 0 || strcmp(status, "returning") == 0 ||
        strstr(status, "sla") != NULL)
        return RED;
    return YELLOW;
}

/* looks_like_waybill - two letters, nine digits, two letters: the S10 shape, check digit aside */
static int
looks_like_waybill(const char *s)
{
    int i;

    if (strlen(s) != 13)
        return 0;
    for (i = 0; i < 13; i++) {
        int letter = i < 2 || i > 10;
        if (letter ? !isalpha((unsigned char)s[i]) : !isdigit((unsigned char)s[i]))
            return 0;
    }
    return 1;
}

/* check_waybill_shape - a key shaped like a waybill whose check digit is wrong is a typo: say
 * so rather than look it up as a dossier code and answer "no dossier" */
static int
check_waybill_shape(const char *key)
{
    s10_status_t st;

    if (!looks_like_waybill(key))
        return 0;
    st = s10_validate(key, 13);
    if (st == S10_OK)
        return 0;
    fprintf(stderr, "bcci: %s is not a valid waybill: %s; check the number on the label\n", key,
            s10_status_message(st));
    return EXIT_USAGE;
}

/* local_time - "2025-11-24T08:15:00+07:00" → "24/11/2025 08:15" (the clerks' format); else s */
static const char *
local_time(const char *s, char *out, size_t outlen)
{
    int y, mo, d, h, mi;

    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d", &y, &mo, &d, &h, &mi) == 5)
        snprintf(out, outlen, "%02d/%02d/%04d %02d:%02d", d, mo, y, h, mi);
    else
        snprintf(out, outlen, "%s", s);
    return out;
}

static int
cmd_status(app_t *app, args_t *a)
{
    const char *key;
    char path[1200], code[256], t[40];
    json_t *ship = NULL, *dossier = NULL, *timeline = NULL, *x;
    int rc;
    size_t i;

    if ((rc = rest(a, 1, 1)) != 0)
        return rc;
    key = a->v[0];
    if ((rc = check_waybill_shape(key)) != 0)
        return rc;
    snprintf(code, sizeof code, "%s", key);
    if (strlen(key) == 13 && s10_validate(key, 13) == S10_OK) {
        snprintf(path, sizeof path, "/v1/shipments/%s", seg(key));
        if ((rc = call_json(app, "GET", path, NULL, &ship)) != 0)
            goto out;
        snprintf(code, sizeof code, "%s", jstr(ship, "dossier_code"));
    }
    snprintf(path, sizeof path, "/v1/dossiers/%s", seg(code));
    if ((rc = call_json(app, "GET", path, NULL, &dossier)) != 0)
        goto out;
    snprintf(path, sizeof path, "/v1/dossiers/%s/timeline", seg(code));
    if ((rc = call_json(app, "GET", path, NULL, &timeline)) != 0)
        goto out;
    if (app->json) {
        json_t *doc = json_pack("{s:O, s:O}", "dossier", dossier, "timeline", timeline);
        if (ship)
            json_object_set(doc, "shipment", ship);
        print_json(doc);
        json_decref(doc);
        goto out;
    }
    printf("%sHồ sơ %s%s  agency %s  status %s%s%s\n", C(app, BOLD), jstr(dossier, "dossier_code"), C(app, RESET),
           jstr(dossier, "agency_code"), status_color(app, jstr(dossier, "status")), jstr(dossier, "status"),
           C(app, RESET));
    json_array_foreach(json_object_get(dossier, "shipments"), i, x) {
        printf("  %s%s%s  %-6s %-8s %s%s%s  %s\n", C(app, CYAN), jstr(x, "waybill"), C(app, RESET), jstr(x, "leg"),
               jstr(x, "carrier"), status_color(app, jstr(x, "status")), jstr(x, "status"), C(app, RESET),
               jstr(x, "status_text"));
    }
    printf("\n");
    json_array_foreach(json_object_get(timeline, "events"), i, x) {
        const char *st = jstr(x, "status");
        printf("%s%s%s  %s%-18s%s %s %s(%s%s%s)%s\n", C(app, DIM), local_time(jstr(x, "time"), t, sizeof t),
               C(app, RESET), status_color(app, st), *st ? st : "-", C(app, RESET), jstr(x, "text"), C(app, DIM),
               jstr(x, "source"), *jstr(x, "raw_code") ? " " : "", jstr(x, "raw_code"), C(app, RESET));
    }
    if (!json_is_true(json_object_get(timeline, "chain_valid")))
        printf("%sthe timeline's hash chain does not verify: %s%s\n", C(app, RED), jstr(timeline, "chain_error"),
               C(app, RESET));
out:
    json_decref(ship);
    json_decref(dossier);
    json_decref(timeline);
    return rc;
}

/* ------------------------------------------------------------ labels, manifests, scans */

static int
check_format(args_t *a, const char *fmt, const char *allowed)
{
    char list[64];
    const char *p;
    size_t fl = strlen(fmt);

    snprintf(list, sizeof list, "%s", allowed);
    for (p = allowed; *p;) {
        size_t l = strcspn(p, "|");
        if (l == fl && strncmp(p, fmt, l) == 0)
            return 0;
        p += l;
        if (*p)
            p++;
    }
    return usage_error(a, "--format must be one of %s", list);
}

static int
cmd_label(app_t *app, args_t *a)
{
    const char *fmt = "pdf", *size = NULL, *dpi = NULL, *out = NULL;
    char path[1200], def[64];
    long long d;
    int rc;

    if (take_opt(a, "--format", NULL, &fmt) < 0 || take_opt(a, "--size", NULL, &size) < 0 ||
        take_opt(a, "--dpi", NULL, &dpi) < 0 || take_opt(a, "--output", "-o", &out) < 0)
        return usage_error(a, "an option needs a value");
    if ((rc = rest(a, 1, 1)) != 0)
        return rc;
    if ((rc = check_format(a, fmt, "pdf|png|svg|zpl|zpl-font")) != 0)
        return rc;
    if (size && strcmp(size, "a6") && strcmp(size, "100x150"))
        return usage_error(a, "--size must be a6 or 100x150");
    if (dpi && !parse_ll(dpi, 72, 1200, &d))
        return usage_error(a, "--dpi must be a number between 72 and 1200");
    if (!out) {
        /* both ZPL flavours are .zpl files */
        snprintf(def, sizeof def, "%.20s.%.3s", a->v[0], fmt);
        out = def;
    }
    snprintf(path, sizeof path, "/v1/shipments/%s/label?format=%s%s%s%s%s", seg(a->v[0]), fmt, size ? "&size=" : "",
             size ? seg(size) : "", dpi ? "&dpi=" : "", dpi ? dpi : "");
    return call_file(app, "GET", path, NULL, out);
}

static int
cmd_labels(app_t *app, args_t *a)
{
    const char *fmt = "pdf", *out = NULL, *agency = NULL, *size = NULL, *dpi = NULL;
    int ready, rc, i;
    long long d = 0;
    json_t *body;

    if (take_opt(a, "--format", NULL, &fmt) < 0 || take_opt(a, "--output", "-o", &out) < 0 ||
        take_opt(a, "--agency", NULL, &agency) < 0 || take_opt(a, "--size", NULL, &size) < 0 ||
        take_opt(a, "--dpi", NULL, &dpi) < 0)
        return usage_error(a, "an option needs a value");
    ready = take_flag(a, "--ready");
    if ((rc = rest(a, ready ? 0 : 1, ready ? 0 : -1)) != 0)
        return rc;
    if ((rc = check_format(a, fmt, "pdf|zpl|zpl-font")) != 0)
        return rc;
    if (!out)
        return usage_error(a, "give the output file with -o FILE");
    if (agency && !ready)
        return usage_error(a, "--agency only goes with --ready");
    if (size && strcmp(size, "a6") && strcmp(size, "100x150"))
        return usage_error(a, "--size must be a6 or 100x150");
    if (dpi && !parse_ll(dpi, 72, 1200, &d))
        return usage_error(a, "--dpi must be a number between 72 and 1200");
    body = json_pack("{s:s}", "format", fmt);
    if (size)
        json_object_set_new(body, "size", json_string(size));
    if (dpi)
        json_object_set_new(body, "dpi", json_integer(d));
    if (ready) {
        json_object_set_new(body, "ready", json_true());
        if (agency)
            json_object_set_new(body, "agency_code", json_string(agency));
    } else {
        json_t *w = json_array();
        for (i = 0; i < a->n; i++)
            json_array_append_new(w, json_string(a->v[i]));
        json_object_set_new(body, "waybills", w);
    }
    rc = call_file(app, "POST", "/v1/labels", body, out);
    json_decref(body);
    return rc;
}

static int
cmd_manifest_create(app_t *app, args_t *a)
{
    const char *agency = NULL;
    int all, rc, i;
    json_t *body, *doc;

    if (take_opt(a, "--agency", NULL, &agency) < 0)
        return usage_error(a, "--agency needs a value");
    all = take_flag(a, "--all-ready");
    if ((rc = rest(a, all ? 0 : 1, all ? 0 : -1)) != 0)
        return rc;
    if (all && !agency)
        return usage_error(a, "--all-ready needs the agency: --agency CODE");
    body = json_object();
    if (agency)
        json_object_set_new(body, "agency_code", json_string(agency));
    if (all) {
        json_object_set_new(body, "all_ready", json_true());
    } else {
        json_t *w = json_array();
        for (i = 0; i < a->n; i++)
            json_array_append_new(w, json_string(a->v[i]));
        json_object_set_new(body, "waybills", w);
    }
    rc = call_json(app, "POST", "/v1/manifests", body, &doc);
    json_decref(body);
    if (rc == EXIT_OK) {
        if (app->json)
            print_json(doc);
        else
            printf("manifest %s (%lld items); bcci manifest pdf %s -o FILE prints it\n", jstr(doc, "id"),
                   (long long)json_integer_value(json_object_get(doc, "items")), jstr(doc, "id"));
    }
    json_decref(doc);
    return rc;
}

static int
cmd_manifest_pdf(app_t *app, args_t *a)
{
    const char *out = NULL;
    char path[1200], def[128];
    int rc;

    if (take_opt(a, "--output", "-o", &out) < 0)
        return usage_error(a, "-o needs a value");
    if ((rc = rest(a, 1, 1)) != 0)
        return rc;
    if (!out) {
        snprintf(def, sizeof def, "manifest-%.60s.pdf", a->v[0]);
        out = def;
    }
    snprintf(path, sizeof path, "/v1/manifests/%s.pdf", seg(a->v[0]));
    return call_file(app, "GET", path, NULL, out);
}

/* receipt - the agency's officer receives send-leg items at the desk (POST /v1/receipts) */
static int
cmd_receipt(app_t *app, args_t *a)
{
    const char *officer = NULL;
    json_t *body, *doc, *w;
    int rc, i;

    if (take_opt(a, "--officer", NULL, &officer) < 0)
        return usage_error(a, "--officer needs a value: the receiving officer's full name");
    if ((rc = rest(a, 1, -1)) != 0)
        return rc;
    if (!officer || !*officer)
        return usage_error(a, "--officer NAME is required: the officer receiving the items at the desk");
    w = json_array();
    for (i = 0; w && i < a->n; i++)
        json_array_append_new(w, json_string(a->v[i]));
    body = w ? json_pack("{s:o, s:s}", "waybills", w, "officer", officer) : NULL;
    if (!body) {
        fprintf(stderr, "bcci %s: out of memory\n", a->cmd);
        return EXIT_IO;
    }
    rc = call_json(app, "POST", "/v1/receipts", body, &doc);
    json_decref(body);
    if (rc == EXIT_OK) {
        if (app->json)
            print_json(doc);
        else
            printf("receipt %s (%lld items, received at %s); bcci receipt pdf %s -o FILE prints it\n", jstr(doc, "id"),
                   (long long)json_integer_value(json_object_get(doc, "items")), jstr(doc, "received_at"),
                   jstr(doc, "id"));
    }
    json_decref(doc);
    return rc;
}

static int
cmd_receipt_pdf(app_t *app, args_t *a)
{
    const char *out = NULL;
    char path[1200], def[128];
    int rc;

    if (take_opt(a, "--output", "-o", &out) < 0)
        return usage_error(a, "-o needs a value");
    if ((rc = rest(a, 1, 1)) != 0)
        return rc;
    if (!out) {
        snprintf(def, sizeof def, "receipt-%.60s.pdf", a->v[0]);
        out = def;
    }
    snprintf(path, sizeof path, "/v1/receipts/%s.pdf", seg(a->v[0]));
    return call_file(app, "GET", path, NULL, out);
}

/* the events POST /v1/scans takes (gateway/http/api_labels.c); later ones come from the carrier */
#define SCAN_EVENTS "accepted"

static int
cmd_scan(app_t *app, args_t *a)
{
    const char *event = "accepted";
    json_t *body, *doc;
    int rc;

    if (take_opt(a, "--event", NULL, &event) < 0)
        return usage_error(a, "--event needs a value (" SCAN_EVENTS ")");
    if ((rc = rest(a, 1, 1)) != 0)
        return rc;
    if (strcmp(event, "accepted") != 0)
        return usage_error(a, "--event must be " SCAN_EVENTS " (the post office took the item); later events "
                              "come from the carrier");
    body = json_pack("{s:s, s:s}", "code", a->v[0], "event", event);
    rc = call_json(app, "POST", "/v1/scans", body, &doc);
    json_decref(body);
    if (rc != EXIT_OK)
        return rc;
    if (app->json)
        print_json(doc);
    else if (*jstr(doc, "manifest"))
        printf("manifest %s: %lld of %lld items %s\n", jstr(doc, "manifest"),
               (long long)json_integer_value(json_object_get(doc, "accepted")),
               (long long)json_integer_value(json_object_get(doc, "items")), jstr(doc, "state"));
    else
        printf("%s: %s%s\n", jstr(doc, "waybill"), jstr(doc, "status"),
               json_integer_value(json_object_get(doc, "accepted")) ? "" : " (already recorded)");
    json_decref(doc);
    return EXIT_OK;
}

static int
cmd_cancel(app_t *app, args_t *a)
{
    const char *reason = NULL;
    char path[1200];
    json_t *body;
    int rc;

    if (take_opt(a, "--reason", NULL, &reason) < 0)
        return usage_error(a, "--reason needs a value");
    if ((rc = rest(a, 1, 1)) != 0)
        return rc;
    body = reason ? json_pack("{s:s}", "reason", reason) : json_object();
    snprintf(path, sizeof path, "/v1/shipments/%s/cancel", seg(a->v[0]));
    rc = call_print(app, "POST", path, body);
    json_decref(body);
    return rc;
}

/* ------------------------------------------------------------ codes, jobs, tokens */

static int
cmd_codes_import(app_t *app, args_t *a)
{
    const char *country = "VN";
    long long from, count;
    json_t *body;
    int rc;

    if (take_opt(a, "--country", NULL, &country) < 0)
        return usage_error(a, "--country needs a value");
    if ((rc = rest(a, 3, 3)) != 0)
        return rc;
    if (!parse_ll(a->v[1], 0, 99999999, &from))
        return usage_error(a, "FROM must be an 8-digit serial between 0 and 99999999 (got '%s')", a->v[1]);
    if (!parse_ll(a->v[2], 1, 100000000, &count))
        return usage_error(a, "COUNT must be a positive number (got '%s')", a->v[2]);
    body = json_pack("{s:s, s:s, s:I, s:I}", "prefix", a->v[0], "country", country, "from", (json_int_t)from,
                     "count", (json_int_t)count);
    rc = call_print(app, "POST", "/v1/codes", body);
    json_decref(body);
    return rc;
}

static int
cmd_codes_status(app_t *app, args_t *a)
{
    json_t *doc, *r;
    size_t i;
    long long left;
    int rc;

    if ((rc = rest(a, 0, 0)) != 0)
        return rc;
    if ((rc = call_json(app, "GET", "/v1/codes", NULL, &doc)) != 0)
        return rc;
    left = json_integer_value(json_object_get(doc, "left"));
    if (app->json) {
        print_json(doc);
    } else {
        printf("%lld numbers left\n", left);
        json_array_foreach(json_object_get(doc, "ranges"), i, r) {
            printf("  %s%08lld…%08lld%s  %lld left\n", jstr(r, "prefix"),
                   (long long)json_integer_value(json_object_get(r, "first")),
                   (long long)json_integer_value(json_object_get(r, "last")), jstr(r, "country"),
                   (long long)json_integer_value(json_object_get(r, "left")));
        }
    }
    if (left < 1000)
        fprintf(stderr, "bcci: warning: only %lld S10 numbers left; ask the carrier for a new range and run "
                        "bcci codes import PREFIX FROM COUNT\n",
                left);
    json_decref(doc);
    return EXIT_OK;
}

static int
print_jobs(app_t *app, const char *path)
{
    json_t *doc, *j, *v;
    const char *k;
    size_t i;
    int rc = call_json(app, "GET", path, NULL, &doc);

    if (rc != 0)
        return rc;
    if (app->json) {
        print_json(doc);
    } else {
        printf("%-8s %-8s %-8s %-8s %-4s %s\n", "ID", "KIND", "STATE", "CARRIER", "TRY", "LAST ERROR");
        json_array_foreach(json_object_get(doc, "jobs"), i, j) {
            printf("%-8lld %-8s %-8s %-8s %-4lld %s\n", (long long)json_integer_value(json_object_get(j, "id")),
                   jstr(j, "kind"), jstr(j, "state"), jstr(j, "carrier"),
                   (long long)json_integer_value(json_object_get(j, "attempts")), jstr(j, "last_error"));
        }
        json_object_foreach(json_object_get(doc, "counts"), k, v) {
            const char *st;
            json_t *nv;
            printf("%s:", k);
            json_object_foreach(v, st, nv) printf(" %s=%lld", st, (long long)json_integer_value(nv));
            printf("\n");
        }
    }
    json_decref(doc);
    return EXIT_OK;
}

/* cmd_list - the clerk page's search (GET /v1/shipments): one line per shipment, then the page */
static int
cmd_list(app_t *app, args_t *a)
{
    static const char *const opts[] = { "q", "status", "service", "carrier", "agency", "from", "to", "sort",
                                        "page", "per_page" };
    const char *val[sizeof opts / sizeof opts[0]] = { NULL };
    char path[2048], flag[32];
    size_t i, n = 0;
    json_t *doc, *row;
    int rc;

    for (i = 0; i < sizeof opts / sizeof opts[0]; i++) {
        snprintf(flag, sizeof flag, "--%s", opts[i]);
        if (take_opt(a, flag, NULL, &val[i]) < 0)
            return usage_error(a, "an option needs a value");
    }
    if ((rc = rest(a, 0, 1)) != 0)
        return rc;
    if (a->n > 0 && !val[0])
        val[0] = a->v[0]; /* bcci list TEXT: the search text itself */
    n = (size_t)snprintf(path, sizeof path, "/v1/shipments");
    for (i = 0; i < sizeof opts / sizeof opts[0] && n < sizeof path; i++)
        if (val[i])
            n += (size_t)snprintf(path + n, sizeof path - n, "%c%s=%s", strchr(path, '?') ? '&' : '?', opts[i],
                                  seg(val[i]));
    if (n >= sizeof path)
        return usage_error(a, "the search is too long");
    if ((rc = call_json(app, "GET", path, NULL, &doc)) != 0)
        return rc;
    if (app->json) {
        print_json(doc);
    } else {
        printf("%-15s %-28s %-20s %-8s %s\n", "WAYBILL", "DOSSIER", "STATUS", "AGENCY", "RECIPIENT");
        json_array_foreach(json_object_get(doc, "shipments"), i, row)
            printf("%-15s %-28s %-20s %-8s %s\n", jstr(row, "waybill"), jstr(row, "dossier_code"), jstr(row, "status"),
                   jstr(row, "agency_code"), jstr(row, "recipient_name"));
        printf("trang %lld/%lld, %lld bưu gửi\n", (long long)json_integer_value(json_object_get(doc, "page")),
               (long long)json_integer_value(json_object_get(doc, "pages")),
               (long long)json_integer_value(json_object_get(doc, "total")));
    }
    json_decref(doc);
    return EXIT_OK;
}

static int
cmd_jobs_list(app_t *app, args_t *a)
{
    const char *state = NULL;
    char path[256];
    int rc;

    if (take_opt(a, "--state", NULL, &state) < 0)
        return usage_error(a, "--state needs a value");
    if ((rc = rest(a, 0, 0)) != 0)
        return rc;
    snprintf(path, sizeof path, "/v1/jobs%s%s", state ? "?state=" : "", state ? seg(state) : "");
    return print_jobs(app, path);
}

static int
cmd_jobs_dead(app_t *app, args_t *a)
{
    int rc = rest(a, 0, 0);

    return rc ? rc : print_jobs(app, "/v1/jobs?state=dead");
}

static int
cmd_jobs_retry(app_t *app, args_t *a)
{
    long long id;
    char path[64];
    int rc, all;
    json_t *body;
    const char *kind = NULL, *carrier = NULL, *since = NULL;

    all = take_flag(a, "--all");
    if (take_opt(a, "--kind", NULL, &kind) < 0 || take_opt(a, "--carrier", NULL, &carrier) < 0 ||
        take_opt(a, "--since", NULL, &since) < 0)
        return usage_error(a, "an option needs a value");
    if (all) {
        /* every dead job, or those of a kind, a carrier, dead since a time: the server counts them */
        if ((rc = rest(a, 0, 0)) != 0)
            return rc;
        body = json_object();
        if (!body || (kind && json_object_set_new(body, "kind", json_string(kind)) != 0) ||
            (carrier && json_object_set_new(body, "carrier", json_string(carrier)) != 0) ||
            (since && json_object_set_new(body, "since", json_string(since)) != 0)) {
            json_decref(body);
            fprintf(stderr, "bcci: out of memory\n");
            return 1;
        }
        rc = call_print(app, "POST", "/v1/jobs/retry", body);
        json_decref(body);
        return rc;
    }
    if (kind || carrier || since)
        return usage_error(a, "--kind, --carrier and --since go with --all (bcci jobs retry --all --kind notify)");
    if ((rc = rest(a, 1, 1)) != 0)
        return rc;
    if (!parse_ll(a->v[0], 1, (long long)1 << 62, &id))
        return usage_error(a, "ID must be a positive job number (see bcci jobs dead), or use --all");
    snprintf(path, sizeof path, "/v1/jobs/%lld/retry", id);
    body = json_object();
    rc = call_print(app, "POST", path, body);
    json_decref(body);
    return rc;
}

static int
cmd_token_create(app_t *app, args_t *a)
{
    const char *name = NULL, *role = NULL, *agency = NULL;
    json_t *body, *doc;
    int rc;

    if (take_opt(a, "--name", NULL, &name) < 0 || take_opt(a, "--role", NULL, &role) < 0 ||
        take_opt(a, "--agency", NULL, &agency) < 0)
        return usage_error(a, "an option needs a value");
    if ((rc = rest(a, 0, 0)) != 0)
        return rc;
    if (!name || !role)
        return usage_error(a, "give --name NAME and --role case_system|clerk|post_office|carrier|admin");
    body = json_pack("{s:s, s:s}", "name", name, "role", role);
    if (agency)
        json_object_set_new(body, "agency_code", json_string(agency));
    rc = call_json(app, "POST", "/v1/tokens", body, &doc);
    json_decref(body);
    if (rc != 0)
        return rc;
    if (app->json) {
        print_json(doc);
    } else {
        printf("%s\n", jstr(doc, "token"));
        fprintf(stderr, "bcci: token for %s (%s%s%s) created; it is shown only now, store it safely\n",
                jstr(doc, "name"), jstr(doc, "role"), agency ? ", agency " : "", agency ? agency : "");
    }
    json_decref(doc);
    return EXIT_OK;
}

static int
cmd_token_list(app_t *app, args_t *a)
{
    json_t *doc, *t;
    size_t i;
    int rc;

    if ((rc = rest(a, 0, 0)) != 0)
        return rc;
    if ((rc = call_json(app, "GET", "/v1/tokens", NULL, &doc)) != 0)
        return rc;
    if (app->json) {
        print_json(doc);
    } else {
        printf("%-32s %-12s %-8s %s\n", "NAME", "ROLE", "STATE", "AGENCY");
        json_array_foreach(json_object_get(doc, "tokens"), i, t)
            printf("%-32s %-12s %-8s %s\n", jstr(t, "name"), jstr(t, "role"),
                   json_is_true(json_object_get(t, "revoked")) ? "revoked" : "active",
                   json_string_value(json_object_get(t, "agency_code")) ? jstr(t, "agency_code") : "(every agency)");
    }
    json_decref(doc);
    return EXIT_OK;
}

static int
cmd_token_revoke(app_t *app, args_t *a)
{
    char path[600];
    json_t *body, *doc;
    int rc;

    if ((rc = rest(a, 1, 1)) != 0)
        return rc;
    snprintf(path, sizeof path, "/v1/tokens/%s/revoke", seg(a->v[0]));
    body = json_object();
    rc = call_json(app, "POST", path, body, &doc);
    json_decref(body);
    if (rc != EXIT_OK)
        return rc;
    if (app->json)
        print_json(doc);
    else
        printf("token %s revoked: its holder is refused from the next request on\n", jstr(doc, "name"));
    json_decref(doc);
    return EXIT_OK;
}

/* ------------------------------------------------------------ local: keys, backup */

static int
cmd_keys_gen(app_t *app, args_t *a)
{
    char pub[41], sec[41];
    int rc;

    if ((rc = rest(a, 0, 0)) != 0)
        return rc;
    if (zmq_curve_keypair(pub, sec) != 0) {
        fprintf(stderr, "bcci: cannot make a CURVE key pair: %s (libzmq built without CURVE?)\n",
                zmq_strerror(zmq_errno()));
        return EXIT_IO;
    }
    if (app->json) {
        json_t *doc = json_pack("{s:s, s:s}", "public", pub, "secret", sec);
        print_json(doc);
        json_decref(doc);
    } else {
        printf("public = %s\nsecret = %s\n", pub, sec);
    }
    explicit_bzero(sec, sizeof sec);
    return EXIT_OK;
}

static int
cmd_backup(app_t *app, args_t *a)
{
    const char *dbpath = NULL;
    char err[512];
    long long pages;
    int rc;

    if (take_opt(a, "--db", NULL, &dbpath) < 0)
        return usage_error(a, "--db needs a value");
    if ((rc = rest(a, 1, 1)) != 0)
        return rc;
    if (!dbpath)
        return usage_error(a, "give the live database with --db STATE_DIR/bcci.db");
    if (cli_backup(dbpath, a->v[0], &pages, err, sizeof err) != 0) {
        fprintf(stderr, "bcci: %s\n", err);
        return EXIT_IO;
    }
    if (app->json) {
        json_t *doc = json_pack("{s:s, s:s, s:I}", "database", dbpath, "backup", a->v[0], "pages", (json_int_t)pages);
        print_json(doc);
        json_decref(doc);
    } else {
        fprintf(stderr, "bcci: backup of %s written to %s (%lld pages)\n", dbpath, a->v[0], pages);
    }
    return EXIT_OK;
}

static int
cmd_store_copy(app_t *app, args_t *a)
{
    const char *secret = NULL;
    store_copy_report_t rep;
    char err[1024];
    int rc, i;

    if (take_opt(a, "--secret", NULL, &secret) < 0)
        return usage_error(a, "--secret needs a value");
    if ((rc = rest(a, 2, 2)) != 0)
        return rc;
    rc = cli_store_copy(a->v[0], a->v[1], secret, &rep, err, sizeof err);
    if (rc != 0) {
        fprintf(stderr, "bcci: %s\n", err);
        return rc == 1 ? EXIT_REFUSED : EXIT_IO;
    }
    if (app->json) {
        json_t *tables = json_object();
        json_t *doc = json_pack("{s:s, s:s, s:o, s:I}", "from", a->v[0], "to", a->v[1], "tables", tables,
                                "chains_verified", (json_int_t)rep.chains);

        for (i = 0; i < rep.ntables; i++)
            json_object_set_new(tables, rep.tables[i].name, json_integer(rep.tables[i].rows));
        print_json(doc);
        json_decref(doc);
    } else {
        for (i = 0; i < rep.ntables; i++)
            printf("%-16s %lld\n", rep.tables[i].name, rep.tables[i].rows);
        fprintf(stderr, "bcci: copied %s into %s: every table counts the same on both sides, %lld timeline "
                        "chain(s) verified\n",
                a->v[0], a->v[1], rep.chains);
    }
    return EXIT_OK;
}

/* ------------------------------------------------------------ reports, purge, routes, health */

/* csv_field - one CSV field (RFC 4180 quoting) */
static void
csv_field(FILE *f, const json_t *v)
{
    char num[64];
    const char *s = "";
    char *text = NULL;

    if (json_is_string(v))
        s = json_string_value(v);
    else if (json_is_integer(v)) {
        snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
        s = num;
    } else if (json_is_real(v)) {
        snprintf(num, sizeof num, "%.2f", json_real_value(v));
        s = num;
    } else if (json_is_boolean(v))
        s = json_is_true(v) ? "true" : "false";
    else if (v && !json_is_null(v))
        s = text = json_dumps(v, JSON_COMPACT);
    if (strpbrk(s, ",\"\r\n")) {
        fputc('"', f);
        for (; *s; s++) {
            if (*s == '"')
                fputc('"', f);
            fputc(*s, f);
        }
        fputc('"', f);
    } else {
        fputs(s, f);
    }
    free(text);
}

/* rows_of - the array of row objects in a report answer: the document itself, or its
 * "rows"/"items"/"shipments" member, or the rows of each element of "agencies" */
static json_t *
rows_of(json_t *doc)
{
    static const char *const keys[] = { "rows", "items", "shipments", "lines" };
    json_t *rows, *ag, *r;
    size_t i, j, k;

    if (json_is_array(doc))
        return json_incref(doc);
    for (k = 0; k < sizeof keys / sizeof keys[0]; k++)
        if (json_is_array(json_object_get(doc, keys[k])))
            return json_incref(json_object_get(doc, keys[k]));
    rows = json_array();
    json_array_foreach(json_object_get(doc, "agencies"), i, ag) {
        json_t *inner = rows_of(ag);
        json_array_foreach(inner, j, r) {
            json_t *copy = json_copy(r);
            if (!json_object_get(copy, "agency_code") && json_object_get(ag, "agency_code"))
                json_object_set(copy, "agency_code", json_object_get(ag, "agency_code"));
            json_array_append_new(rows, copy);
        }
        json_decref(inner);
    }
    return rows;
}

static const char *
row_agency(const json_t *row)
{
    const char *s = jstr(row, "agency_code");

    if (!*s)
        s = jstr(row, "agency");
    return *s ? s : "all";
}

/* safe_name - agency codes go into file names: keep letters, digits, '.', '-' */
static void
safe_name(const char *s, char *out, size_t outlen)
{
    size_t o = 0;

    for (; *s && o + 1 < outlen; s++)
        out[o++] = (isalnum((unsigned char)*s) || *s == '.' || *s == '-') ? *s : '_';
    out[o] = '\0';
}

static int
write_cod_csv(app_t *app, json_t *doc, const char *date, const char *dir)
{
    json_t *rows = rows_of(doc), *row, *cols = json_array(), *written = json_array();
    const char *k;
    json_t *v;
    size_t i, j;
    int rc = EXIT_OK;

    /* columns: every scalar key, in the order first seen */
    json_array_foreach(rows, i, row) {
        json_object_foreach(row, k, v) {
            int seen = 0;
            json_array_foreach(cols, j, v) seen |= strcmp(json_string_value(v), k) == 0;
            if (!seen)
                json_array_append_new(cols, json_string(k));
        }
    }
    json_array_foreach(rows, i, row) {
        const char *ag = row_agency(row);
        char name[300], path[1400];
        FILE *f;
        size_t r2;
        json_t *other, *col;
        int dup = 0;

        json_array_foreach(written, j, v) dup |= strcmp(json_string_value(v), ag) == 0;
        if (dup)
            continue;
        json_array_append_new(written, json_string(ag));
        safe_name(ag, name, sizeof name);
        snprintf(path, sizeof path, "%s/cod-%s-%s.csv", dir, date, name);
        f = fopen(path, "w");
        if (!f) {
            fprintf(stderr, "bcci: cannot write %s: %s\n", path, strerror(errno));
            rc = EXIT_IO;
            break;
        }
        json_array_foreach(cols, j, col) {
            if (j)
                fputc(',', f);
            csv_field(f, col);
        }
        fputs("\r\n", f);
        json_array_foreach(rows, r2, other) {
            if (strcmp(row_agency(other), ag) != 0)
                continue;
            json_array_foreach(cols, j, col) {
                if (j)
                    fputc(',', f);
                csv_field(f, json_object_get(other, json_string_value(col)));
            }
            fputs("\r\n", f);
        }
        if (fclose(f) != 0) {
            fprintf(stderr, "bcci: cannot write %s: %s\n", path, strerror(errno));
            rc = EXIT_IO;
            break;
        }
        if (!app->json)
            fprintf(stderr, "bcci: wrote %s\n", path);
    }
    if (rc == EXIT_OK && app->json) {
        json_t *out = json_pack("{s:s, s:O, s:o}", "date", date, "agencies", written, "report", json_incref(doc));
        print_json(out);
        json_decref(out);
    }
    if (rc == EXIT_OK && json_array_size(rows) == 0 && !app->json)
        fprintf(stderr, "bcci: no COD shipments on %s\n", date);
    json_decref(rows);
    json_decref(cols);
    json_decref(written);
    return rc;
}

/* mkdir_p - DIR and its missing parents (0755); 0, or -1 with errno */
static int
mkdir_p(const char *dir)
{
    char buf[600];
    size_t i, n = strlen(dir);

    if (n == 0 || n >= sizeof buf) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(buf, dir, n + 1);
    for (i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        buf[i] = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST)
            return -1;
        buf[i] = i < n ? '/' : '\0';
    }
    return 0;
}

/* the reconciliation flags as a clerk reads them */
static const char *
cod_flag_vi(const char *flag)
{
    if (strcmp(flag, "collected_mismatch") == 0)
        return "Số tiền thu khác số tiền phải thu";
    if (strcmp(flag, "not_remitted") == 0)
        return "Đã thu nhưng chưa chuyển trả";
    if (strcmp(flag, "remitted_mismatch") == 0)
        return "Số tiền chuyển trả khác số tiền đã thu";
    return flag;
}

/* cod_emit - one line of the reconciliation: to the CSV, and to the sheet (numbers as numbers) */
static void
cod_emit(FILE *f, lxw_worksheet *ws, lxw_row_t row, json_t *cols)
{
    json_t *v;
    size_t j;

    json_array_foreach(cols, j, v) {
        if (j)
            fputc(',', f);
        csv_field(f, v);
        if (json_is_integer(v))
            worksheet_write_number(ws, row, (lxw_col_t)j, (double)json_integer_value(v), NULL);
        else if (json_is_string(v) && *json_string_value(v))
            worksheet_write_string(ws, row, (lxw_col_t)j, json_string_value(v), NULL);
    }
    fputs("\r\n", f);
}

/* write_cod_range - one CSV (and the same as XLSX) of every day in [from, to]: the reconciled rows, then the statement lines
 * naming no shipment; headers and flags in Vietnamese for the agency's accountant */
static int
write_cod_range(app_t *app, const char *from, const char *to, const char *agency, const char *dir)
{
    struct tm tm = { 0 };
    time_t day, last;
    char file[700], xlsx[700];
    lxw_workbook *wb;
    lxw_worksheet *ws;
    json_t *head;
    FILE *f;
    int rc = EXIT_OK, n = 0;

    if (!strptime(from, "%Y-%m-%d", &tm))
        return EXIT_USAGE;
    day = timegm(&tm);
    memset(&tm, 0, sizeof tm);
    if (!strptime(to, "%Y-%m-%d", &tm))
        return EXIT_USAGE;
    last = timegm(&tm);
    if (last < day || last - day > 366 * 86400L) {
        fprintf(stderr, "bcci: --to must be on or after --from, at most 366 days later\n");
        return EXIT_USAGE;
    }
    if (mkdir_p(dir) != 0) {
        fprintf(stderr, "bcci: cannot create %s: %s\n", dir, strerror(errno));
        return EXIT_IO;
    }
    snprintf(file, sizeof file, "%s/cod-%s-%s.csv", dir, from, to);
    snprintf(xlsx, sizeof xlsx, "%s/cod-%s-%s.xlsx", dir, from, to);
    if (!(f = fopen(file, "w"))) {
        fprintf(stderr, "bcci: cannot write %s: %s\n", file, strerror(errno));
        return EXIT_IO;
    }
    if (!(wb = workbook_new(xlsx)) || !(ws = workbook_add_worksheet(wb, "Đối soát COD"))) {
        fprintf(stderr, "bcci: cannot write %s\n", xlsx);
        workbook_close(wb);
        fclose(f);
        return EXIT_IO;
    }
    head = json_pack("[s, s, s, s, s, s, s, s, s, s, s]", "Ngày", "Mã cơ quan", "Mã hồ sơ", "Số hiệu bưu gửi",
                     "Loại", "Số tiền phải thu", "Số tiền đã thu", "Thời điểm thu", "Số tiền đã chuyển trả",
                     "Bảng kê", "Cảnh báo");
    cod_emit(f, ws, 0, head);
    json_decref(head);
    for (; rc == EXIT_OK && day <= last; day += 86400) {
        char date[16], path[600];
        json_t *doc = NULL, *row, *flag, *col;
        size_t i, j;

        strftime(date, sizeof date, "%Y-%m-%d", gmtime_r(&day, &tm));
        snprintf(path, sizeof path, "/v1/reports/cod?date=%s%s%s", date, agency ? "&agency=" : "",
                 agency ? seg(agency) : "");
        if ((rc = call_json(app, "GET", path, NULL, &doc)) != EXIT_OK)
            break;
        json_array_foreach(json_object_get(doc, "rows"), i, row) {
            char flags[400] = "";
            size_t used = 0;

            json_array_foreach(json_object_get(row, "flags"), j, flag)
                used += (size_t)snprintf(flags + used, used < sizeof flags ? sizeof flags - used : 0, "%s%s",
                                         j ? "; " : "", cod_flag_vi(json_string_value(flag)));
            col = json_pack("[s, s, s, s, s, O, O, s, O, s, s]", date, jstr(row, "agency_code"),
                            jstr(row, "dossier_code"), jstr(row, "waybill"),
                            strcmp(jstr(row, "kind"), "pickup_fee") == 0 ? "Phí thu khi nhận hồ sơ" : "Thu hộ (COD)",
                            json_object_get(row, "expected"), json_object_get(row, "collected"),
                            jstr(row, "collected_at"), json_object_get(row, "remitted"), "", flags);
            cod_emit(f, ws, (lxw_row_t)++n, col);
            json_decref(col);
        }
        json_array_foreach(json_object_get(doc, "remitted_unknown_waybills"), i, row) {
            col = json_pack("[s, s, s, s, s, s, s, s, O, s, s]", date, "", "", jstr(row, "waybill"), "", "", "", "",
                            json_object_get(row, "amount"), jstr(row, "statement_id"),
                            "Bưu gửi không có trong hệ thống");
            cod_emit(f, ws, (lxw_row_t)++n, col);
            json_decref(col);
        }
        json_decref(doc);
    }
    if (fclose(f) != 0 && rc == EXIT_OK) {
        fprintf(stderr, "bcci: cannot write %s: %s\n", file, strerror(errno));
        rc = EXIT_IO;
    }
    if (workbook_close(wb) != LXW_NO_ERROR && rc == EXIT_OK) {
        fprintf(stderr, "bcci: cannot write %s\n", xlsx);
        rc = EXIT_IO;
    }
    if (rc == EXIT_OK)
        fprintf(stderr, "bcci: wrote %s and %s (%d lines)\n", file, xlsx, n);
    return rc;
}

static int
cmd_report_cod(app_t *app, args_t *a)
{
    const char *date = NULL, *agency = NULL, *dir = ".", *from = NULL, *to = NULL, *out = NULL;
    char path[600];
    int y, m, d, rc;
    cli_resp_t r;
    json_t *doc;

    if (take_opt(a, "--date", NULL, &date) < 0 || take_opt(a, "--agency", NULL, &agency) < 0 ||
        take_opt(a, "--output", "-o", &dir) < 0 || take_opt(a, "--from", NULL, &from) < 0 ||
        take_opt(a, "--to", NULL, &to) < 0 || take_opt(a, "--out", NULL, &out) < 0)
        return usage_error(a, "an option needs a value");
    if ((rc = rest(a, 0, 0)) != 0)
        return rc;
    if (from || to || out) {
        if (!from || !to || !out || strlen(from) != 10 || strlen(to) != 10 ||
            (rc = write_cod_range(app, from, to, agency, out)) == EXIT_USAGE)
            return usage_error(a, "give --from YYYY-MM-DD --to YYYY-MM-DD --out DIR");
        return rc;
    }
    if (!date || strlen(date) != 10 || sscanf(date, "%4d-%2d-%2d", &y, &m, &d) != 3 || m < 1 || m > 12 || d < 1 ||
        d > 31)
        return usage_error(a, "give the day with --date YYYY-MM-DD");
    snprintf(path, sizeof path, "/v1/reports/cod?date=%s%s%s", date, agency ? "&agency=" : "",
             agency ? seg(agency) : "");
    cli_call(app->client, "GET", path, NULL, 0, &r);
    if (r.status < 200 || r.status >= 300) {
        rc = report_error("GET", "/v1/reports/cod", &r);
        cli_resp_free(&r);
        return rc;
    }
    if (strncmp(r.content_type, "text/csv", 8) == 0) {
        char file[700], name[300];
        safe_name(agency ? agency : "all", name, sizeof name);
        snprintf(file, sizeof file, "%s/cod-%s-%s.csv", dir, date, name);
        rc = write_file(file, r.body.data ? r.body.data : "", r.body.len);
        if (rc == EXIT_OK)
            fprintf(stderr, "bcci: wrote %s\n", file);
        cli_resp_free(&r);
        return rc;
    }
    doc = json_loadb(r.body.data ? r.body.data : "", r.body.len, 0, NULL);
    cli_resp_free(&r);
    if (!doc) {
        fprintf(stderr, "bcci: the COD report is neither CSV nor JSON\n");
        return EXIT_REFUSED;
    }
    rc = write_cod_csv(app, doc, date, dir);
    json_decref(doc);
    return rc;
}

static int
cmd_purge(app_t *app, args_t *a)
{
    const char *days = NULL;
    long long n;
    int dry, rc;
    json_t *body, *doc;

    if (take_opt(a, "--older-than", NULL, &days) < 0)
        return usage_error(a, "--older-than needs a number of days");
    dry = take_flag(a, "--dry-run");
    if ((rc = rest(a, 0, 0)) != 0)
        return rc;
    if (!days || !parse_ll(days, 1, 36500, &n))
        return usage_error(a, "give --older-than DAYS (a number of days, at least 1)");
    body = json_pack("{s:I, s:b}", "older_than_days", (json_int_t)n, "dry_run", dry);
    rc = call_json(app, "POST", "/v1/purge", body, &doc);
    json_decref(body);
    if (rc != EXIT_OK)
        return rc;
    if (app->json)
        print_json(doc);
    else
        printf("%lld finished dossier(s) older than %lld days %s\n",
               (long long)json_integer_value(json_object_get(doc, "dossiers")), n,
               dry ? "would lose their personal data (dry run: nothing changed)"
                   : "lost their personal data; their timelines are kept");
    json_decref(doc);
    return EXIT_OK;
}

static int
cmd_routes(app_t *app, args_t *a)
{
    json_t *doc, *r, *role;
    size_t i, j;
    int rc;

    if ((rc = rest(a, 0, 0)) != 0)
        return rc;
    if ((rc = call_json(app, "GET", "/v1/routes", NULL, &doc)) != 0)
        return rc;
    if (app->json) {
        print_json(doc);
    } else {
        json_array_foreach(json_object_get(doc, "routes"), i, r) {
            char roles[200] = "";
            size_t o = 0;
            json_array_foreach(json_object_get(r, "roles"), j, role)
                o += (size_t)snprintf(roles + o, o < sizeof roles ? sizeof roles - o : 0, "%s%s", j ? "," : "",
                                      json_string_value(role));
            printf("%-5s %-34s %-36s %s\n", jstr(r, "method"), jstr(r, "path"), roles, jstr(r, "summary"));
        }
    }
    json_decref(doc);
    return EXIT_OK;
}

/* cmd_timeline_verify - ask bccid to recompute the dossier's keyed chain and check it against the
 * sealed head (design §5); the key never leaves the server, so the verdict is the server's */
static int
cmd_timeline_verify(app_t *app, args_t *a)
{
    json_t *doc;
    char path[256];
    int rc, valid;

    if ((rc = rest(a, 1, 1)) != 0)
        return rc;
    snprintf(path, sizeof path, "/v1/dossiers/%s/timeline", seg(a->v[0]));
    if ((rc = call_json(app, "GET", path, NULL, &doc)) != 0)
        return rc;
    valid = json_is_true(json_object_get(doc, "chain_valid"));
    if (app->json) {
        json_t *out = json_pack("{s:s, s:b, s:I, s:s}", "dossier_code", a->v[0], "chain_valid", valid, "events",
                                (json_int_t)json_array_size(json_object_get(doc, "events")), "error",
                                valid ? "" : jstr(doc, "chain_error"));
        print_json(out);
        json_decref(out);
    } else if (valid)
        printf("%s: hash chain valid (%zu events)\n", a->v[0], json_array_size(json_object_get(doc, "events")));
    else
        fprintf(stderr, "bcci: %s: hash chain BROKEN: %s\n", a->v[0], jstr(doc, "chain_error"));
    json_decref(doc);
    return valid ? EXIT_OK : EXIT_REFUSED;
}

static long long
jint(const json_t *o, const char *key)
{
    return (long long)json_integer_value(json_object_get(o, key));
}

static int
cmd_health(app_t *app, args_t *a)
{
    json_t *doc;
    int rc = rest(a, 0, 0);

    if (rc != 0 || (rc = call_json(app, "GET", "/healthz", NULL, &doc)) != 0)
        return rc;
    if (app->json) {
        print_json(doc);
    } else {
        const char *st = jstr(doc, "status");
        printf("bccid at %s: %s%s%s\n", app->conf.url, strcmp(st, "ok") == 0 ? C(app, GREEN) : C(app, RED), st,
               C(app, RESET));
        printf("  dossiers        %lld\n", jint(doc, "dossiers"));
        printf("  jobs pending    %lld\n", jint(doc, "jobs_pending"));
        printf("  jobs dead       %lld%s\n", jint(doc, "jobs_dead"),
               jint(doc, "jobs_dead") ? "  (bcci jobs dead lists them)" : "");
        printf("  S10 numbers     %lld left%s\n", jint(doc, "codes_left"),
               jint(doc, "codes_left") < 1000 ? "  (import a range: bcci codes import)" : "");
        printf("  workers         %lld%s\n", jint(doc, "workers"),
               jint(doc, "workers") ? "" : "  (none connected: nothing is booked or notified)");
        printf("  breakers open   %lld\n", jint(doc, "breakers_open"));
    }
    /* scripts and monitoring: anything but "ok" is a non-zero exit */
    rc = strcmp(jstr(doc, "status"), "ok") == 0 ? EXIT_OK : EXIT_REFUSED;
    if (rc != EXIT_OK && !app->json) {
        json_t *r;
        size_t i;

        fprintf(stderr, "bcci: the gateway is %s:", jstr(doc, "status"));
        json_array_foreach(json_object_get(doc, "reasons"), i, r)
            fprintf(stderr, " %s", json_string_value(r));
        fprintf(stderr, "\n");
    }
    json_decref(doc);
    return rc;
}

/* ------------------------------------------------------------ whoami, watch, completion */

/* probe - the status of GET path with the configured token (0: unreachable) */
static long
probe(app_t *app, const char *path, cli_resp_t *keep_error)
{
    cli_resp_t r;
    long st = cli_call(app->client, "GET", path, NULL, 0, &r);

    if (keep_error && (st == 0 || st == 401)) {
        *keep_error = r;
        return st;
    }
    cli_resp_free(&r);
    return st;
}

/*
 * cmd_whoami - bccid has no "who am I" route, so the role is found by asking routes that only
 * some roles may call (read-only GETs, from the most to the least privileged) and taking the
 * first that does not answer 403. The token itself is never printed, only where it came from.
 */
static int
cmd_whoami(app_t *app, args_t *a)
{
    static const struct {
        const char *path, *role;
    } probes[] = {
        { "/v1/routes", "admin" },                                   /* admin */
        { "/v1/jobs?state=dead", "clerk" },                          /* clerk, admin */
        { "/v1/dossiers/000.00.00.H00-000101-0000", "case_system" }, /* case_system, clerk, admin */
        { "/v1/shipments/RR000000005VN", "post_office" },            /* + post_office */
    };
    const char *role = "carrier";
    cli_resp_t err;
    size_t i;
    long st;
    int rc;

    if ((rc = rest(a, 0, 0)) != 0)
        return rc;
    if (!app->conf.token[0]) {
        fprintf(stderr, "bcci: no token: give --token, set BCCI_TOKEN or put token = ... in the configuration "
                        "file\n");
        return EXIT_USAGE;
    }
    /* a public route refuses a wrong token with 401: the cheapest check that bccid knows it */
    memset(&err, 0, sizeof err);
    st = probe(app, "/healthz", &err);
    if (st == 0 || st == 401) {
        rc = report_error("GET", "/healthz", &err);
        cli_resp_free(&err);
        return rc;
    }
    for (i = 0; i < sizeof probes / sizeof probes[0]; i++) {
        st = probe(app, probes[i].path, NULL);
        if (st == 0) {
            fprintf(stderr, "bcci: lost the connection to %s\n", app->conf.url);
            return EXIT_IO;
        }
        if (st != 403) {
            role = probes[i].role;
            break;
        }
    }
    if (app->json) {
        json_t *doc = json_pack("{s:s, s:s, s:s, s:b, s:s}", "url", app->conf.url, "token_source",
                                app->conf.source_token, "role", role, "accepted", 1, "method",
                                "probed: the first read-only route that answers other than 403");
        print_json(doc);
        json_decref(doc);
    } else {
        printf("role %s%s%s: bccid at %s accepts the token from %s\n", C(app, BOLD), role, C(app, RESET),
               app->conf.url, app->conf.source_token);
        printf("(bccid has no who-am-I route: the role is the first read-only route that does not answer 403)\n");
    }
    return EXIT_OK;
}

static volatile sig_atomic_t watch_stop;

static void
on_interrupt(int sig)
{
    (void)sig;
    watch_stop = 1;
}

static int
is_final(const char *status)
{
    return strcmp(status, "delivered") == 0 || strcmp(status, "returned") == 0 || strcmp(status, "cancelled") == 0;
}

/* all_final - 1 when the dossier has shipments and every one is in a terminal status */
static int
all_final(const json_t *dossier, const char **last)
{
    json_t *x;
    size_t i;
    json_t *ships = json_object_get(dossier, "shipments");

    if (json_array_size(ships) == 0)
        return 0;
    json_array_foreach(ships, i, x) {
        *last = jstr(x, "status");
        if (!is_final(jstr(x, "status")))
            return 0;
    }
    return 1;
}

#define WATCH_MIN_INTERVAL 1
#define WATCH_MAX_INTERVAL 300

/* cmd_watch - poll the timeline, print each new event once, stop at a terminal status or Ctrl-C */
static int
cmd_watch(app_t *app, args_t *a)
{
    const char *ival = NULL, *key;
    long long interval = 5, seen = 0;
    char path[1200], code[256], t[40], last_status[64];
    struct sigaction sa;
    json_t *doc = NULL, *x;
    const char *last = "";
    int rc, first = 1;
    size_t i;

    if (take_opt(a, "--interval", NULL, &ival) < 0)
        return usage_error(a, "--interval needs a number of seconds");
    if ((rc = rest(a, 1, 1)) != 0)
        return rc;
    if (ival && !parse_ll(ival, WATCH_MIN_INTERVAL, WATCH_MAX_INTERVAL, &interval))
        return usage_error(a, "--interval must be %d to %d seconds", WATCH_MIN_INTERVAL, WATCH_MAX_INTERVAL);
    key = a->v[0];
    if ((rc = check_waybill_shape(key)) != 0)
        return rc;
    snprintf(code, sizeof code, "%s", key);
    if (looks_like_waybill(key)) {
        snprintf(path, sizeof path, "/v1/shipments/%s", seg(key));
        if ((rc = call_json(app, "GET", path, NULL, &doc)) != 0)
            return rc;
        snprintf(code, sizeof code, "%s", jstr(doc, "dossier_code"));
        json_decref(doc);
        doc = NULL;
    }
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_interrupt;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    while (!watch_stop) {
        int done;

        snprintf(path, sizeof path, "/v1/dossiers/%s/timeline", seg(code));
        if ((rc = call_json(app, "GET", path, NULL, &doc)) != 0)
            return rc;
        json_array_foreach(json_object_get(doc, "events"), i, x) {
            long long seq = jint(x, "seq");
            const char *st = jstr(x, "status");
            if (seq <= seen)
                continue;
            seen = seq;
            if (app->json)
                print_json(x);
            else
                printf("%s%s%s  %s%-18s%s %s\n", C(app, DIM), local_time(jstr(x, "time"), t, sizeof t), C(app, RESET),
                       status_color(app, st), *st ? st : "-", C(app, RESET), jstr(x, "text"));
        }
        fflush(stdout);
        json_decref(doc);
        snprintf(path, sizeof path, "/v1/dossiers/%s", seg(code));
        if ((rc = call_json(app, "GET", path, NULL, &doc)) != 0)
            return rc;
        done = all_final(doc, &last);
        snprintf(last_status, sizeof last_status, "%s", last); /* last points into doc */
        json_decref(doc);
        doc = NULL;
        if (done) {
            if (!app->json)
                fprintf(stderr, "bcci: %s reached %s: nothing more will change\n", code, last_status);
            return EXIT_OK;
        }
        if (first && !app->json)
            fprintf(stderr, "bcci: watching %s every %llds (Ctrl-C stops)\n", code, interval);
        first = 0;
        /* sleep in short steps so Ctrl-C ends the wait at once */
        for (i = 0; i < (size_t)interval * 10 && !watch_stop; i++)
            nanosleep(&(struct timespec){ .tv_sec = 0, .tv_nsec = 100000000 }, NULL);
    }
    if (!app->json)
        fprintf(stderr, "bcci: stopped watching %s\n", code);
    return EXIT_OK;
}

/* ------------------------------------------------------------ the command table */

static int cmd_completion_bash(app_t *app, args_t *a);

static const command_t commands[] = {
    { "submit", cmd_submit, 0, "submit FILE|-",
      "Submit one dossier (a JSON document) or many (JSON Lines, one dossier per line) to POST /v1/dossiers.\n"
      "A progress bar is drawn on stderr when it is a terminal; the summary counts accepted, duplicates\n"
      "(identical replays) and rejected lines with their reasons. Exit 0 when no dossier was rejected: a file\n"
      "submitted again, whose dossiers are all accepted with the same content, exits 0 and says so." },
    { "status", cmd_status, 0, "status DOSSIER_CODE|WAYBILL",
      "The dossier, its shipments and its timeline (Vietnam time). A 13-character S10 waybill is looked up\n"
      "with GET /v1/shipments/{waybill} first." },
    { "timeline verify", cmd_timeline_verify, 0, "timeline verify DOSSIER_CODE",
      "Recompute the dossier's timeline chain on the server (HMAC-SHA256 keyed with the server secret) and\n"
      "compare it with the dossier's sealed head (event count and last hash, also sent with every case-system\n"
      "notification); exit 1 when an event was altered, the last events were removed, or the chain was\n"
      "recomputed without the key." },
    { "label", cmd_label, 0, "label WAYBILL [--format pdf|png|svg|zpl|zpl-font] [--size a6] [--dpi 300] [-o FILE]",
      "Download one label (GET /v1/shipments/{waybill}/label) to FILE (default WAYBILL.FORMAT; - = stdout)." },
    { "labels", cmd_labels, 0,
      "labels --ready [--agency CODE]|WAYBILL... [--format pdf|zpl|zpl-font] [--size a6] [--dpi 300] -o FILE",
      "Many labels as one multi-page PDF or one ZPL stream (POST /v1/labels); --ready: every shipment\n"
      "ready for printing (of one agency with --agency)." },
    { "manifest create", cmd_manifest_create, 0, "manifest create WAYBILL...|--all-ready --agency CODE",
      "Create a handover manifest (biên bản giao nhận) of the given waybills, or of every shipment of\n"
      "the agency ready for handover (POST /v1/manifests). Prints the manifest id." },
    { "manifest pdf", cmd_manifest_pdf, 0, "manifest pdf ID [-o FILE]",
      "Download the manifest as an A4 PDF (GET /v1/manifests/{id}.pdf)." },
    { "receipt pdf", cmd_receipt_pdf, 0, "receipt pdf ID [-o FILE]",
      "Download the agency's receipt (biên bản giao nhận) as an A4 PDF (GET /v1/receipts/{id}.pdf)." },
    { "receipt", cmd_receipt, 0, "receipt WAYBILL... --officer NAME",
      "Send leg: the agency's officer receives the items the postman brought to the desk (POST\n"
      "/v1/receipts); that moment is the legal submission time (QĐ 45 Điều 7.4) and is told to the case\n"
      "system. Prints the receipt id; asking again for the same items prints the same receipt." },
    { "scan", cmd_scan, 0, "scan CODE [--event accepted]",
      "Record a scanned waybill or manifest QR (POST /v1/scans). The post office scans when it takes the\n"
      "items: `accepted` is the one event bccid takes from a scan (the default); the carrier reports the rest." },
    { "cancel", cmd_cancel, 0, "cancel WAYBILL [--reason TEXT]",
      "Cancel a shipment (POST /v1/shipments/{waybill}/cancel); refused with 409 after pick-up." },
    { "codes import", cmd_codes_import, 0, "codes import PREFIX FROM COUNT [--country VN]",
      "Import a range of S10 numbers issued by the carrier, e.g. codes import RR 10000000 100000." },
    { "codes status", cmd_codes_status, 0, "codes status",
      "Numbers left in the code pool; warns on stderr when fewer than 1,000 are left." },
    { "list", cmd_list, 0,
      "list [TEXT] [--q TEXT] [--status S] [--service send|return|both] [--carrier C] [--agency CODE] [--from DATE] "
      "[--to DATE] [--sort newest|oldest|status_time|waybill|dossier|agency] [--page N] [--per_page N]",
      "Search shipments as the clerk page does (GET /v1/shipments): by dossier code, waybill, phone or name." },
    { "jobs list", cmd_jobs_list, 0, "jobs list [--state ready|leased|done|dead]", "Jobs and counts by state." },
    { "jobs dead", cmd_jobs_dead, 0, "jobs dead", "Jobs given up after their retries; they need an operator." },
    { "jobs retry", cmd_jobs_retry, 0, "jobs retry ID | --all [--kind K] [--carrier C] [--since TIME]",
      "Put a dead job back to work; --all: every dead job (of a kind, a carrier, dead since TIME) at once." },
    { "token create", cmd_token_create, 0, "token create --name NAME --role ROLE [--agency CODE]",
      "Create an API token (roles: case_system, clerk, post_office, carrier, admin). The token is printed\n"
      "once on stdout; store it safely. --agency binds a case_system or clerk token to one agency\n"
      "(000.00.31.H23): it then reaches only that agency's dossiers, shipments, labels and manifests." },
    { "token list", cmd_token_list, 0, "token list", "Every API token's name, role and state (never the token)." },
    { "token revoke", cmd_token_revoke, 0, "token revoke NAME", "Revoke a token; its holder is refused at once." },
    { "keys gen", cmd_keys_gen, 1, "keys gen",
      "Print a new ZeroMQ CURVE key pair (Z85, 40 characters each) for the worker link. Local: no HTTP." },
    { "report cod", cmd_report_cod, 0,
      "report cod --date YYYY-MM-DD [--agency CODE] [-o DIR] | --from YYYY-MM-DD --to YYYY-MM-DD --out DIR",
      "Cash-on-delivery report of a day (GET /v1/reports/cod), written as one CSV file per agency:\n"
      "DIR/cod-DATE-AGENCY.csv (DIR defaults to the current directory).\n"
      "report cod --from YYYY-MM-DD --to YYYY-MM-DD --out DIR [--agency CODE] writes the reconciliation of\n"
      "those days (expected, collected, remitted, flags; headers in Vietnamese) to DIR/cod-FROM-TO.csv and\n"
      ".xlsx,\n"
      "creating DIR." },
    { "purge", cmd_purge, 0, "purge --older-than DAYS [--dry-run]",
      "Remove finished dossiers older than DAYS (POST /v1/purge); --dry-run only counts them." },
    { "backup", cmd_backup, 1, "backup --db STATE_DIR/bcci.db FILE",
      "Copy the live database with SQLite's online backup API while bccid runs. Local: run it on the\n"
      "gateway's machine as the bcci user. FILE must not exist." },
    { "store copy", cmd_store_copy, 1, "store copy FROM_URI TO_URI [--secret STATE_DIR/secret]",
      "Copy a whole gateway (dossiers, shipments, timelines, jobs, tokens, code pool, manifests, receipts,\n"
      "metrics) into an EMPTY store, e.g. store copy sqlite:var/bcci.db postgresql://bcci@db:5432/bcci.\n"
      "Stop bccid first. A target holding any row is refused; the copy is one transaction, committed only\n"
      "once every table counts the same on both sides and every timeline chain verifies with the server\n"
      "secret (--secret; default: the file secret beside a sqlite: source). Local: no HTTP." },
    { "routes", cmd_routes, 0, "routes", "Every route bccid serves and the roles allowed (GET /v1/routes)." },
    { "health", cmd_health, 0, "health", "Gateway health (GET /healthz) as text; --json for the document." },
    { "whoami", cmd_whoami, 0, "whoami",
      "Whether bccid accepts the configured token, where it came from, and its role. bccid has no\n"
      "who-am-I route: the role is found by read-only GETs that only some roles may call." },
    { "watch", cmd_watch, 0, "watch DOSSIER_CODE|WAYBILL [--interval SECONDS]",
      "Poll the timeline (every 5 s; --interval 1 to 300) and print each new event until every shipment\n"
      "is delivered, returned or cancelled, or Ctrl-C." },
    { "completion bash", cmd_completion_bash, 1, "completion bash",
      "Print a bash completion script made from this command table:\n"
      "  bcci completion bash > /etc/bash_completion.d/bcci   (dist/bash-completion/bcci is the same)" },
    { NULL, NULL, 0, NULL, NULL },
};

static void
usage(FILE *f)
{
    const command_t *c;

    fprintf(f, "usage: bcci [--url URL] [--token TOKEN] [--config FILE] [--json] [--no-color] COMMAND ...\n\n"
               "commands:\n");
    for (c = commands; c->name; c++)
        fprintf(f, "  %s\n", c->synopsis);
    fprintf(f, "\nconfiguration: flags, then BCCI_URL and BCCI_TOKEN, then ~/.config/bcci/config (url = ..., token = "
               "...);\ndefault URL %s. `bcci COMMAND --help` explains a command; man bcci has the rest.\n",
            CLI_DEFAULT_URL);
}

/* find_command - the command named by v[0] (and v[1] for two-word commands); *used = words taken */
static const command_t *
find_command(int n, char **v, int *used, int *group)
{
    const command_t *c;

    *group = 0;
    for (c = commands; c->name; c++) {
        const char *sp = strchr(c->name, ' ');
        if (!sp) {
            if (strcmp(c->name, v[0]) == 0) {
                *used = 1;
                return c;
            }
            continue;
        }
        if (strncmp(c->name, v[0], (size_t)(sp - c->name)) == 0 && v[0][sp - c->name] == '\0') {
            *group = 1;
            if (n > 1 && strcmp(sp + 1, v[1]) == 0) {
                *used = 2;
                return c;
            }
        }
    }
    return NULL;
}

static void
group_usage(FILE *f, const char *word)
{
    const command_t *c;
    size_t wl = strlen(word);

    fprintf(f, "usage:\n");
    for (c = commands; c->name; c++)
        if (strncmp(c->name, word, wl) == 0 && c->name[wl] == ' ')
            fprintf(f, "  bcci %s\n", c->synopsis);
}

/* synopsis_options - the "--name" words of a synopsis, space-separated, into out */
static void
synopsis_options(const char *syn, char *out, size_t outlen)
{
    const char *p = syn;
    size_t o = 0;

    out[0] = '\0';
    while ((p = strstr(p, "--")) != NULL) {
        size_t l = 2;
        while (isalnum((unsigned char)p[l]) || p[l] == '-')
            l++;
        if (l > 2 && o + l + 2 < outlen) {
            char word[64];
            snprintf(word, sizeof word, "%.*s", (int)l, p);
            if (!strstr(out, word)) {
                o += (size_t)snprintf(out + o, outlen - o, "%s%s", o ? " " : "", word);
            }
        }
        p += l;
    }
    /* -o FILE is the one short option (an alias of --output) */
    if (strstr(syn, "-o FILE") || strstr(syn, "-o DIR"))
        o += (size_t)snprintf(out + o, o < outlen ? outlen - o : 0, "%s-o --output", o ? " " : "");
    if (o + 8 < outlen)
        snprintf(out + o, outlen - o, "%s--help", o ? " " : "");
}

/* cmd_completion_bash - a bash completion function generated from the command table, so a new
 * command completes without anyone editing the script */
static int
cmd_completion_bash(app_t *app, args_t *a)
{
    const command_t *c, *d;
    char opts[512], words[1024];
    size_t o = 0;
    int rc;

    (void)app;
    if ((rc = rest(a, 0, 0)) != 0)
        return rc;
    words[0] = '\0';
    for (c = commands; c->name; c++) {
        size_t l = strcspn(c->name, " ");
        int dup = 0;
        for (d = commands; d < c; d++)
            dup |= strncmp(d->name, c->name, l) == 0 && strcspn(d->name, " ") == l;
        if (!dup)
            o += (size_t)snprintf(words + o, sizeof words - o, "%s%.*s", o ? " " : "", (int)l, c->name);
    }
    printf("# bash completion for bcci, generated by `bcci completion bash` from its command table\n"
           "# (install: bcci completion bash > /etc/bash_completion.d/bcci)\n"
           "_bcci() {\n"
           "    local cur=${COMP_WORDS[COMP_CWORD]} i w cmd=\"\" sub=\"\"\n"
           "    local global=\"--url --token --config --json --no-color --help --version\"\n"
           "    for ((i = 1; i < COMP_CWORD; i++)); do\n"
           "        w=${COMP_WORDS[i]}\n"
           "        case $w in\n"
           "            --url|--token|--config) ((i++)); continue ;;\n"
           "            -*) continue ;;\n"
           "        esac\n"
           "        if [[ -z $cmd ]]; then cmd=$w; elif [[ -z $sub ]]; then sub=$w; fi\n"
           "    done\n"
           "    if [[ -z $cmd ]]; then\n"
           "        COMPREPLY=($(compgen -W \"%s $global\" -- \"$cur\"))\n"
           "        return\n"
           "    fi\n"
           "    case \"$cmd $sub\" in\n",
           words);
    for (c = commands; c->name; c++) {
        const char *sp = strchr(c->name, ' ');
        synopsis_options(c->synopsis, opts, sizeof opts);
        if (sp)
            printf("        \"%s\") COMPREPLY=($(compgen -W \"%s\" -- \"$cur\")) ;;\n", c->name, opts);
        else
            printf("        \"%s \"*) COMPREPLY=($(compgen -W \"%s\" -- \"$cur\")); "
                   "[[ $cur != -* ]] && COMPREPLY+=($(compgen -f -- \"$cur\")) ;;\n",
                   c->name, opts);
    }
    /* a group word alone: its subcommands */
    for (c = commands; c->name; c++) {
        const char *sp = strchr(c->name, ' ');
        size_t l, k = 0;
        char subs[256];
        if (!sp || (c != commands && strncmp(c[-1].name, c->name, (size_t)(sp - c->name) + 1) == 0))
            continue;
        l = (size_t)(sp - c->name);
        subs[0] = '\0';
        for (d = c; d->name && strncmp(d->name, c->name, l + 1) == 0; d++)
            k += (size_t)snprintf(subs + k, sizeof subs - k, "%s%s", k ? " " : "", d->name + l + 1);
        printf("        \"%.*s \"*) COMPREPLY=($(compgen -W \"%s\" -- \"$cur\")) ;;\n", (int)l, c->name, subs);
    }
    printf("    esac\n"
           "}\n"
           "complete -F _bcci bcci\n");
    return EXIT_OK;
}

/* edit_distance - Levenshtein distance of two short words (longer ones are cut at 63 bytes) */
static size_t
edit_distance(const char *x, const char *y)
{
    size_t n = strlen(x), m = strlen(y), i, j, row[64];

    if (n > 63)
        n = 63;
    if (m > 63)
        m = 63;
    for (j = 0; j <= m; j++)
        row[j] = j;
    for (i = 1; i <= n; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (j = 1; j <= m; j++) {
            size_t up = row[j], best = diag + (x[i - 1] != y[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[m];
}

/* suggest - the command word (group = NULL) or the subcommand of group nearest to word, when it
 * is near enough to be a typo (at most 2 edits, and fewer than half the word): out, else NULL
 * (out is scratch space then) */
static const char *
suggest(const char *group, const char *word, char *out, size_t outlen)
{
    const command_t *c;
    size_t best = (size_t)-1, gl = group ? strlen(group) : 0;

    for (c = commands; c->name; c++) {
        char cand[64];
        size_t dist;
        if (group) {
            if (strncmp(c->name, group, gl) != 0 || c->name[gl] != ' ')
                continue;
            snprintf(cand, sizeof cand, "%s", c->name + gl + 1);
        } else {
            snprintf(cand, sizeof cand, "%.*s", (int)strcspn(c->name, " "), c->name);
        }
        dist = edit_distance(word, cand);
        if (dist < best) {
            best = dist;
            snprintf(out, outlen, "%s", cand);
        }
    }
    if (best == (size_t)-1 || best > 2 || best * 2 >= strlen(word))
        return NULL;
    return out;
}

int
main(int argc, char **argv)
{
    const char *flag_url = NULL, *flag_token = NULL, *config = NULL;
    int json = 0, no_color = 0, i, n = 0, used, group, rc;
    char **rest_v = calloc((size_t)argc + 1, sizeof *rest_v);
    const command_t *cmd;
    app_t app;
    args_t a;
    char err[512], near[64];
    const char *hint;

    if (!rest_v)
        return EXIT_IO;
    /* global options anywhere before "--"; everything else belongs to the command */
    for (i = 1; i < argc; i++) {
        const char *s = argv[i];
        if (strcmp(s, "--url") == 0 || strcmp(s, "--token") == 0 || strcmp(s, "--config") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, "bcci: %s needs a value\n", s);
                free(rest_v);
                return EXIT_USAGE;
            }
            if (s[2] == 'u')
                flag_url = argv[++i];
            else if (s[2] == 't')
                flag_token = argv[++i];
            else
                config = argv[++i];
        } else if (strncmp(s, "--url=", 6) == 0) {
            flag_url = s + 6;
        } else if (strncmp(s, "--token=", 8) == 0) {
            flag_token = s + 8;
        } else if (strncmp(s, "--config=", 9) == 0) {
            config = s + 9;
        } else if (strcmp(s, "--json") == 0) {
            json = 1;
        } else if (strcmp(s, "--no-color") == 0) {
            no_color = 1;
        } else if (n == 0 && (strcmp(s, "--help") == 0 || strcmp(s, "-h") == 0 || strcmp(s, "help") == 0)) {
            usage(stdout);
            free(rest_v);
            return EXIT_OK;
        } else if (n == 0 && strcmp(s, "--version") == 0) {
            printf("bcci %s\n", BCCI_VERSION);
            free(rest_v);
            return EXIT_OK;
        } else {
            rest_v[n++] = argv[i];
        }
    }
    if (n == 0) {
        usage(stderr);
        free(rest_v);
        return EXIT_USAGE;
    }
    cmd = find_command(n, rest_v, &used, &group);
    if (!cmd) {
        if (group && (n == 1 || strcmp(rest_v[1], "--help") == 0 || strcmp(rest_v[1], "-h") == 0)) {
            group_usage(n == 1 ? stderr : stdout, rest_v[0]);
            free(rest_v);
            return n == 1 ? EXIT_USAGE : EXIT_OK;
        }
        hint = group ? suggest(rest_v[0], rest_v[1], near, sizeof near) : suggest(NULL, rest_v[0], near, sizeof near);
        if (group)
            fprintf(stderr, "bcci: unknown command '%s %s'", rest_v[0], rest_v[1]);
        else
            fprintf(stderr, "bcci: unknown command '%s'", rest_v[0]);
        /* after a suggestion one more line is enough; without one, the list of commands */
        if (hint) {
            fprintf(stderr, "; did you mean 'bcci %s%s%s'?\n(bcci --help lists every command)\n", group ? rest_v[0] : "",
                    group ? " " : "", hint);
        } else {
            fputc('\n', stderr);
            usage(stderr);
        }
        free(rest_v);
        return EXIT_USAGE;
    }
    a.n = n - used;
    a.v = rest_v + used;
    a.cmd = cmd->name;
    if (take_flag(&a, "--help") || take_flag(&a, "-h")) {
        printf("usage: bcci %s\n\n%s\n", cmd->synopsis, cmd->help);
        free(rest_v);
        return EXIT_OK;
    }
    memset(&app, 0, sizeof app);
    app.json = json;
    app.color = !json && !no_color && isatty(STDOUT_FILENO) && !getenv("NO_COLOR");
    if (!cmd->local) {
        if (cli_conf_load(&app.conf, flag_url, flag_token, config, err, sizeof err) != 0) {
            fprintf(stderr, "bcci: %s\n", err);
            free(rest_v);
            return EXIT_USAGE;
        }
        curl_global_init(CURL_GLOBAL_DEFAULT);
        app.client = cli_client_new(&app.conf);
        if (!app.client) {
            fprintf(stderr, "bcci: out of memory\n");
            curl_global_cleanup();
            free(rest_v);
            return EXIT_IO;
        }
    }
    rc = cmd->fn(&app, &a);
    cli_client_destroy(&app.client);
    if (!cmd->local)
        curl_global_cleanup();
    explicit_bzero(app.conf.token, sizeof app.conf.token);
    free(rest_v);
    return rc;
}
