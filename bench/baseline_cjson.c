/*
 * baseline_cjson.c - the floor any cJSON-based stream reader pays.
 *
 *   baseline_cjson URL
 *
 * Reads the SSE stream at URL with libcurl (the same library, transfer
 * settings and receive buffer size as toolwatch's reader), cuts it into
 * frames at blank lines, takes each frame's `data:` field and parses it with
 * cJSON_ParseWithLength + cJSON_Delete.  Nothing else: no UTF-8 checks, no
 * CR handling, no field extraction, no detectors.  bench/driver.c serves the
 * same corpus to it and to `toolwatch run` and compares their rates.
 *
 * When the server ends the stream it prints one line on stdout,
 *   "done EVENTS PARSE_ERRORS"
 * which is the driver's end-of-run mark (the same moment toolwatch logs
 * "server closed the stream"), and exits 0.
 */
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RECV_BUFFER (64 * 1024) /* = consumer/stream.c STREAM_RECV_BUFFER */
#define CARRY_MAX (4 * 1024 * 1024)

struct reader {
    char *carry;         /* an incomplete frame from the previous chunk */
    size_t carry_len;
    unsigned long long events;
    unsigned long long errors;
};

/* One complete frame (without its blank line): parse its data field. */
static void frame(struct reader *r, const char *p, size_t n)
{
    const char *end = p + n;

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *eol = nl != NULL ? nl : end;

        if (eol - p >= 6 && memcmp(p, "data: ", 6) == 0) {
            cJSON *root = cJSON_ParseWithLength(p + 6, (size_t)(eol - p - 6));
            if (root == NULL)
                r->errors++;
            cJSON_Delete(root);
            r->events++;
        }
        p = eol + 1;
    }
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
    struct reader *r = ud;
    size_t n = size * nmemb;
    const char *p = data, *end = data + n;

    if (r->carry_len > 0) {
        /* finish the carried frame: its end is in this chunk (or later) */
        const char *q = data;
        for (;;) {
            const char *nl = memchr(q, '\n', (size_t)(end - q));
            int blank;
            if (nl == NULL) {
                q = end;
                break;
            }
            blank = nl == data ? r->carry[r->carry_len - 1] == '\n'
                               : nl[-1] == '\n';
            q = nl + 1;
            if (blank)
                break;
        }
        if (r->carry_len + (size_t)(q - data) > CARRY_MAX)
            return 0;
        memcpy(r->carry + r->carry_len, data, (size_t)(q - data));
        r->carry_len += (size_t)(q - data);
        if (q == end && !(r->carry_len >= 2 &&
                          r->carry[r->carry_len - 1] == '\n' &&
                          r->carry[r->carry_len - 2] == '\n'))
            return n;
        frame(r, r->carry, r->carry_len);
        r->carry_len = 0;
        p = q;
    }
    while (p < end) {
        const char *q = p;
        const char *stop = NULL;

        for (;;) {
            const char *nl = memchr(q, '\n', (size_t)(end - q));
            if (nl == NULL || nl + 1 >= end)
                break;
            if (nl[1] == '\n') {
                stop = nl;
                break;
            }
            q = nl + 1;
        }
        if (stop == NULL) {
            if ((size_t)(end - p) > CARRY_MAX)
                return 0;
            memcpy(r->carry, p, (size_t)(end - p));
            r->carry_len = (size_t)(end - p);
            break;
        }
        frame(r, p, (size_t)(stop - p));
        p = stop + 2;
    }
    return n;
}

int main(int argc, char **argv)
{
    struct reader r;
    struct curl_slist *h = NULL;
    CURL *e;
    CURLcode rc;

    if (argc != 2) {
        fprintf(stderr, "usage: baseline_cjson URL\n");
        return 2;
    }
    memset(&r, 0, sizeof r);
    if ((r.carry = malloc(CARRY_MAX)) == NULL)
        return 1;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    e = curl_easy_init();
    if (e == NULL)
        return 1;
    h = curl_slist_append(h, "Accept: text/event-stream");
    curl_easy_setopt(e, CURLOPT_URL, argv[1]);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(e, CURLOPT_BUFFERSIZE, (long)RECV_BUFFER);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &r);
    rc = curl_easy_perform(e);
    printf("done %llu %llu\n", r.events, r.errors);
    fflush(stdout);
    curl_slist_free_all(h);
    curl_easy_cleanup(e);
    curl_global_cleanup();
    free(r.carry);
    if (rc != CURLE_OK) {
        fprintf(stderr, "baseline_cjson: %s\n", curl_easy_strerror(rc));
        return 1;
    }
    return 0;
}
