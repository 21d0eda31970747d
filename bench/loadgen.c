/*
 * loadgen - a closed-loop HTTP load generator (one JSON line of results)
 *
 * Each client is one thread with one persistent libcurl easy handle, so
 * connections stay alive; a client sends its next request as soon as the
 * previous answer arrived (closed loop: the offered load follows the
 * server). Every latency is recorded; percentiles are exact.
 *
 * A body template may contain "{SEQ}": every request replaces it by its own
 * sequence number (from --seq-start, zero-padded to --seq-width digits), so
 * a dossier template whose code ends in "-{SEQ}" makes every dossier code
 * unique. The run ends after --requests N requests or --seconds S, and
 * never sends a number wider than --seq-width digits.
 *
 * Output on stdout:
 * {"requests":N,"ok":n2xx,"errors":n,"transport_errors":n,"status_counts":{"201":...},
 *  "seconds":...,"rps":...,"p50_ms":...,"p90_ms":...,"p99_ms":...,"max_ms":...}
 * The first non-2xx answer (status and up to 300 bytes of body) goes to stderr.
 */
#include <curl/curl.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "buf.h"

#define LG_MAX_HEADERS 16
#define LG_MAX_CLIENTS 4096
#define LG_MAX_STATUS 600
#define LG_BODY_KEEP 4096

typedef struct {
    const char *url;
    const char *method;
    const char *headers[LG_MAX_HEADERS];
    int nheaders;
    long clients;
    long long requests; /* 0: bounded by seconds */
    double seconds;     /* 0: bounded by requests */
    long long seq_start;
    int seq_width;
    double timeout_s;
    char *tmpl;   /* owned: the body template, NULL for no body */
    size_t tmpl_len;
    const char *seq_at; /* inside tmpl: first "{SEQ}", NULL when absent */
} options_t;

typedef struct {
    const options_t *opt;
    double *lat_ms; /* owned */
    size_t nlat, caplat;
    long long status[LG_MAX_STATUS];
    long long transport_errors;
    char first_curl_error[CURL_ERROR_SIZE];
} client_t;

static atomic_llong s_next_seq;
static long long s_seq_end; /* exclusive */
static double s_deadline;   /* monotonic seconds; 0 = none */
static atomic_int s_reported;

static double
mono_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
usage(FILE *f)
{
    fprintf(f,
            "usage: loadgen --url URL [--clients 32] [--requests N | --seconds S] [--method GET|POST]\n"
            "               [--body-template FILE] [--header 'Name: value']... [--seq-start 1]\n"
            "               [--seq-width 5] [--timeout 10]\n"
            "  In the body template every \"{SEQ}\" becomes the request's sequence number.\n");
}

/* read_file - whole file into *out (caller frees); 0, or -1 with a message on stderr */
static int
read_file(const char *path, char **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    buf_t b;
    char chunk[8192];
    size_t n;
    int rc = -1;

    buf_init(&b, 16u * 1024 * 1024);
    if (!f) {
        fprintf(stderr, "loadgen: cannot read body template %s: %s\n", path, strerror(errno));
        goto out;
    }
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (buf_append(&b, chunk, n) != BUF_OK) {
            fprintf(stderr, "loadgen: body template %s is too big (limit 16 MB)\n", path);
            goto out;
        }
    }
    if (ferror(f)) {
        fprintf(stderr, "loadgen: error reading %s\n", path);
        goto out;
    }
    if (buf_append(&b, "", 0) != BUF_OK) /* make sure data is allocated for an empty file */
        goto out;
    *out = buf_steal(&b, len);
    rc = 0;
out:
    if (f)
        fclose(f);
    buf_free(&b);
    return rc;
}

static int
parse_number(const char *name, const char *s, double lo, double hi, double *out)
{
    char *end = NULL;
    double v;

    errno = 0;
    v = strtod(s, &end);
    if (errno || end == s || *end != '\0' || v < lo || v > hi) {
        fprintf(stderr, "loadgen: %s must be a number in [%g, %g], got '%s'\n", name, lo, hi, s);
        return -1;
    }
    *out = v;
    return 0;
}

/* parse_args - 0 ok, 1 help printed, -1 error (message printed) */
static int
parse_args(int argc, char **argv, options_t *o)
{
    const char *tmpl_path = NULL;
    double v;
    int i;

    memset(o, 0, sizeof *o);
    o->method = "GET";
    o->clients = 32;
    o->seq_start = 1;
    o->seq_width = 5;
    o->timeout_s = 10;
    for (i = 1; i < argc; i++) {
        const char *k = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;

        if (strcmp(k, "--help") == 0 || strcmp(k, "-h") == 0) {
            usage(stdout);
            return 1;
        }
        if (strcmp(k, "--version") == 0) {
            printf("loadgen %s\n", BCCI_VERSION);
            return 1;
        }
        if (strncmp(k, "--", 2) != 0 || !val) {
            fprintf(stderr, "loadgen: unexpected argument '%s' (options take a value; see --help)\n", k);
            return -1;
        }
        i++;
        if (strcmp(k, "--url") == 0) {
            o->url = val;
        } else if (strcmp(k, "--method") == 0) {
            if (strcmp(val, "GET") != 0 && strcmp(val, "POST") != 0) {
                fprintf(stderr, "loadgen: --method must be GET or POST, got '%s'\n", val);
                return -1;
            }
            o->method = val;
        } else if (strcmp(k, "--header") == 0) {
            if (o->nheaders == LG_MAX_HEADERS) {
                fprintf(stderr, "loadgen: at most %d --header options\n", LG_MAX_HEADERS);
                return -1;
            }
            o->headers[o->nheaders++] = val;
        } else if (strcmp(k, "--body-template") == 0) {
            tmpl_path = val;
        } else if (strcmp(k, "--clients") == 0) {
            if (parse_number(k, val, 1, LG_MAX_CLIENTS, &v) != 0)
                return -1;
            o->clients = (long)v;
        } else if (strcmp(k, "--requests") == 0) {
            if (parse_number(k, val, 1, 1e12, &v) != 0)
                return -1;
            o->requests = (long long)v;
        } else if (strcmp(k, "--seconds") == 0) {
            if (parse_number(k, val, 0.01, 1e6, &v) != 0)
                return -1;
            o->seconds = v;
        } else if (strcmp(k, "--seq-start") == 0) {
            if (parse_number(k, val, 0, 1e15, &v) != 0)
                return -1;
            o->seq_start = (long long)v;
        } else if (strcmp(k, "--seq-width") == 0) {
            if (parse_number(k, val, 1, 15, &v) != 0)
                return -1;
            o->seq_width = (int)v;
        } else if (strcmp(k, "--timeout") == 0) {
            if (parse_number(k, val, 0.001, 3600, &v) != 0)
                return -1;
            o->timeout_s = v;
        } else {
            fprintf(stderr, "loadgen: unknown option '%s' (see --help)\n", k);
            return -1;
        }
    }
    if (!o->url) {
        fprintf(stderr, "loadgen: --url is required\n");
        usage(stderr);
        return -1;
    }
    if (o->requests == 0 && o->seconds == 0)
        o->requests = 10000;
    if (tmpl_path) {
        if (read_file(tmpl_path, &o->tmpl, &o->tmpl_len) != 0)
            return -1;
        o->seq_at = strstr(o->tmpl, "{SEQ}");
    }
    return 0;
}

/* render - the body for seq into b; the template has the SEQ placeholders */
static int
render(const options_t *o, long long seq, buf_t *b)
{
    const char *p = o->tmpl, *end = o->tmpl + o->tmpl_len, *at;
    char num[32];
    int n;

    buf_reset(b);
    n = snprintf(num, sizeof num, "%0*lld", o->seq_width, seq);
    if (n < 0 || (size_t)n >= sizeof num)
        return -1;
    at = o->seq_at;
    while (at) {
        if (buf_append(b, p, (size_t)(at - p)) != BUF_OK || buf_append(b, num, (size_t)n) != BUF_OK)
            return -1;
        p = at + 5;
        at = strstr(p, "{SEQ}");
    }
    return buf_append(b, p, (size_t)(end - p)) == BUF_OK ? 0 : -1;
}

static size_t
on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    buf_t *b = userdata;
    size_t n = size * nmemb;
    size_t room = b->len < LG_BODY_KEEP ? LG_BODY_KEEP - b->len : 0;

    if (room > 0)
        (void)buf_append(b, ptr, n < room ? n : room);
    return n;
}

static int
record(client_t *c, double ms)
{
    if (c->nlat == c->caplat) {
        size_t cap = c->caplat ? c->caplat * 2 : 4096;
        double *p = realloc(c->lat_ms, cap * sizeof *p);

        if (!p)
            return -1;
        c->lat_ms = p;
        c->caplat = cap;
    }
    c->lat_ms[c->nlat++] = ms;
    return 0;
}

/* next_seq - the next sequence number, or -1 when the run is over */
static long long
next_seq(void)
{
    long long seq;

    if (s_deadline > 0 && mono_s() >= s_deadline)
        return -1;
    seq = atomic_fetch_add(&s_next_seq, 1);
    return seq < s_seq_end ? seq : -1;
}

static void *
client_run(void *arg)
{
    client_t *c = arg;
    const options_t *o = c->opt;
    CURL *h = curl_easy_init();
    struct curl_slist *hdrs = NULL;
    buf_t body, resp;
    int i;
    long long seq;

    buf_init(&body, 64u * 1024 * 1024);
    buf_init(&resp, LG_BODY_KEEP + 1);
    if (!h)
        goto out;
    for (i = 0; i < o->nheaders; i++)
        hdrs = curl_slist_append(hdrs, o->headers[i]);
    hdrs = curl_slist_append(hdrs, "Expect:");
    if (strcmp(o->method, "POST") == 0)
        hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
    curl_easy_setopt(h, CURLOPT_URL, o->url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(o->timeout_s * 1000));
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &resp);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->first_curl_error);

    while ((seq = next_seq()) >= 0) {
        double t0, t1;
        long status = 0;
        CURLcode cc;

        if (strcmp(o->method, "POST") == 0) {
            if (o->tmpl) {
                if (render(o, seq, &body) != 0)
                    break;
                curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.data);
                curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body.len);
            } else {
                curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
                curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
            }
        } else {
            curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
        }
        buf_reset(&resp);
        t0 = mono_s();
        cc = curl_easy_perform(h);
        t1 = mono_s();
        if (record(c, (t1 - t0) * 1000.0) != 0)
            break;
        if (cc != CURLE_OK) {
            c->transport_errors++;
            if (atomic_fetch_add(&s_reported, 1) == 0)
                fprintf(stderr, "loadgen: first failure: %s (%s)\n", curl_easy_strerror(cc), c->first_curl_error);
            continue;
        }
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        if (status >= 0 && status < LG_MAX_STATUS)
            c->status[status]++;
        if ((status < 200 || status > 299) && atomic_fetch_add(&s_reported, 1) == 0)
            fprintf(stderr, "loadgen: first non-2xx answer: %ld %.300s\n", status, resp.data ? resp.data : "");
    }
out:
    curl_slist_free_all(hdrs);
    if (h)
        curl_easy_cleanup(h);
    buf_free(&body);
    buf_free(&resp);
    return NULL;
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* pct - nearest-rank percentile of sorted v */
static double
pct(const double *v, size_t n, double p)
{
    size_t rank;

    if (n == 0)
        return 0;
    rank = (size_t)(p / 100.0 * (double)n + 0.999999999);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return v[rank - 1];
}

int
main(int argc, char **argv)
{
    options_t o;
    client_t *clients = NULL;
    pthread_t *threads = NULL;
    double *all = NULL;
    long long total = 0, ok = 0, transport = 0, status[LG_MAX_STATUS];
    double t0, elapsed, limit;
    size_t nall = 0;
    long i, started = 0;
    int rc = 1, first, s;

    s = parse_args(argc, argv, &o);
    if (s != 0) {
        free(o.tmpl);
        return s > 0 ? 0 : 2;
    }
    limit = 1;
    for (s = 0; s < o.seq_width; s++)
        limit *= 10;
    if ((double)o.seq_start >= limit) {
        fprintf(stderr, "loadgen: --seq-start %lld does not fit in %d digits\n", o.seq_start, o.seq_width);
        goto out;
    }
    s_seq_end = o.seq_at ? (long long)limit : LLONG_MAX;
    if (o.requests > 0) {
        if ((double)o.seq_start + (double)o.requests > limit && o.seq_at) {
            fprintf(stderr, "loadgen: %lld requests from --seq-start %lld need more than %d digits; "
                            "lower --seq-start or raise --seq-width\n", o.requests, o.seq_start, o.seq_width);
            goto out;
        }
        s_seq_end = o.seq_start + o.requests;
    }
    atomic_store(&s_next_seq, o.seq_start);
    if (curl_global_init(CURL_GLOBAL_ALL) != 0) {
        fprintf(stderr, "loadgen: curl_global_init failed\n");
        goto out;
    }
    clients = calloc((size_t)o.clients, sizeof *clients);
    threads = calloc((size_t)o.clients, sizeof *threads);
    if (!clients || !threads) {
        fprintf(stderr, "loadgen: out of memory\n");
        goto out_curl;
    }
    t0 = mono_s();
    s_deadline = o.seconds > 0 ? t0 + o.seconds : 0;
    for (i = 0; i < o.clients; i++) {
        clients[i].opt = &o;
        if (pthread_create(&threads[i], NULL, client_run, &clients[i]) != 0) {
            fprintf(stderr, "loadgen: cannot start client thread %ld\n", i);
            s_seq_end = 0; /* stop the others */
            break;
        }
        started++;
    }
    for (i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    elapsed = mono_s() - t0;
    if (started < o.clients)
        goto out_curl;
    if (s_deadline > 0 && elapsed < o.seconds - 0.05)
        fprintf(stderr, "loadgen: stopped before --seconds: the %d-digit sequence numbers ran out\n", o.seq_width);

    memset(status, 0, sizeof status);
    for (i = 0; i < o.clients; i++) {
        nall += clients[i].nlat;
        transport += clients[i].transport_errors;
        for (s = 0; s < LG_MAX_STATUS; s++)
            status[s] += clients[i].status[s];
    }
    all = malloc((nall ? nall : 1) * sizeof *all);
    if (!all) {
        fprintf(stderr, "loadgen: out of memory\n");
        goto out_curl;
    }
    nall = 0;
    for (i = 0; i < o.clients; i++) {
        if (clients[i].nlat)
            memcpy(all + nall, clients[i].lat_ms, clients[i].nlat * sizeof *all);
        nall += clients[i].nlat;
    }
    qsort(all, nall, sizeof *all, cmp_double);
    total = (long long)nall;
    for (s = 200; s < 300; s++)
        ok += status[s];

    printf("{\"requests\":%lld,\"ok\":%lld,\"errors\":%lld,\"transport_errors\":%lld,\"status_counts\":{", total, ok,
           total - ok, transport);
    first = 1;
    for (s = 0; s < LG_MAX_STATUS; s++) {
        if (status[s] == 0)
            continue;
        printf("%s\"%d\":%lld", first ? "" : ",", s, status[s]);
        first = 0;
    }
    printf("},\"clients\":%ld,\"seconds\":%.3f,\"rps\":%.1f,\"p50_ms\":%.3f,\"p90_ms\":%.3f,\"p99_ms\":%.3f,"
           "\"max_ms\":%.3f}\n",
           o.clients, elapsed, elapsed > 0 ? (double)total / elapsed : 0.0, pct(all, nall, 50), pct(all, nall, 90),
           pct(all, nall, 99), nall ? all[nall - 1] : 0.0);
    fflush(stdout);
    rc = 0;
out_curl:
    curl_global_cleanup();
out:
    if (clients)
        for (i = 0; i < o.clients; i++)
            free(clients[i].lat_ms);
    free(clients);
    free(threads);
    free(all);
    free(o.tmpl);
    return rc;
}
