/*
 * bccid - the gateway daemon: HTTP API, store, dispatcher (design §2, §11)
 *
 * Starts the store (SQLite, WAL), the engine (single writer + ZeroMQ ROUTER)
 * and the HTTP API, then waits for SIGTERM/SIGINT. Stopping drains: no new
 * HTTP requests, in-flight jobs get a bounded time to report, whatever is
 * still leased goes back to ready, so a clean restart finds nothing leased.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "config_check.h"
#include "carriers/carrier.h"
#include "clock.h"
#include "crypto.h"
#include "gateway/http/auth.h"
#include "domain/areas.h"
#include "domain/calendar.h"
#include "gateway/engine/engine.h"
#include "gateway/http/http_api.h"
#include "gateway/store/store_admin.h"
#include "gateway/store/store_timeline.h"
#include "gateway/http/webhook_auth.h"
#include "queues/notify.h"
#include "secret.h"
#include "log.h"

static const config_spec_t bccid_options[] = {
    { "http_listen", "127.0.0.1:8080", "HTTP API address (port 0 = any free port)" },
    { "state_dir", "./var", "database, sockets and keys" },
    { "store", "", "where durable state lives: sqlite:PATH (default sqlite:STATE_DIR/bcci.db), or "
                   "postgresql://USER@HOST:PORT/DBNAME (several bccid on one database)" },
    { "store_password_file", "", "file (0600) holding the PostgreSQL password of a postgresql:// store "
                                 "(empty: PGPASSFILE or ~/.pgpass)" },
    { "jobs_endpoint", NULL, "ZeroMQ endpoint for workers (default ipc://STATE_DIR/jobs.sock; tcp://HOST:PORT)" },
    { "public_base_url", "http://127.0.0.1:8080", "base of the tracking links printed in QR codes" },
    { "case_system_url", "", "where to POST case-system notifications (empty: off; set: case_system.secret_file "
                             "too)" },
    { "case_system.secret_file", "", "file (0600) with the secret notifications are signed with, the same file "
                                     "the workers have (needed with case_system_url: never sent unsigned)" },
    { "carrier", "vnpost", "default carrier for dossiers that name none" },
    { "carrier.vnpost.url", "http://127.0.0.1:9090", "VNPost API base URL (used by workers)" },
    { "carrier.vnpost.username", "demo", "VNPost API user (used by workers)" },
    { "carrier.vnpost.password_file", "", "file holding the VNPost password (used by workers)" },
    { "carrier.vnpost.customer_code", "BCCI", "VNPost customer code (used by workers)" },
    { "carrier.vnpost.webhook_secret_file", "", "file (0600) with the secret VNPost signs webhooks with" },
    { "carrier.vnpost.webhook_allow_from", "", "addresses allowed to post VNPost events with a token (empty: any)" },
    { "carrier.viettel.webhook_secret_file", "", "file (0600) with the secret Viettel Post signs webhooks with" },
    { "carrier.viettel.webhook_allow_from", "", "addresses allowed to post Viettel Post events with a token" },
    { "max_body", "262144", "largest accepted request body in bytes" },
    { "max_batch", "2000", "operations per group commit" },
    { "commit_delay_us", "0", "under load, microseconds a group commit waits for more operations (0: off)" },
    { "http_threads", "0", "HTTP thread pool size; 0: one per core but the one the engine keeps busy "
                           "(at least one)" },
    { "http_timeout", "15", "seconds an idle HTTP connection stays open (slow clients are cut)" },
    { "http_per_ip_limit", "64", "HTTP connections at once from one client address" },
    { "http_request_deadline", "30", "seconds a client has to send a whole request (headers and body), "
                                     "however slowly it trickles; then the connection is cut" },
    { "trusted_proxies", "", "comma-separated addresses of reverse proxies whose X-Forwarded-For the "
                             "tracking page's rate limit believes (empty: none)" },
    { "curve_secret_file", "", "file (0600) with bccid's CURVE secret key (Z85): encrypt the jobs link" },
    { "curve_allowed_workers", "", "file of worker CURVE public keys allowed to connect, one per line" },
    { "insecure_plaintext_jobs", "no", "yes: allow a tcp:// jobs_endpoint without CURVE (citizens' data in clear "
                                       "text; only on a private network you trust; warned at every start)" },
    { "book_max_attempts", "25", "booking attempts before a job is dead" },
    { "notify_max_age_s", "86400", "how long a case-system notification is retried before it is dead" },
    { "drain_ms", "5000", "how long a stop waits for in-flight jobs" },
    { "log_level", "info", "debug, info, warn or error" },
    { "calendar_file", "", "holiday file overriding the built-in 2025-2027 calendar (data/holidays-vn.conf format)" },
    { "communes_file", "", "commune names for labels, manifests and the tracking page: 'CODE = Name' per line "
                           "(QĐ 19/2025 5-digit codes); without it communes print as their codes" },
    { "poll_min_ms", "1800000", "ask the carrier for news after this long without any" },
    { "poll_cap", "100", "tracking polls queued per carrier at most" },
    { "invitation_gap_ms", "0", "wait between delivery invitations (0 = two working days, TT 17 Điều 5.2)" },
    { "citizen_sms", "no", "yes: tell citizens by SMS (out for delivery, failed attempts, back at the desk); "
                           "the workers need sms.url" },
    { "citizen_email", "no", "yes: tell citizens by e-mail when the dossier has an address; the workers need "
                             "smtp.url" },
    { "scheduler_interval_ms", "1000", "how often polls, invitations and SLA checks run" },
    { "purge_after_days", "0", "remove personal data of dossiers finished this many days ago, on a schedule "
                               "(0 = off: only POST /v1/purge or bcci purge)" },
    { "purge_interval_s", "86400", "how often the scheduled purge runs (with purge_after_days)" },
    { NULL, NULL, NULL },
};

/* every value bccid reads, with what it may hold (design §11): checked before anything starts */
static const config_rule_t bccid_rules[] = {
    { "http_listen", CHECK_HOSTPORT, 0, 0, 0, NULL },
    { "store", CHECK_STORE, 1, 0, 0, NULL },
    { "jobs_endpoint", CHECK_ENDPOINT, 1, 0, 0, NULL },
    { "public_base_url", CHECK_URL, 0, 0, 0, NULL },
    { "case_system_url", CHECK_URL, 1, 0, 0, NULL },
    { "carrier.vnpost.url", CHECK_URL, 0, 0, 0, NULL },
    { "max_body", CHECK_INT, 0, 1024, 64 * 1024 * 1024, NULL },
    { "max_batch", CHECK_INT, 0, 1, 100000, NULL },
    { "commit_delay_us", CHECK_INT, 0, 0, 100000, NULL },
    { "http_threads", CHECK_INT, 0, 0, 256, NULL },
    { "http_timeout", CHECK_INT, 0, 1, 3600, NULL },
    { "http_per_ip_limit", CHECK_INT, 0, 1, 1024, NULL },
    { "http_request_deadline", CHECK_INT, 0, 1, 3600, NULL },
    { "insecure_plaintext_jobs", CHECK_BOOL, 0, 0, 0, NULL },
    { "book_max_attempts", CHECK_INT, 0, 1, 1000, NULL },
    { "notify_max_age_s", CHECK_INT, 0, 1, 90LL * 86400, NULL },
    { "drain_ms", CHECK_INT, 0, 0, 600000, NULL },
    { "log_level", CHECK_LOG_LEVEL, 0, 0, 0, NULL },
    { "poll_min_ms", CHECK_INT, 0, 1, 30LL * 86400 * 1000, NULL },
    { "poll_cap", CHECK_INT, 0, 0, 1000000, NULL },
    { "invitation_gap_ms", CHECK_INT, 0, 0, 30LL * 86400 * 1000, NULL },
    { "citizen_sms", CHECK_BOOL, 0, 0, 0, NULL },
    { "citizen_email", CHECK_BOOL, 0, 0, 0, NULL },
    { "scheduler_interval_ms", CHECK_INT, 0, 10, 3600000, NULL },
    { "purge_after_days", CHECK_INT, 0, 0, 36500, NULL },
    { "purge_interval_s", CHECK_INT, 0, 1, 365LL * 86400, NULL },
    { NULL, 0, 0, 0, 0, NULL },
};

/* check_address_list - a comma-separated list of IPv4/IPv6 literals (or empty) */
static int
check_address_list(const char *key, const char *list, char *err, size_t errlen)
{
    const char *p = list;

    while (p && *p) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        unsigned char bin[16];
        char one[64];

        while (n && *p == ' ')
            p++, n--;
        while (n && p[n - 1] == ' ')
            n--;
        snprintf(one, sizeof one, "%.*s", (int)(n < sizeof one ? n : sizeof one - 1), p);
        if (n == 0 || n >= sizeof one ||
            (inet_pton(AF_INET, one, bin) != 1 && inet_pton(AF_INET6, one, bin) != 1)) {
            snprintf(err, errlen, "%s: '%.80s' is not allowed: expected IP addresses separated by commas, e.g. "
                                  "127.0.0.1,10.0.0.5", key, list);
            return -1;
        }
        p = end ? end + 1 : NULL;
    }
    return 0;
}

/* check_store_password - store_password_file only beside a postgresql:// store, private
 * (0600) and readable now: a wrong one stops bccid at start, not at its first write */
static int
check_store_password(const config_t *cfg, char *err, size_t errlen)
{
    const char *path = config_get(cfg, "store_password_file");
    char buf[1024], why[256];
    size_t len = 0;

    if (!*path)
        return 0;
    if (strncmp(config_get(cfg, "store"), "postgresql:", 11) != 0) {
        snprintf(err, errlen, "store_password_file: only a postgresql:// store takes a password; set store too");
        return -1;
    }
    if (secret_file_read(path, buf, sizeof buf, &len, why, sizeof why) != 0) {
        snprintf(err, errlen, "store_password_file: %s", why);
        return -1;
    }
    memset(buf, 0, sizeof buf);
    if (len == 0) {
        snprintf(err, errlen, "store_password_file: %.200s is empty; write the PostgreSQL password in it", path);
        return -1;
    }
    return 0;
}

/* store_uri_of - the store URI bccid opens: the configured one (or the default file in
 * state_dir), with a postgresql:// store's password_file (percent-encoded) added */
static void
store_uri_of(const config_t *cfg, const char *state_dir, char *out, size_t len)
{
    const char *store = config_get(cfg, "store"), *path = config_get(cfg, "store_password_file");
    size_t n;

    if (!*store) {
        snprintf(out, len, "sqlite:%s/bcci.db", state_dir);
        return;
    }
    n = (size_t)snprintf(out, len, "%s", store);
    if (!*path || n >= len)
        return;
    n += (size_t)snprintf(out + n, len - n, "%cpassword_file=", strchr(store, '?') ? '&' : '?');
    for (; *path && n + 4 < len; path++) {
        unsigned char c = (unsigned char)*path;

        if (isalnum(c) || strchr("/-._~", c))
            out[n++] = (char)c;
        else
            n += (size_t)snprintf(out + n, len - n, "%%%02X", c);
    }
    out[n] = '\0';
}

/* check_options - every value in range, the default carrier known, and the jobs link
 * across machines encrypted (design §8): a non-ipc endpoint needs CURVE unless the
 * operator opted out in so many words. Warnings are logged at every start. */
static int
check_options(const config_t *cfg, char *err, size_t errlen)
{
    const config_rule_t carrier_rule = { "carrier", CHECK_ENUM, 0, 0, 0, carrier_names() };
    const char *endpoint = config_get(cfg, "jobs_endpoint");
    const char *base = config_get(cfg, "public_base_url");
    log_level_t level = LOG_INFO;

    if (config_check(cfg, bccid_rules, err, errlen) != 0 ||
        config_check_value(&carrier_rule, config_get(cfg, "carrier"), err, errlen) != 0)
        return -1;
    log_level_parse(config_get(cfg, "log_level"), &level);
    log_set_level(level);
    if (endpoint && *endpoint && strncmp(endpoint, "ipc://", 6) != 0) {
        int curve = *config_get(cfg, "curve_secret_file") && *config_get(cfg, "curve_allowed_workers");

        if (!curve && !config_bool(cfg, "insecure_plaintext_jobs")) {
            snprintf(err, errlen,
                     "jobs_endpoint: '%.100s' is reachable from other machines but the link is not encrypted: set "
                     "curve_secret_file and curve_allowed_workers (bcci keys gen), use ipc://, or set "
                     "insecure_plaintext_jobs = yes on a network you trust",
                     endpoint);
            return -1;
        }
        if (!curve)
            log_warn("insecure_plaintext_jobs = yes: jobs on %s travel in clear text without authentication; "
                     "anyone who reaches the port can take jobs and forge results",
                     endpoint);
    }
    if (check_address_list("trusted_proxies", config_get(cfg, "trusted_proxies"), err, errlen) != 0 ||
        check_store_password(cfg, err, errlen) != 0)
        return -1;
    if (config_url_is_loopback(base))
        log_warn("public_base_url %s is on loopback: QR codes on labels will not open on a citizen's phone; "
                 "set public_base_url to the gateway's public address",
                 base);
    return 0;
}

/* case_system_key - with case_system_url, the signing secret must be given too (notifications
 * are never sent unsigned) and readable; its public id goes into every notify job, so a worker
 * with another secret refuses the job instead of sending a signature the case system rejects.
 * key_id is "" without case_system_url. 0, or -1 with err naming the key. */
static int
case_system_key(const config_t *cfg, char key_id[NOTIFY_KEY_ID_LEN], char *err, size_t errlen)
{
    const char *url = config_get(cfg, "case_system_url");
    const char *file = config_get(cfg, "case_system.secret_file");
    char *secret, why[400];
    size_t len = 0;

    key_id[0] = '\0';
    if (!url || !*url)
        return 0;
    if (!file || !*file) {
        snprintf(err, errlen,
                 "case_system_url is set but case_system.secret_file is not: notifications are never sent "
                 "unsigned; set case_system.secret_file to the file the workers sign with, or leave "
                 "case_system_url empty");
        return -1;
    }
    secret = notify_read_secret(file, &len, why, sizeof why);
    if (!secret) {
        snprintf(err, errlen, "case_system.secret_file: %s", why);
        return -1;
    }
    notify_key_id(secret, len, key_id);
    memset(secret, 0, len);
    free(secret);
    return 0;
}

static int
lock_state_dir(const char *dir, char *err, size_t errlen)
{
    char path[4096];
    int fd;

    snprintf(path, sizeof path, "%s/bccid.lock", dir);
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        snprintf(err, errlen, "another bccid is running on %s (the database is locked)", dir);
        close(fd);
        return -1;
    }
    return fd;
}

/* seal_timelines - key the timeline chain with the server secret; a database from before
 * keyed chains is re-sealed once, here, before anything appends (design §5) */
static int
seal_timelines(store_t *store, const unsigned char *secret, size_t len, char *err, size_t errlen)
{
    store_tx_t *tx = NULL;
    int sealed = 0;
    store_rc_t rc = store_set_chain_key(store, secret, len);

    if (rc == STORE_OK)
        rc = store_tx_begin(store, STORE_WRITE, &tx);
    if (rc == STORE_OK && store_timeline_seal_all(tx, &sealed) != STORE_OK) {
        snprintf(err, errlen, "cannot seal the timelines: %s", store_tx_message(tx));
        store_tx_abort(&tx);
        return -1;
    }
    if (rc == STORE_OK)
        rc = store_tx_commit(&tx);
    if (rc != STORE_OK) {
        snprintf(err, errlen, "cannot seal the timelines (%s); is the database writable?", store_rc_name(rc));
        return -1;
    }
    if (sealed > 0)
        log_info("timeline chains of %d dossiers re-sealed with the server key", sealed);
    return 0;
}

/* load_secret - the server secret (32 random bytes, STATE_DIR/secret, 0600), created on the
 * first start. It keys tracking tokens and manifest codes, so it must survive restarts. */
static int
load_secret(const char *dir, unsigned char *secret, size_t len, char *err, size_t errlen)
{
    char path[4096];
    struct stat stbuf;
    ssize_t n;
    int fd;

    snprintf(path, sizeof path, "%s/secret", dir);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
        if (random_bytes(secret, len) != 0) {
            snprintf(err, errlen, "the system random generator failed");
            return -1;
        }
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0 || write(fd, secret, len) != (ssize_t)len || fsync(fd) != 0) {
            snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
            if (fd >= 0)
                close(fd);
            return -1;
        }
        close(fd);
        log_info("first start: a server secret was written to %s (mode 0600)", path);
        return 0;
    }
    if (fd < 0 || fstat(fd, &stbuf) != 0) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    if (stbuf.st_mode & 0077) {
        snprintf(err, errlen, "%s is readable by others (mode %03o); run chmod 600 %s", path,
                 (unsigned)(stbuf.st_mode & 0777), path);
        close(fd);
        return -1;
    }
    n = read(fd, secret, len);
    close(fd);
    if (n != (ssize_t)len) {
        snprintf(err, errlen, "%s is shorter than %zu bytes; restore it from a backup", path, len);
        return -1;
    }
    return 0;
}

/* write_admin_token - token into STATE_DIR/admin.token, mode 0600 whatever the umask; written
 * beside it and renamed, so the file is always whole (an old one is replaced) */
static int
write_admin_token(const char *dir, const char *token, char *path, size_t pathlen, char *err, size_t errlen)
{
    char tmp[4200];
    size_t len = strlen(token);
    int fd, ok;

    snprintf(path, pathlen, "%s/admin.token", dir);
    snprintf(tmp, sizeof tmp, "%s/admin.token.new", dir);
    unlink(tmp);
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
        return -1;
    }
    ok = fchmod(fd, 0600) == 0 && write(fd, token, len) == (ssize_t)len && write(fd, "\n", 1) == 1 &&
         fsync(fd) == 0;
    if (close(fd) != 0)
        ok = 0;
    if (!ok || rename(tmp, path) != 0) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

/* create_admin_token - a new admin token named name, committed, then left in
 * STATE_DIR/admin.token (0600) so an operator can create the other tokens */
static int
create_admin_token(store_t *store, const char *dir, const char *name, char *err, size_t errlen)
{
    char token[AUTH_TOKEN_LEN], path[4096];
    api_error_t e;
    store_tx_t *tx = NULL;
    store_rc_t rc;
    int ret;

    rc = store_tx_begin(store, STORE_WRITE, &tx);
    if (rc != STORE_OK) {
        snprintf(err, errlen, "cannot create an admin token: the database cannot take writes (%s)",
                 store_rc_name(rc));
        return -1;
    }
    if (auth_token_create(tx, name, "admin", NULL, clock_now_ms(), token, &e) < 0) {
        snprintf(err, errlen, "cannot create an admin token: %s", e.message);
        store_tx_abort(&tx);
        return -1;
    }
    rc = store_tx_commit(&tx);
    if (rc != STORE_OK) {
        snprintf(err, errlen, "cannot create an admin token: the commit failed (%s); retry", store_rc_name(rc));
        explicit_bzero(token, sizeof token);
        return -1;
    }
    ret = write_admin_token(dir, token, path, sizeof path, err, errlen);
    explicit_bzero(token, sizeof token);
    if (ret == 0)
        log_info("admin token '%s' written to %s (mode 0600)", name, path);
    return ret;
}

/* new_admin_token - bccid --new-admin-token: the local recovery when no admin token is known
 * any more. Runs with the daemon stopped (the state-dir lock is held by the caller), adds a
 * fresh admin token named admin-recovered-<time> and writes it to STATE_DIR/admin.token. */
static int
new_admin_token(store_t *store, const char *dir, char *err, size_t errlen)
{
    char name[64], day[16];

    clock_dvc(clock_now_ms(), day, sizeof day);
    snprintf(name, sizeof name, "admin-recovered-%s", day);
    if (create_admin_token(store, dir, name, err, errlen) != 0)
        return -1;
    log_warn("a new admin token '%s' was written to %s/admin.token (mode 0600); start bccid and revoke the admin "
             "tokens that were lost", name, dir);
    return 0;
}

/* bootstrap_admin - on the very first start (no live token at all), create the first admin token */
static int
bootstrap_admin(store_t *store, const char *dir, char *err, size_t errlen)
{
    store_token_list_t all = { 0 };
    store_tx_t *tx = NULL;
    long long n = 0;
    int names_taken;
    store_rc_t rc = store_tx_begin(store, STORE_READ, &tx);

    if (rc == STORE_OK)
        rc = store_admin_token_count(tx, NULL, &n);
    if (rc != STORE_OK) {
        snprintf(err, errlen, "cannot count the API tokens: %s", tx ? store_tx_message(tx) : store_rc_name(rc));
        store_tx_abort(&tx);
        return -1;
    }
    if (n == 0)
        rc = store_admin_token_list(tx, &all);
    store_tx_abort(&tx);
    if (n != 0)
        return 0;
    if (rc != STORE_OK) {
        snprintf(err, errlen, "cannot list the API tokens: %s", store_rc_name(rc));
        return -1;
    }
    names_taken = all.n > 0;
    store_token_list_free(&all);
    if (names_taken) {
        /* every token was revoked (possible before the last admin token was protected): the
         * name "admin" is taken, so recover as --new-admin-token would */
        log_warn("no live API token at all: creating a new admin token");
        return new_admin_token(store, dir, err, errlen);
    }
    log_info("first start: creating the first admin token");
    return create_admin_token(store, dir, "admin", err, errlen);
}

/* load_webhook_auth - per-carrier webhook secrets and allow-lists from the configuration */
static int
load_webhook_auth(const config_t *cfg, webhook_auth_t *auth, char *err, size_t errlen)
{
    static const char *const carriers[] = { "vnpost", "viettel" };
    size_t i;

    for (i = 0; i < sizeof carriers / sizeof carriers[0]; i++) {
        char key[96], secret[256];
        const char *path, *allow;
        size_t len;

        snprintf(key, sizeof key, "carrier.%s.webhook_secret_file", carriers[i]);
        path = config_get(cfg, key);
        if (path && *path) {
            if (secret_file_read(path, secret, sizeof secret, &len, err, errlen) != 0)
                return -1;
            webhook_auth_set_secret(auth, carriers[i], secret, len);
        }
        snprintf(key, sizeof key, "carrier.%s.webhook_allow_from", carriers[i]);
        allow = config_get(cfg, key);
        if (allow && *allow && webhook_auth_set_allow(auth, carriers[i], allow) != 0) {
            snprintf(err, errlen, "%s is too long", key);
            return -1;
        }
    }
    return 0;
}

int
main(int argc, char **argv)
{
    config_t *cfg = config_new(bccid_options);
    char err[512], db_path[4096], endpoint[4200], case_key_id[NOTIFY_KEY_ID_LEN];
    unsigned char secret[32];
    store_t *store = NULL;
    engine_t *engine = NULL;
    http_api_t *api = NULL;
    webhook_auth_t *webhooks = webhook_auth_new();
    calendar_t *calendar = NULL;
    areas_t *areas = NULL;
    engine_config_t ecfg;
    http_api_config_t hcfg;
    const char *state_dir;
    sigset_t set;
    int rc, sig, lock_fd = -1, status = 1, recover_admin = 0, i, j;

    log_init("bccid");
    if (!cfg)
        return 1;
    /* --new-admin-token is an action, not a key = value option: take it out before parsing */
    for (i = j = 1; i < argc; i++) {
        if (strcmp(argv[i], "--new-admin-token") == 0)
            recover_admin = 1;
        else
            argv[j++] = argv[i];
    }
    argc = j;
    rc = config_parse(cfg, argc, argv, 0, err, sizeof err);
    if (rc == CONFIG_HELP) {
        config_print_help(cfg, "bccid", "[-c FILE] [--key value …] [--new-admin-token]");
        printf("\n  --new-admin-token  recovery when no admin token is left: with bccid stopped, write a fresh\n"
               "                     admin token to STATE_DIR/admin.token (mode 0600) and exit\n");
        config_destroy(&cfg);
        webhook_auth_destroy(&webhooks);
        return 0;
    }
    if (rc == CONFIG_VERSION) {
        printf("bccid %s\n", BCCI_VERSION);
        config_destroy(&cfg);
        webhook_auth_destroy(&webhooks);
        return 0;
    }
    if (rc != CONFIG_OK) {
        log_error("%s", err);
        webhook_auth_destroy(&webhooks);
        config_destroy(&cfg);
        return 2;
    }
    if (check_options(cfg, err, sizeof err) != 0 || case_system_key(cfg, case_key_id, err, sizeof err) != 0) {
        log_error("%s", err);
        webhook_auth_destroy(&webhooks);
        config_destroy(&cfg);
        webhook_auth_destroy(&webhooks);
        return 2;
    }

    /* signals are taken synchronously by main; every other thread blocks them */
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    state_dir = config_get(cfg, "state_dir");
    if (mkdir(state_dir, 0700) != 0 && errno != EEXIST) {
        log_error("cannot create state_dir %s: %s", state_dir, strerror(errno));
        goto out;
    }
    /* the ipc socket, database and secrets live here: only this user may enter */
    if (chmod(state_dir, 0700) != 0)
        log_warn("cannot restrict %s to mode 0700: %s", state_dir, strerror(errno));
    lock_fd = lock_state_dir(state_dir, err, sizeof err);
    if (lock_fd < 0) {
        log_error("%s%s", err, recover_admin ? "; stop it first, then run bccid --new-admin-token" : "");
        goto out;
    }
    store_uri_of(cfg, state_dir, db_path, sizeof db_path);
    store = store_open(db_path, err, sizeof err);
    if (!store) {
        log_error("%s", err);
        goto out;
    }

    if (recover_admin) {
        status = new_admin_token(store, state_dir, err, sizeof err) == 0 ? 0 : 1;
        if (status != 0)
            log_error("%s", err);
        goto out;
    }
    if (load_secret(state_dir, secret, sizeof secret, err, sizeof err) != 0 ||
        bootstrap_admin(store, state_dir, err, sizeof err) != 0) {
        log_error("%s", err);
        goto out;
    }
    dossier_set_id_key(secret, sizeof secret);
    if (seal_timelines(store, secret, sizeof secret, err, sizeof err) != 0) {
        log_error("%s", err);
        goto out;
    }

    /* every configured secret is read before anything starts: a bad one stops bccid here */
    if (load_webhook_auth(cfg, webhooks, err, sizeof err) != 0) {
        log_error("%s", err);
        goto out;
    }
    calendar = calendar_load(config_get(cfg, "calendar_file"), err, sizeof err);
    if (!calendar) {
        log_error("%s", err);
        goto out;
    }
    areas = areas_load(config_get(cfg, "communes_file"), err, sizeof err);
    if (!areas) {
        log_error("%s", err);
        goto out;
    }

    memset(&ecfg, 0, sizeof ecfg);
    if (config_get(cfg, "jobs_endpoint") && *config_get(cfg, "jobs_endpoint"))
        snprintf(endpoint, sizeof endpoint, "%s", config_get(cfg, "jobs_endpoint"));
    else
        snprintf(endpoint, sizeof endpoint, "ipc://%s/jobs.sock", state_dir);
    ecfg.jobs_endpoint = endpoint;
    ecfg.curve_secret_key = config_get(cfg, "curve_secret_file");
    ecfg.curve_allowed = config_get(cfg, "curve_allowed_workers");
    ecfg.max_batch = (int)config_get_int(cfg, "max_batch", 2000);
    ecfg.commit_delay_us = (int)config_get_int(cfg, "commit_delay_us", 0);
    ecfg.policy.max_attempts_book = (int)config_get_int(cfg, "book_max_attempts", 25);
    ecfg.policy.backoff_base_ms = 500;
    ecfg.policy.backoff_cap_ms = 5 * 60 * 1000;
    ecfg.policy.case_system_url = config_get(cfg, "case_system_url");
    ecfg.policy.case_system_key_id = case_key_id;
    ecfg.policy.notify_max_age_ms = config_get_int(cfg, "notify_max_age_s", 24 * 3600) * 1000;
    ecfg.policy.calendar = calendar;
    ecfg.policy.poll_min_ms = config_get_int(cfg, "poll_min_ms", 1800000);
    ecfg.policy.citizen_sms = config_bool(cfg, "citizen_sms");
    ecfg.policy.citizen_email = config_bool(cfg, "citizen_email");
    ecfg.scheduler.poll_cap = (int)config_get_int(cfg, "poll_cap", 100);
    ecfg.scheduler.invitation_gap_ms = config_get_int(cfg, "invitation_gap_ms", 0);
    ecfg.scheduler_interval_ms = config_get_int(cfg, "scheduler_interval_ms", 1000);
    ecfg.scheduler.purge_after_days = config_get_int(cfg, "purge_after_days", 0);
    ecfg.scheduler.purge_interval_ms = config_get_int(cfg, "purge_interval_s", 86400) * 1000;
    engine = engine_new(store, &ecfg, err, sizeof err);
    if (!engine) {
        log_error("%s", err);
        goto out;
    }
    if (engine_start(engine) != 0) {
        log_error("cannot start the engine thread");
        goto out;
    }

    memset(&hcfg, 0, sizeof hcfg);
    hcfg.listen = config_get(cfg, "http_listen");
    hcfg.default_carrier = config_get(cfg, "carrier");
    hcfg.public_base_url = config_get(cfg, "public_base_url");
    hcfg.max_body = (size_t)config_get_int(cfg, "max_body", 262144);
    hcfg.threads = (unsigned)config_get_int(cfg, "http_threads", 0);
    hcfg.timeout_s = (unsigned)config_get_int(cfg, "http_timeout", 15);
    hcfg.per_ip_limit = (unsigned)config_get_int(cfg, "http_per_ip_limit", 64);
    hcfg.request_deadline_s = (unsigned)config_get_int(cfg, "http_request_deadline", 30);
    hcfg.trusted_proxies = config_get(cfg, "trusted_proxies");
    hcfg.secret = secret;
    hcfg.webhooks = webhooks;
    hcfg.areas = areas;
    hcfg.calendar = calendar;
    hcfg.secretlen = sizeof secret;
    api = http_api_start(engine, store, &hcfg, err, sizeof err);
    if (!api) {
        log_error("%s", err);
        goto out;
    }
    {
        /* the one line on stdout, JSON like the log: tests and tools read the address from it */
        const char *colon = strrchr(hcfg.listen, ':');
        char url[128];

        snprintf(url, sizeof url, "http://%.*s:%d", colon ? (int)(colon - hcfg.listen) : 9, colon ? hcfg.listen : "127.0.0.1",
                 http_api_port(api));
        fflush(stdout);
        log_fields(STDOUT_FILENO, LOG_INFO, "listening", "http", url, "jobs", endpoint, (const char *)NULL);
    }
    log_info("bccid %s started: http port %d (%u threads), jobs %s, store %s", BCCI_VERSION, http_api_port(api),
             http_api_threads(api), endpoint, db_path);

    while (sigwait(&set, &sig) == 0 && sig != SIGINT && sig != SIGTERM) {
    }
    log_info("signal %d: stopping (drain up to %lld ms)", sig, config_get_int(cfg, "drain_ms", 5000));
    status = 0;
out:
    /* the engine first: it answers every write still queued and resumes its suspended
     * connection, which libmicrohttpd requires before it stops; later writes get 503 */
    if (engine)
        engine_stop(engine, config_get_int(cfg, "drain_ms", 5000));
    http_api_stop(&api);
    engine_destroy(&engine);
    store_close(&store);
    webhook_auth_destroy(&webhooks);
    calendar_destroy(&calendar);
    areas_destroy(&areas);
    if (lock_fd >= 0)
        close(lock_fd);
    config_destroy(&cfg);
    return status;
}
