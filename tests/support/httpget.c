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
    return hget_auth(port, path, NULL, 0, b);
}

long hget_auth(unsigned port, const char *path, const char *token,
               int headers, struct hget_body *b)
{
    CURL *c = curl_easy_init();
    struct curl_slist *h = NULL;
    char url[128], auth[512];
    long status = 0;

    b->len = 0;
    b->data[0] = '\0';
    if (c == NULL)
        return 0;
    snprintf(url, sizeof url, "http://127.0.0.1:%u%s", port, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, HGET_TIMEOUT_MS);
    if (token != NULL) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
        h = curl_slist_append(h, auth);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    }
    if (headers) {
        curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_body);
        curl_easy_setopt(c, CURLOPT_HEADERDATA, b);
    }
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    curl_slist_free_all(h);
    return status;
}
