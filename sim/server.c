/*
 * server.c - libmicrohttpd SSE server for the synthetic audit stream.
 *
 * One thread per connection (MHD_USE_THREAD_PER_CONNECTION): the content
 * reader callback may block to pace the stream, sleeping in steps of at
 * most STEP_MS so that a stop request is seen quickly.  Each connection
 * keeps its own cursor (next event index) and a pending frame buffer, so
 * any `max` that libmicrohttpd asks for is served exactly.
 */
#include "sim/server.h"

#include "base/clock.h"
#include "base/log.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STEP_MS 50
#define BLOCK_SIZE (64 * 1024)

struct sim_server {
    struct MHD_Daemon *daemon;
    sim_gen gen;
    struct sim_server_options o;
    int64_t t0_mono;
    uint16_t port;
    atomic_int stopping;
    atomic_uint_fast64_t connections;
    atomic_uint_fast64_t events_sent;
    atomic_uint_fast64_t resumed;
    atomic_uint_fast64_t last_resume_id;
};

struct conn {
    sim_server *srv;
    uint64_t next;         /* next event index to send */
    int64_t last_write;    /* monotonic ms */
    char pend[SIM_FRAME_MAX];
    size_t pend_len;
    size_t pend_off;
};

void sim_server_options_defaults(struct sim_server_options *o)
{
    memset(o, 0, sizeof *o);
    sim_gen_options_defaults(&o->gen);
    o->bind_addr = "127.0.0.1";
    o->heartbeat_ms = 5000;
    o->max_connections = 16;
}

static void sleep_ms(int64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000};

    nanosleep(&ts, NULL);
}

/* Is event n due at monotonic time `now`? */
static int is_due(const sim_server *s, uint64_t n, int64_t now)
{
    return s->o.unpaced || sim_gen_due_ms(&s->gen, n) <= now - s->t0_mono;
}

/* The first event not yet due: where a client without an id starts. */
static uint64_t live_edge(const sim_server *s, int64_t now)
{
    uint64_t lo = 0, hi = 1;

    if (s->o.unpaced)
        return 0;
    while (is_due(s, hi, now) && hi < (1ull << 50))
        hi *= 2;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (is_due(s, mid, now))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static size_t take_pending(struct conn *c, char *buf, size_t max)
{
    size_t n = c->pend_len - c->pend_off;

    if (n > max)
        n = max;
    memcpy(buf, c->pend + c->pend_off, n);
    c->pend_off += n;
    if (c->pend_off == c->pend_len)
        c->pend_len = c->pend_off = 0;
    return n;
}

static ssize_t read_stream(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct conn *c = cls;
    sim_server *s = c->srv;
    size_t out = 0;
    uint64_t sent = 0;

    (void)pos;
    for (;;) {
        int64_t now = clock_mono_ms();

        if (atomic_load(&s->stopping))
            return out > 0 ? (ssize_t)out : MHD_CONTENT_READER_END_OF_STREAM;
        if (c->pend_len > 0)
            out += take_pending(c, buf + out, max - out);
        while (out < max && c->pend_len == 0 &&
               (s->o.total == 0 || c->next < s->o.total) &&
               is_due(s, c->next, now)) {
            size_t room = max - out;
            if (room >= SIM_FRAME_MAX) {
                out += sim_gen_frame(&s->gen, c->next, buf + out, room);
            } else {
                c->pend_len = sim_gen_frame(&s->gen, c->next, c->pend,
                                            sizeof c->pend);
                out += take_pending(c, buf + out, room);
            }
            c->next++;
            sent++;
        }
        if (out > 0)
            break;
        if (s->o.total != 0 && c->next >= s->o.total)
            return MHD_CONTENT_READER_END_OF_STREAM;
        if (now - c->last_write >= (int64_t)s->o.heartbeat_ms) {
            static const char hb[] = ": heartbeat\n\n";
            size_t n = sizeof hb - 1 < max ? sizeof hb - 1 : max;
            memcpy(buf, hb, n);
            out = n;
            break;
        }
        {
            int64_t wait = sim_gen_due_ms(&s->gen, c->next) -
                           (now - s->t0_mono);
            if (wait > STEP_MS)
                wait = STEP_MS;
            if (wait < 1)
                wait = 1;
            sleep_ms(wait);
        }
    }
    c->last_write = clock_mono_ms();
    if (sent > 0)
        atomic_fetch_add(&s->events_sent, sent);
    return (ssize_t)out;
}

static void free_conn(void *cls)
{
    free(cls);
}

static int parse_id(const char *v, uint64_t *out)
{
    uint64_t n = 0;

    if (v == NULL || *v == '\0')
        return -1;
    for (; *v; v++) {
        if (*v < '0' || *v > '9' || n > (UINT64_MAX - 9) / 10)
            return -1;
        n = n * 10 + (uint64_t)(*v - '0');
    }
    *out = n;
    return 0;
}

static enum MHD_Result answer(void *cls, struct MHD_Connection *mc,
                              const char *url, const char *method,
                              const char *version, const char *upload,
                              size_t *upload_size, void **req_cls)
{
    sim_server *s = cls;
    struct MHD_Response *r;
    struct conn *c;
    const char *lei;
    uint64_t id;
    enum MHD_Result ret;

    (void)url;
    (void)version;
    (void)upload;
    (void)upload_size;
    (void)req_cls;
    if (strcmp(method, "GET") != 0) {
        static const char msg[] = "method not allowed\n";
        r = MHD_create_response_from_buffer(sizeof msg - 1, (void *)msg,
                                            MHD_RESPMEM_PERSISTENT);
        if (r == NULL)
            return MHD_NO;
        MHD_add_response_header(r, "Allow", "GET");
        ret = MHD_queue_response(mc, MHD_HTTP_METHOD_NOT_ALLOWED, r);
        MHD_destroy_response(r);
        return ret;
    }
    c = calloc(1, sizeof *c);
    if (c == NULL)
        return MHD_NO;
    c->srv = s;
    c->last_write = clock_mono_ms();
    lei = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, "Last-Event-ID");
    if (parse_id(lei, &id) == 0) {
        c->next = id + 1;
        atomic_fetch_add(&s->resumed, 1);
        atomic_store(&s->last_resume_id, id + 1);
    } else {
        c->next = s->o.from_start ? 0 : live_edge(s, clock_mono_ms());
    }
    atomic_fetch_add(&s->connections, 1);
    r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, BLOCK_SIZE,
                                          read_stream, c, free_conn);
    if (r == NULL) {
        free(c);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", "text/event-stream");
    MHD_add_response_header(r, "Cache-Control", "no-cache");
    ret = MHD_queue_response(mc, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}

sim_server *sim_server_start(const struct sim_server_options *o)
{
    sim_server *s = calloc(1, sizeof *s);
    struct sockaddr_in addr;
    const union MHD_DaemonInfo *info;

    if (s == NULL)
        goto fail;
    s->o = *o;
    if (sim_gen_init(&s->gen, &o->gen) != SIM_OK) {
        LOG(LOG_ERROR, "sim", "invalid generator options");
        goto fail;
    }
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons(o->port);
    if (inet_pton(AF_INET, o->bind_addr ? o->bind_addr : "127.0.0.1",
                  &addr.sin_addr) != 1) {
        LOG(LOG_ERROR, "sim", "invalid bind address %s", o->bind_addr);
        goto fail;
    }
    s->t0_mono = clock_mono_ms();
    s->daemon = MHD_start_daemon(
        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
            MHD_USE_ERROR_LOG,
        o->port, NULL, NULL, answer, s, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&addr, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)(o->max_connections ? o->max_connections : 16),
        MHD_OPTION_END);
    if (s->daemon == NULL) {
        LOG(LOG_ERROR, "sim", "cannot listen on %s:%u",
            o->bind_addr ? o->bind_addr : "127.0.0.1", (unsigned)o->port);
        goto fail;
    }
    info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info != NULL ? info->port : o->port;
    return s;
fail:
    free(s);
    return NULL;
}

uint16_t sim_server_port(const sim_server *s)
{
    return s->port;
}

void sim_server_get_stats(const sim_server *s, struct sim_server_stats *out)
{
    sim_server *m = (sim_server *)s;

    out->connections = atomic_load(&m->connections);
    out->events_sent = atomic_load(&m->events_sent);
    out->resumed = atomic_load(&m->resumed);
    out->last_resume_id = atomic_load(&m->last_resume_id);
}

void sim_server_stop(sim_server *s)
{
    if (s == NULL)
        return;
    atomic_store(&s->stopping, 1);
    if (s->daemon != NULL)
        MHD_stop_daemon(s->daemon);
    free(s);
}
