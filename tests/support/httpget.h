/*
 * httpget.h - one blocking GET to 127.0.0.1 for integration tests that
 * read toolwatch's status server (/healthz, /readyz, /status, /metrics).
 *
 * The body is kept in a fixed buffer (the rest is dropped, still
 * NUL-terminated), so a hostile or huge answer cannot grow the test.
 */
#ifndef TW_TESTS_HTTPGET_H
#define TW_TESTS_HTTPGET_H

#include <stddef.h>

#define HGET_BODY_MAX (256u * 1024u)
#define HGET_TIMEOUT_MS 3000L

struct hget_body {
    char data[HGET_BODY_MAX];
    size_t len;
};

/* GET http://127.0.0.1:port/path (no proxy, HGET_TIMEOUT_MS).  Returns
 * the HTTP status, 0 when no answer came (refused, timeout).  *b holds
 * the body, NUL-terminated. */
long hget(unsigned port, const char *path, struct hget_body *b);

/* The same with `Authorization: Bearer <token>` when token is not NULL;
 * with `headers`, the response headers are kept in *b before the body. */
long hget_auth(unsigned port, const char *path, const char *token,
               int headers, struct hget_body *b);

#endif
