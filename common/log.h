/*
 * log - JSON-lines logging to stderr
 *
 * Lines are always valid UTF-8 JSON: a byte that is not valid UTF-8 is written
 * as the text \xHH (so a raw byte from a URL never reaches the log).
 * One line per event: {"ts":"…","level":"info","prog":"bccid","rid":"…","msg":"…"}.
 * The request id is per thread (log_set_request_id), so a line written while
 * serving a dossier carries the dossier's request id. Never pass personal data
 * (names, phones, addresses, ID numbers) to these functions.
 * The program name passed to log_init is borrowed for the life of the process.
 */
#ifndef BCCI_LOG_H
#define BCCI_LOG_H

typedef enum { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR } log_level_t;

void log_init(const char *prog);
void log_set_level(log_level_t min);
/* log_level_parse - "debug", "info", "warn" or "error" into *out; 0, or -1 (out
 * untouched) for anything else. The one parser of the log_level option. */
int log_level_parse(const char *s, log_level_t *out);
/* LOG_LEVEL_CHOICES - what log_level_parse accepts, for error messages */
#define LOG_LEVEL_CHOICES "debug, info, warn, error"
/* log_set_request_id - copy rid (or clear with NULL) for the calling thread */
void log_set_request_id(const char *rid);
void log_msg(log_level_t level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* log_fields - one line of the same shape with msg and more string fields (key, value pairs,
 * ended by NULL) on fd, whatever the level filter says: for lines other programs read, such as
 * bccid's {"msg":"listening","http":…,"jobs":…} on stdout */
void log_fields(int fd, log_level_t level, const char *msg, ...) __attribute__((sentinel));

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
