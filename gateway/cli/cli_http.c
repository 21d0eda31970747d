/*
 * cli_http - configuration and HTTP calls of the bcci client (see cli.h)
 *
 * One libcurl easy handle per client, reused so that a bulk submission runs
 * over one kept-alive connection. The token is sent only as a bearer header
 * and never printed.
 */
#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "gateway/cli/cli.h"

#define RESP_MAX ((size_t)512 * 1024 * 1024)

struct cli_client {
    CURL *h;
    cli_conf_t conf;
};

/* ------------------------------------------------------------ config */

static char *
trim(char *s)
{
    char *e;

    while (isspace((unsigned char)*s))
        s++;
    e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

/* load_file - read url/token from path into file_url/file_token (empty when absent) */
static int
load_file(const char *path, int must_exist, char *file_url, size_t urllen, char *file_token, size_t toklen,
          char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    char line[2048];
    int lineno = 0;
    struct stat sb;

    if (!f) {
        if (!must_exist && errno == ENOENT)
            return 0;
        snprintf(err, errlen, "cannot read the configuration file %s: %s", path, strerror(errno));
        return -1;
    }
    while (fgets(line, sizeof line, f)) {
        char *eq, *key, *value;

        lineno++;
        key = trim(line);
        if (!*key || *key == '#')
            continue;
        eq = strchr(key, '=');
        if (!eq) {
            snprintf(err, errlen, "%s:%d: expected `key = value` (keys: url, token)", path, lineno);
            fclose(f);
            return -1;
        }
        *eq = '\0';
        key = trim(key);
        value = trim(eq + 1);
        if (strcmp(key, "url") == 0) {
            snprintf(file_url, urllen, "%s", value);
        } else if (strcmp(key, "token") == 0) {
            snprintf(file_token, toklen, "%s", value);
        } else {
            snprintf(err, errlen, "%s:%d: unknown key '%s' (keys: url, token)", path, lineno, key);
            fclose(f);
            return -1;
        }
    }
    if (*file_token && fstat(fileno(f), &sb) == 0 && (sb.st_mode & 077))
        fprintf(stderr, "bcci: warning: %s holds a token but others may read it; chmod 600 %s\n", path, path);
    fclose(f);
    return 0;
}

int
cli_conf_load(cli_conf_t *conf, const char *flag_url, const char *flag_token, const char *config_path, char *err,
              size_t errlen)
{
    char file_url[1024] = "", file_token[512] = "", def[1024] = "";
    const char *env_url = getenv("BCCI_URL"), *env_token = getenv("BCCI_TOKEN");
    const char *path = config_path;

    memset(conf, 0, sizeof *conf);
    if (!path) {
        const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
        if (xdg && *xdg)
            snprintf(def, sizeof def, "%s/bcci/config", xdg);
        else if (home && *home)
            snprintf(def, sizeof def, "%s/.config/bcci/config", home);
        path = *def ? def : NULL;
    }
    if (path && load_file(path, config_path != NULL, file_url, sizeof file_url, file_token, sizeof file_token, err,
                          errlen) != 0)
        return -1;
    if (flag_url && *flag_url) {
        snprintf(conf->url, sizeof conf->url, "%s", flag_url);
        snprintf(conf->source_url, sizeof conf->source_url, "flag");
    } else if (env_url && *env_url) {
        snprintf(conf->url, sizeof conf->url, "%s", env_url);
        snprintf(conf->source_url, sizeof conf->source_url, "environment");
    } else if (*file_url) {
        snprintf(conf->url, sizeof conf->url, "%s", file_url);
        snprintf(conf->source_url, sizeof conf->source_url, "file");
    } else {
        snprintf(conf->url, sizeof conf->url, "%s", CLI_DEFAULT_URL);
        snprintf(conf->source_url, sizeof conf->source_url, "default");
    }
    if (flag_token && *flag_token) {
        snprintf(conf->token, sizeof conf->token, "%s", flag_token);
        snprintf(conf->source_token, sizeof conf->source_token, "flag");
    } else if (env_token && *env_token) {
        snprintf(conf->token, sizeof conf->token, "%s", env_token);
        snprintf(conf->source_token, sizeof conf->source_token, "environment");
    } else if (*file_token) {
        snprintf(conf->token, sizeof conf->token, "%s", file_token);
        snprintf(conf->source_token, sizeof conf->source_token, "file");
    } else {
        snprintf(conf->source_token, sizeof conf->source_token, "none");
    }
    /* "http://host:port/" and "http://host:port" mean the same */
    {
        size_t n = strlen(conf->url);
        while (n > 0 && conf->url[n - 1] == '/')
            conf->url[--n] = '\0';
    }
    return 0;
}

/* ------------------------------------------------------------ HTTP */

cli_client_t *
cli_client_new(const cli_conf_t *conf)
{
    cli_client_t *self = calloc(1, sizeof *self);

    if (!self)
        return NULL;
    self->conf = *conf;
    self->h = curl_easy_init();
    if (!self->h) {
        free(self);
        return NULL;
    }
    return self;
}

void
cli_client_destroy(cli_client_t **selfp)
{
    cli_client_t *self = *selfp;

    if (!self)
        return;
    curl_easy_cleanup(self->h);
    free(self);
    *selfp = NULL;
}

static size_t
collect(char *data, size_t size, size_t n, void *userp)
{
    return buf_append(userp, data, size * n) == BUF_OK ? size * n : 0;
}

long
cli_call(cli_client_t *self, const char *method, const char *path, const char *body, size_t bodylen,
         cli_resp_t *resp)
{
    struct curl_slist *hdrs = NULL;
    char url[4096], auth[600];
    char *ct = NULL;
    CURLcode rc;
    CURL *h = self->h;

    memset(resp, 0, sizeof *resp);
    buf_init(&resp->body, RESP_MAX);
    if (snprintf(url, sizeof url, "%s%s", self->conf.url, path) >= (int)sizeof url) {
        snprintf(resp->err, sizeof resp->err, "the URL is longer than %zu bytes", sizeof url);
        return 0;
    }
    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &resp->body);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 120L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "bcci/" BCCI_VERSION);
    if (body) {
        hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)bodylen);
    } else if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, 0L);
    }
    if (self->conf.token[0]) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", self->conf.token);
        hdrs = curl_slist_append(hdrs, auth);
    }
    hdrs = curl_slist_append(hdrs, "Expect:");
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    rc = curl_easy_perform(h);
    if (rc == CURLE_OK) {
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->status);
        if (curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct)
            snprintf(resp->content_type, sizeof resp->content_type, "%s", ct);
    } else {
        snprintf(resp->err, sizeof resp->err, "cannot reach %s: %s (is bccid running? set --url or BCCI_URL)",
                 self->conf.url, curl_easy_strerror(rc));
        resp->status = 0;
    }
    curl_slist_free_all(hdrs);
    explicit_bzero(auth, sizeof auth);
    return resp->status;
}

void
cli_resp_free(cli_resp_t *resp)
{
    buf_free(&resp->body);
}

char *
cli_escape(const char *s)
{
    char *e = curl_easy_escape(NULL, s, 0), *out;

    if (!e)
        return NULL;
    out = strdup(e);
    curl_free(e);
    return out;
}
