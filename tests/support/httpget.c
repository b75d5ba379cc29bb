/*
 * httpget.c - blocking libcurl GET into a fixed buffer (see httpget.h).
 */
#include "tests/support/httpget.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

static size_t on_body(char *ptr, size_t size, size_t n, void *ud)
{
    struct hget_body *b = ud;
    size_t k = size * n;

    if (k > sizeof b->data - 1 - b->len)
        k = sizeof b->data - 1 - b->len;
    memcpy(b->data + b->len, ptr, k);
    b->len += k;
    b->data[b->len] = '\0';
    return size * n;
}

long hget(unsigned port, const char *path, struct hget_body *b)
{
    CURL *c = curl_easy_init();
    char url[128];
    long status = 0;

    b->len = 0;
    b->data[0] = '\0';
    if (c == NULL)
        return 0;
    snprintf(url, sizeof url, "http://127.0.0.1:%u%s", port, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, HGET_TIMEOUT_MS);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    return status;
}
