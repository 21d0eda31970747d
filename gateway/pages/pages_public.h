/*
 * pages_public - the HTML that citizens and clerks read in a browser
 *
 * The citizen tracking page (GET /t/{waybill}) is built here from plain data
 * as one self-contained HTML document: inline CSS, no script, no external
 * resource, Vietnamese text. The clerk page (GET /clerk) is a static shell
 * with its script and style embedded as C strings, so bccid serves them
 * without reading files at run time.
 *
 * Privacy (design §8): the builders only ever get what may be shown: a
 * masked name (page_mask_name), province and commune codes, statuses and
 * times, the carrier's reason for a failed attempt, and the public desk (the
 * agency's one-stop office: its name, address and phone) that holds a result
 * on its way back. They never see the citizen's phone, address or ID numbers.
 *
 * Ownership: page_*_html return a NUL-terminated buffer the caller owns
 * (free), or NULL when out of memory. Everything passed in is borrowed.
 */
#ifndef BCCI_PAGES_PUBLIC_H
#define BCCI_PAGES_PUBLIC_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct areas;

/* the post office's hotline shown on every citizen page (VNPost's) */
#define PAGE_HOTLINE "1900 54 54 81"
#define PAGE_HOTLINE_TEL "1900545481"
/* working days from the gateway's intake to the expected delivery */
#define PAGE_TRANSIT_WORKING_DAYS 4

typedef struct {
    int64_t time;        /* ms since the epoch (UTC) */
    const char *status;  /* normalized status name (carriers/status.h) */
} page_event_t;

typedef struct {
    const char *waybill;
    const char *status;        /* the shipment's current normalized status */
    int64_t status_time;       /* ms */
    int64_t created_at;        /* ms: intake by the gateway */
    int64_t expected;          /* ms in the expected delivery day; 0 = not shown */
    const char *recipient;     /* already masked (page_mask_name) or a public agency name */
    const char *province_code; /* "01", may be "" */
    const char *commune_code;  /* "00008", may be "" */
    const struct areas *areas; /* commune names (gateway/areas.h); borrowed, may be NULL */
    const page_event_t *events;
    size_t nevents;            /* shown newest first as given: the caller orders them */
    int64_t now;               /* ms: when the page is built */
    /* optional (NULL / 0 = not shown) */
    const char *leg;           /* "send": the citizen's dossier on its way to the agency */
    const char *fail_reason;   /* delivery_failed: the carrier's reason ("Người nhận vắng nhà") */
    int64_t next_attempt;      /* delivery_failed: ms in the day of the next attempt */
    int next_agreed;           /* 1: that day was agreed with the citizen by the desk */
    const char *desk_name;     /* returning, returned: the desk that holds the result */
    const char *desk_address;
    const char *desk_phone;
    const char *received_by;   /* delivered: who received it, already masked */
    int setup_error;           /* the gateway could not hand the order to the post office (its
                                * configuration, a refused booking): not the parcel's problem */
} page_tracking_t;

/* page_mask_name - "Nguyễn Thị Ánh Tuyết" -> "Nguyễn T. Á. T.": the first word
 * whole, every other word its first letter and '.'. Whitespace runs count as one
 * separator; combining marks after an initial stay with it. Returns 0, or -1 when
 * out is too small or name is not valid UTF-8 (out is then "" ). */
int page_mask_name(const char *name, char *out, size_t outlen);

/* page_html_escape - append s to b with & < > " ' escaped; BUF_OK or the buf error */
int page_html_escape(buf_t *b, const char *s);

/* page_format_time - "dd/MM/yyyy HH:mm" in Vietnam time; out >= 17 bytes */
void page_format_time(int64_t ms, char *out, size_t outlen);
/* page_format_date - "Thứ Sáu, 28/11/2025" in Vietnam time; out >= 40 bytes */
void page_format_date(int64_t ms, char *out, size_t outlen);



/* builders: caller frees; NULL when out of memory */
char *page_tracking_html(const page_tracking_t *t, size_t *len);
/* page_not_found_html - the one 404 page for a wrong token or an unknown waybill */
char *page_not_found_html(size_t *len);
char *page_rate_limited_html(int retry_after_s, size_t *len);

/* the clerk page: static, borrowed for the life of the process */
extern const char page_clerk_html[];
extern const char page_clerk_js[];
extern const char page_clerk_css[];

/* Content-Security-Policy of the citizen pages and of the clerk page */
#define PAGE_CSP_PUBLIC "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'"
#define PAGE_CSP_CLERK                                                                                              \
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data: blob:; " \
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"

#endif
