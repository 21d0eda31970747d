/*
 * bcci - the command-line client of bccid (design §11)
 *
 * Every subcommand is one or more HTTP calls to bccid; nothing here touches
 * the database. Configuration: flags, then the environment (BCCI_URL,
 * BCCI_TOKEN), then defaults. --json prints the server's JSON unchanged.
 */
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"

typedef struct {
    const char *url;
    const char *token;
    int json;
} cli_t;

static const char usage[] =
    "usage: bcci [--url URL] [--token TOKEN] [--json] COMMAND …\n"
    "\n"
    "commands:\n"
    "  submit FILE|-                 submit one dossier (JSON) or many (JSON Lines)\n"
    "  status DOSSIER_CODE           dossier, shipments and timeline\n"
    "  codes import PREFIX FROM COUNT  import an S10 range issued by the carrier\n"
    "  codes status                  numbers left in the pool\n"
    "  jobs list|dead                jobs (dead: given up, need an operator)\n"
    "  jobs retry ID                 put a dead job back to work\n"
    "  health                        gateway health\n"
    "\n"
    "environment: BCCI_URL (default http://127.0.0.1:8080), BCCI_TOKEN\n";

static size_t
collect(char *data, size_t size, size_t n, void *userp)
{
    return buf_append(userp, data, size * n) == BUF_OK ? size * n : 0;
}

/* http - one request; returns the HTTP status (0 on transport failure) and the body in out */
static long
http(const cli_t *cli, const char *method, const char *path, const char *body, size_t bodylen, buf_t *out)
{
    CURL *h = curl_easy_init();
    struct curl_slist *hdrs = NULL;
    char url[2048], auth[600];
    long status = 0;
    CURLcode rc;

    if (!h)
        return 0;
    snprintf(url, sizeof url, "%s%s", cli->url, path);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 60L);
    if (body) {
        hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)bodylen);
    }
    if (cli->token && *cli->token) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", cli->token);
        hdrs = curl_slist_append(hdrs, auth);
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    rc = curl_easy_perform(h);
    if (rc == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    else
        fprintf(stderr, "bcci: cannot reach %s: %s (is bccid running? set --url or BCCI_URL)\n", cli->url,
                curl_easy_strerror(rc));
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    return status;
}

static void
print_error(long status, const buf_t *body)
{
    json_t *doc = json_loadb(body->data ? body->data : "", body->len, 0, NULL);
    json_t *e = json_object_get(doc, "error");

    if (e)
        fprintf(stderr, "bcci: %ld %s%s%s: %s\n", status, json_string_value(json_object_get(e, "code")),
                json_object_get(e, "field") ? " " : "",
                json_object_get(e, "field") ? json_string_value(json_object_get(e, "field")) : "",
                json_string_value(json_object_get(e, "message")));
    else if (status)
        fprintf(stderr, "bcci: HTTP %ld\n", status);
    json_decref(doc);
}

/* simple - one call; print JSON, return 0 on 2xx */
static int
simple(const cli_t *cli, const char *method, const char *path, const char *body)
{
    buf_t out;
    long status;
    int rc;

    buf_init(&out, 64 * 1024 * 1024);
    status = http(cli, method, path, body, body ? strlen(body) : 0, &out);
    rc = status >= 200 && status < 300 ? 0 : 1;
    if (rc == 0) {
        json_t *doc = json_loadb(out.data ? out.data : "", out.len, 0, NULL);
        char *pretty = doc ? json_dumps(doc, cli->json ? JSON_COMPACT : JSON_INDENT(2)) : NULL;
        printf("%s\n", pretty ? pretty : (out.data ? out.data : ""));
        free(pretty);
        json_decref(doc);
    } else {
        print_error(status, &out);
    }
    buf_free(&out);
    return rc;
}

static int
cmd_submit(const cli_t *cli, const char *file)
{
    FILE *f = strcmp(file, "-") == 0 ? stdin : fopen(file, "r");
    buf_t in, out;
    char chunk[65536];
    size_t n;
    int accepted = 0, duplicates = 0, rejected = 0;
    char *line, *save = NULL;
    json_error_t jerr;
    json_t *one;

    if (!f) {
        fprintf(stderr, "bcci: cannot read %s\n", file);
        return 2;
    }
    buf_init(&in, 512 * 1024 * 1024);
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        if (buf_append(&in, chunk, n) != BUF_OK)
            break;
    if (f != stdin)
        fclose(f);
    /* one JSON document, or JSON Lines */
    one = json_loadb(in.data ? in.data : "", in.len, 0, &jerr);
    json_decref(one);
    for (line = one ? in.data : strtok_r(in.data, "\n", &save); line;
         line = one ? NULL : strtok_r(NULL, "\n", &save)) {
        long status;

        if (!*line)
            continue;
        buf_init(&out, 1024 * 1024);
        status = http(cli, "POST", "/v1/dossiers", line, strlen(line), &out);
        if (status == 201)
            accepted++;
        else if (status == 200)
            duplicates++;
        else {
            rejected++;
            print_error(status, &out);
        }
        if (cli->json || (status == 201 || status == 200))
            printf("%s\n", out.data ? out.data : "");
        buf_free(&out);
    }
    buf_free(&in);
    fprintf(stderr, "bcci: accepted %d, duplicates %d, rejected %d\n", accepted, duplicates, rejected);
    return rejected == 0 && duplicates == 0 ? 0 : 1;
}

int
main(int argc, char **argv)
{
    cli_t cli = { getenv("BCCI_URL"), getenv("BCCI_TOKEN"), 0 };
    int i, rc = 2;
    char path[512], body[256];

    if (!cli.url || !*cli.url)
        cli.url = "http://127.0.0.1:8080";
    for (i = 1; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
        if (strcmp(argv[i], "--url") == 0 && i + 1 < argc)
            cli.url = argv[++i];
        else if (strcmp(argv[i], "--token") == 0 && i + 1 < argc)
            cli.token = argv[++i];
        else if (strcmp(argv[i], "--json") == 0)
            cli.json = 1;
        else if (strcmp(argv[i], "--help") == 0) {
            fputs(usage, stdout);
            return 0;
        } else if (strcmp(argv[i], "--version") == 0) {
            printf("bcci %s\n", BCCI_VERSION);
            return 0;
        } else {
            fprintf(stderr, "bcci: unknown option %s\n%s", argv[i], usage);
            return 2;
        }
    }
    if (i >= argc) {
        fputs(usage, stderr);
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (strcmp(argv[i], "submit") == 0 && i + 1 < argc) {
        rc = cmd_submit(&cli, argv[i + 1]);
    } else if (strcmp(argv[i], "status") == 0 && i + 1 < argc) {
        snprintf(path, sizeof path, "/v1/dossiers/%s/timeline", argv[i + 1]);
        rc = simple(&cli, "GET", path, NULL);
    } else if (strcmp(argv[i], "codes") == 0 && i + 4 < argc && strcmp(argv[i + 1], "import") == 0) {
        snprintf(body, sizeof body, "{\"prefix\": \"%.2s\", \"from\": %lld, \"count\": %lld}", argv[i + 2],
                 strtoll(argv[i + 3], NULL, 10), strtoll(argv[i + 4], NULL, 10));
        rc = simple(&cli, "POST", "/v1/codes", body);
    } else if (strcmp(argv[i], "codes") == 0 && i + 1 < argc && strcmp(argv[i + 1], "status") == 0) {
        rc = simple(&cli, "GET", "/v1/codes", NULL);
    } else if (strcmp(argv[i], "jobs") == 0 && i + 1 < argc && strcmp(argv[i + 1], "list") == 0) {
        rc = simple(&cli, "GET", "/v1/jobs", NULL);
    } else if (strcmp(argv[i], "jobs") == 0 && i + 1 < argc && strcmp(argv[i + 1], "dead") == 0) {
        rc = simple(&cli, "GET", "/v1/jobs?state=dead", NULL);
    } else if (strcmp(argv[i], "jobs") == 0 && i + 2 < argc && strcmp(argv[i + 1], "retry") == 0) {
        snprintf(path, sizeof path, "/v1/jobs/%lld/retry", strtoll(argv[i + 2], NULL, 10));
        rc = simple(&cli, "POST", path, "{}");
    } else if (strcmp(argv[i], "health") == 0) {
        rc = simple(&cli, "GET", "/healthz", NULL);
    } else {
        fprintf(stderr, "bcci: unknown or incomplete command '%s'\n%s", argv[i], usage);
    }
    curl_global_cleanup();
    return rc;
}
