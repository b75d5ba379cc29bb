/*
 * journal.c - the durable outbox: the file layer (contract in journal.h).
 *
 * The records' bytes are the pure record layer's (alerts/journal_record.h:
 * encoders, CRC32C, the scanner journal_open reads the file with).  This
 * file keeps an index of pending records in memory -- sequence number,
 * offset and size, never the bodies -- and reads a body back from the file
 * only when it is needed (journal_foreach_pending, compaction).  Appends
 * are positional writes at the end of the intact records (after a failed
 * write the file may be longer); a compaction streams the pending records
 * into journal.log.tmp (base/file.h's file_write_all), fsyncs and renames
 * it, and keeps its descriptor: base/file.h's file_replace would need the
 * whole new file in memory and a reopen.
 *
 * Invariants of struct journal:
 *  - pend[] is sorted by seq, strictly increasing; an entry with size 0
 *    was acknowledged (a tombstone, removed by index_compact());
 *  - live_bytes/live_count are the sizes/count of the non-tombstones;
 *  - every record before `size` in journal.log is intact; the file may be
 *    longer only when tail_dirty is set (a failed write or truncate), and
 *    the next write first truncates it back;
 *  - synced <= size; everything before `synced` is durable;
 *  - `unsynced` lists the acks written after `synced`, `redo` the acks not
 *    written at all; both arrays have room for nredo + nunsynced entries
 *    (reserved when an ack is accepted), so moving acks from one to the
 *    other (writing them, voiding them) never allocates or fails;
 *  - next_seq is greater than every sequence number in the file, and a
 *    number is never handed out twice (not even after a voided append);
 *  - pos is the newest position in the file (highest generation, ties to
 *    the later record) that is trusted, pos_synced the newest durable one:
 *    they differ only while a put_position after `synced` is not yet
 *    synced, and a void goes back to pos_synced;
 *  - compact_due is set when the file had damage in the middle at open
 *    (positions after it are not trusted): the next sync rewrites the
 *    file, so that the positions put from then on are trusted.
 */
#include "alerts/journal.h"

#include "base/file.h"
#include "base/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h> /* renameat */
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* the record layer's codes are passed on as the journal's */
_Static_assert((int)JOURNAL_RECORD_EOK == (int)JOURNAL_OK &&
                   (int)JOURNAL_RECORD_EINVAL == (int)JOURNAL_EINVAL &&
                   (int)JOURNAL_RECORD_ETOOBIG == (int)JOURNAL_ETOOBIG,
               "journal_record.h and journal.h codes differ");

#define LOG_NAME "journal.log"
#define TMP_NAME "journal.log.tmp"
#define LOCK_NAME "journal.lock"

#define DEFAULT_MAX_PENDING ((uint64_t)JOURNAL_DEFAULT_MAX_PENDING_BYTES)
#define DEFAULT_MIN_DEAD (UINT64_C(1) << 20)
/* The checkpoint a compaction writes is "dead" too: never compact for
 * less than this, or every sync of an empty journal would compact. */
#define MIN_MIN_DEAD 4096

/* ---- the journal object ------------------------------------------------- */

struct pend {
    uint64_t seq;
    uint64_t off;  /* record offset in journal.log */
    uint32_t size; /* record bytes; 0 = acknowledged */
};

struct ackrec {
    uint64_t seq;
    unsigned char outcome;
};

struct jpos {
    uint64_t gen;  /* 0: none */
    size_t len;
    char id[JOURNAL_RECORD_MAX_POSITION];
    struct journal_mark mark; /* seq 0: none */
};

struct journal {
    int dirfd, fd, lockfd;
    uint64_t max_pending, min_dead;
    struct pend *pend; /* sorted by seq, tombstones have size 0 */
    size_t npend, cap_pend, tombstones;
    uint64_t live_count, live_bytes;
    uint64_t size;   /* end of the last intact record */
    uint64_t synced; /* durable up to here */
    uint64_t next_seq;
    int tail_dirty;  /* the file may extend past `size` */
    int dir_dirty;   /* a rename whose directory fsync failed */
    int writable;
    int busy;        /* inside journal_foreach_pending */
    struct ackrec *redo;     /* acks not yet written */
    size_t nredo, cap_redo;
    struct ackrec *unsynced; /* acks written after `synced` */
    size_t nunsynced, cap_unsynced;
    unsigned char *wbuf;     /* one record */
    size_t wcap;
    struct jpos pos;         /* newest position (maybe not yet durable) */
    struct jpos pos_synced;  /* newest durable position */
    int compact_due;         /* rewrite at the next sync (see above) */
    struct journal_stats st;
};

static int grow(void **arr, size_t *cap, size_t need, size_t elem)
{
    size_t ncap;
    void *p;

    if (need <= *cap)
        return 0;
    ncap = *cap ? *cap : 16;
    while (ncap < need)
        ncap *= 2;
    p = realloc(*arr, ncap * elem);
    if (p == NULL)
        return -1;
    *arr = p;
    *cap = ncap;
    return 0;
}

static int wbuf_reserve(journal *j, size_t n)
{
    unsigned char *p;

    if (n <= j->wcap)
        return 0;
    p = realloc(j->wbuf, n);
    if (p == NULL)
        return -1;
    j->wbuf = p;
    j->wcap = n;
    return 0;
}

static int map_errno(int e)
{
    switch (e) {
    case ENOSPC:
    case EFBIG:
#ifdef EDQUOT
    case EDQUOT:
#endif
        return JOURNAL_ENOSPC;
    case ENOMEM:
        return JOURNAL_ENOMEM;
    default:
        return JOURNAL_EIO;
    }
}

/* Binary search; the index of `seq` in pend[] or SIZE_MAX. */
static size_t find(const journal *j, uint64_t seq)
{
    size_t lo = 0, hi = j->npend;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (j->pend[mid].seq < seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (lo < j->npend && j->pend[lo].seq == seq) ? lo : SIZE_MAX;
}

static void forget(journal *j, size_t k)
{
    if (j->pend[k].size == 0)
        return;
    j->live_bytes -= j->pend[k].size;
    j->live_count--;
    j->pend[k].size = 0;
    j->tombstones++;
}

static void pos_set(struct jpos *p, uint64_t gen, const char *id,
                    size_t len, const struct journal_mark *mark)
{
    p->gen = gen;
    p->len = len;
    if (len > 0)
        memcpy(p->id, id, len);
    p->mark.seq = mark != NULL ? mark->seq : 0;
    p->mark.made_ms = mark != NULL && mark->seq > 0 ? mark->made_ms : 0;
}

static void index_compact(journal *j)
{
    size_t w = 0;

    for (size_t r = 0; r < j->npend; r++) {
        if (j->pend[r].size != 0)
            j->pend[w++] = j->pend[r];
    }
    j->npend = w;
    j->tombstones = 0;
}

static int write_at(int fd, const unsigned char *p, size_t n, uint64_t off)
{
    size_t done = 0;

    while (done < n) {
        ssize_t w = pwrite(fd, p + done, n - done, (off_t)(off + done));
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (w == 0) {
            errno = ENOSPC;
            return -1;
        }
        done += (size_t)w;
    }
    return 0;
}

static int read_at(int fd, unsigned char *p, size_t n, uint64_t off)
{
    size_t done = 0;

    while (done < n) {
        ssize_t r = pread(fd, p + done, n - done, (off_t)(off + done));
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (r == 0) {
            errno = EIO; /* the file is shorter than the index says */
            return -1;
        }
        done += (size_t)r;
    }
    return 0;
}

/* A write failed with errno `e`: cut the partial record off (or remember
 * to), and report. */
static int write_failed(journal *j, int e)
{
    j->tail_dirty = 1;
    if (ftruncate(j->fd, (off_t)j->size) == 0)
        j->tail_dirty = 0;
    j->writable = 0;
    j->st.write_errors++;
    return map_errno(e);
}

/* Append rec[0..n) at the end of the intact records. */
static int append_bytes(journal *j, const unsigned char *rec, size_t n)
{
    if (write_at(j->fd, rec, n, j->size) != 0)
        return write_failed(j, errno);
    j->size += n;
    j->writable = 1;
    return JOURNAL_OK;
}

static int write_ack(journal *j, const struct ackrec *a)
{
    unsigned char rec[JOURNAL_RECORD_ACK_SIZE];
    size_t n;
    int rc;

    rc = journal_record_encode_ack(rec, sizeof(rec), j->next_seq, a->seq,
                                   (enum journal_record_outcome)a->outcome,
                                   &n);
    if (rc != JOURNAL_RECORD_EOK)
        return rc;
    rc = append_bytes(j, rec, n);
    if (rc == JOURNAL_OK) {
        j->next_seq++;
        j->unsynced[j->nunsynced++] = *a;
    }
    return rc;
}

/* Before any write: cut a dirty tail, write the acks that are owed. */
static int prepare(journal *j)
{
    size_t done = 0;
    int rc = JOURNAL_OK;

    if (j->tail_dirty) {
        if (ftruncate(j->fd, (off_t)j->size) != 0) {
            j->writable = 0;
            j->st.write_errors++;
            rc = map_errno(errno);
            goto out;
        }
        j->tail_dirty = 0;
    }
    while (done < j->nredo) {
        rc = write_ack(j, &j->redo[done]);
        if (rc != JOURNAL_OK)
            break;
        done++;
    }
    if (done > 0) {
        memmove(j->redo, j->redo + done,
                (j->nredo - done) * sizeof(*j->redo));
        j->nredo -= done;
    }
out:
    return rc;
}

/* A sync failed: what was written after `synced` may be lost; forget it
 * so that the caller's retry is the only copy. */
static void void_unsynced(journal *j)
{
    while (j->npend > 0 && j->pend[j->npend - 1].off >= j->synced) {
        const struct pend *p = &j->pend[j->npend - 1];
        if (p->size != 0) {
            j->live_bytes -= p->size;
            j->live_count--;
        } else {
            j->tombstones--;
        }
        j->npend--;
    }
    if (j->nunsynced > 0) {
        memcpy(j->redo + j->nredo, j->unsynced,
               j->nunsynced * sizeof(*j->unsynced));
        j->nredo += j->nunsynced;
    }
    j->nunsynced = 0;
    j->pos = j->pos_synced;
    j->size = j->synced;
    j->tail_dirty = 1;
    if (ftruncate(j->fd, (off_t)j->size) == 0)
        j->tail_dirty = 0;
    j->writable = 0;
    j->st.write_errors++;
}

/* ---- open --------------------------------------------------------------- */

struct loader {
    journal *j;
    struct ackrec *acks;
    size_t nacks, cap_acks;
    int sorted;
    int oom;
    int damaged;          /* damage seen so far in the file */
    uint64_t untrusted;   /* position records after damage */
};

static int load_record(void *ud, const struct journal_record *r)
{
    struct loader *ld = ud;
    journal *j = ld->j;

    if (r->after_damage)
        ld->damaged = 1;
    if (r->type == JOURNAL_RECORD_POSITION) {
        /* Damage before a position may be a notification of the same
         * batch that did not reach the disk (a power cut persists the
         * blocks of an unfinished fsync in any order): the position would
         * then claim events whose alerts are gone.  Not trusted; the
         * position before the damage stays in force. */
        if (ld->damaged)
            ld->untrusted++;
        else if (r->gen >= j->pos.gen)
            pos_set(&j->pos, r->gen, r->pos_id, r->pos_id_len, &r->mark);
    } else if (r->type == JOURNAL_RECORD_ENQUEUE) {
        if (grow((void **)&j->pend, &j->cap_pend, j->npend + 1,
                 sizeof(*j->pend)) != 0) {
            ld->oom = 1;
            return 1;
        }
        if (j->npend > 0 && j->pend[j->npend - 1].seq >= r->seq)
            ld->sorted = 0;
        j->pend[j->npend].seq = r->seq;
        j->pend[j->npend].off = r->offset;
        j->pend[j->npend].size = (uint32_t)r->size;
        j->npend++;
    } else if (r->type == JOURNAL_RECORD_ACK) {
        if (grow((void **)&ld->acks, &ld->cap_acks, ld->nacks + 1,
                 sizeof(*ld->acks)) != 0) {
            ld->oom = 1;
            return 1;
        }
        ld->acks[ld->nacks].seq = r->acked_seq;
        ld->acks[ld->nacks].outcome = (unsigned char)r->outcome;
        ld->nacks++;
    }
    return 0;
}

static int cmp_pend(const void *a, const void *b)
{
    const struct pend *x = a, *y = b;

    if (x->seq != y->seq)
        return x->seq < y->seq ? -1 : 1;
    return x->off < y->off ? -1 : (x->off > y->off);
}

/* Read journal.log back into the index.  *valid_end receives where the
 * intact records end. */
static int load(journal *j, uint64_t file_size, uint64_t *valid_end)
{
    struct loader ld;
    struct journal_record_scan_result res;
    void *map = MAP_FAILED;
    int rc = JOURNAL_OK;

    memset(&ld, 0, sizeof(ld));
    ld.j = j;
    ld.sorted = 1;
    memset(&res, 0, sizeof(res));
    *valid_end = 0;
    if (file_size == 0)
        goto out;
    if (file_size > SIZE_MAX) {
        rc = JOURNAL_EIO;
        goto out;
    }
    map = mmap(NULL, (size_t)file_size, PROT_READ, MAP_PRIVATE, j->fd, 0);
    if (map == MAP_FAILED) {
        rc = map_errno(errno);
        goto out;
    }
    journal_record_scan(map, (size_t)file_size, load_record, &ld, &res);
    if (ld.oom) {
        rc = JOURNAL_ENOMEM;
        goto out;
    }
    j->st.corrupt_records += res.corrupt;
    *valid_end = res.valid_end;
    if (res.max_seq >= j->next_seq)
        j->next_seq = res.max_seq + 1;

    if (!ld.sorted) {
        size_t w = 0;
        qsort(j->pend, j->npend, sizeof(*j->pend), cmp_pend);
        for (size_t r = 0; r < j->npend; r++) {
            if (w > 0 && j->pend[w - 1].seq == j->pend[r].seq) {
                j->st.corrupt_records++; /* a duplicate number */
                continue;
            }
            j->pend[w++] = j->pend[r];
        }
        j->npend = w;
    }
    for (size_t r = 0; r < j->npend; r++) {
        j->live_bytes += j->pend[r].size;
        j->live_count++;
    }
    for (size_t a = 0; a < ld.nacks; a++) {
        size_t k = find(j, ld.acks[a].seq);
        if (k != SIZE_MAX)
            forget(j, k);
    }
    index_compact(j);
    j->pos_synced = j->pos;
    if (res.corrupt > 0)
        LOG(LOG_WARN, "journal", "skipped %llu damaged record(s)",
            (unsigned long long)res.corrupt);
    if (ld.untrusted > 0)
        LOG(LOG_WARN, "journal", "%llu stream position record(s) after "
            "damaged records not used", (unsigned long long)ld.untrusted);
    /* positions put after the damage would not be trusted either: rewrite
     * the file without it at the next sync */
    if (ld.damaged)
        j->compact_due = 1;
out:
    if (map != MAP_FAILED)
        munmap(map, (size_t)file_size);
    free(ld.acks);
    return rc;
}

journal *journal_open(const char *dir, const struct journal_options *opt,
                      int *err)
{
    journal *j = NULL;
    struct stat sb;
    uint64_t valid_end = 0;
    int rc = JOURNAL_OK;

    if (dir == NULL || dir[0] == '\0') {
        rc = JOURNAL_EINVAL;
        goto out;
    }
    j = calloc(1, sizeof(*j));
    if (j == NULL) {
        rc = JOURNAL_ENOMEM;
        goto out;
    }
    j->dirfd = j->fd = j->lockfd = -1;
    j->next_seq = 1;
    j->writable = 1;
    j->max_pending = (opt && opt->max_pending_bytes) ? opt->max_pending_bytes
                                                     : DEFAULT_MAX_PENDING;
    j->min_dead = (opt && opt->compact_min_dead) ? opt->compact_min_dead
                                                 : DEFAULT_MIN_DEAD;
    if (j->min_dead < MIN_MIN_DEAD)
        j->min_dead = MIN_MIN_DEAD;

    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        rc = JOURNAL_EIO;
        goto out;
    }
    j->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (j->dirfd < 0) {
        rc = JOURNAL_EIO;
        goto out;
    }
    j->lockfd = openat(j->dirfd, LOCK_NAME, O_RDWR | O_CREAT | O_CLOEXEC,
                       0600);
    if (j->lockfd < 0) {
        rc = JOURNAL_EIO;
        goto out;
    }
    if (flock(j->lockfd, LOCK_EX | LOCK_NB) != 0) {
        rc = errno == EWOULDBLOCK ? JOURNAL_ELOCKED : JOURNAL_EIO;
        goto out;
    }
    /* a compaction that did not reach its rename */
    if (unlinkat(j->dirfd, TMP_NAME, 0) != 0 && errno != ENOENT) {
        rc = JOURNAL_EIO;
        goto out;
    }
    j->fd = openat(j->dirfd, LOG_NAME, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (j->fd < 0 || fstat(j->fd, &sb) != 0) {
        rc = JOURNAL_EIO;
        goto out;
    }
    rc = load(j, (uint64_t)sb.st_size, &valid_end);
    if (rc != JOURNAL_OK)
        goto out;
    if (valid_end < (uint64_t)sb.st_size) {
        j->st.torn_bytes = (uint64_t)sb.st_size - valid_end;
        LOG(LOG_WARN, "journal",
            "cut %llu byte(s) of incomplete record(s) from the end",
            (unsigned long long)j->st.torn_bytes);
        /* if this fails the next write truncates first (tail_dirty) */
        if (ftruncate(j->fd, (off_t)valid_end) != 0 || fdatasync(j->fd) != 0)
            j->tail_dirty = 1;
    }
    if (fsync(j->dirfd) != 0) {
        rc = JOURNAL_EIO;
        goto out;
    }
    j->size = j->synced = valid_end;
out:
    if (rc != JOURNAL_OK) {
        int saved = errno; /* the failed call's, for the caller to say */

        journal_close(j);
        j = NULL;
        errno = saved;
    }
    if (err != NULL)
        *err = rc;
    return j;
}

void journal_close(journal *j)
{
    if (j == NULL)
        return;
    if (j->fd >= 0)
        close(j->fd);
    if (j->lockfd >= 0)
        close(j->lockfd); /* releases the flock */
    if (j->dirfd >= 0)
        close(j->dirfd);
    free(j->pend);
    free(j->redo);
    free(j->unsynced);
    free(j->wbuf);
    free(j);
}

/* ---- writing ------------------------------------------------------------ */

int journal_append(journal *j, const struct journal_record_entry *e,
                   uint64_t *seq)
{
    size_t size, n;
    int rc;

    if (j == NULL || j->busy) {
        rc = JOURNAL_EINVAL;
        goto out;
    }
    rc = journal_record_entry_check(e); /* its codes are ours */
    if (rc != JOURNAL_RECORD_EOK)
        goto out;
    size = journal_record_enqueue_size(e);
    if (j->live_bytes + size > j->max_pending) {
        rc = JOURNAL_EFULL;
        goto out;
    }
    if (grow((void **)&j->pend, &j->cap_pend, j->npend + 1,
             sizeof(*j->pend)) != 0 ||
        wbuf_reserve(j, size) != 0) {
        rc = JOURNAL_ENOMEM;
        goto out;
    }
    rc = prepare(j);
    if (rc != JOURNAL_OK)
        goto out;
    rc = journal_record_encode_enqueue(j->wbuf, j->wcap, j->next_seq, e, &n);
    if (rc != JOURNAL_RECORD_EOK)
        goto out;
    {
        uint64_t off = j->size;
        rc = append_bytes(j, j->wbuf, n);
        if (rc != JOURNAL_OK)
            goto out;
        j->pend[j->npend].seq = j->next_seq;
        j->pend[j->npend].off = off;
        j->pend[j->npend].size = (uint32_t)n;
        j->npend++;
    }
    j->live_bytes += n;
    j->live_count++;
    if (seq != NULL)
        *seq = j->next_seq;
    j->next_seq++;
out:
    return rc;
}

int journal_ack(journal *j, uint64_t seq, enum journal_record_outcome outcome)
{
    struct ackrec a;
    size_t k;
    int rc = JOURNAL_OK;

    if (j == NULL || j->busy ||
        (outcome != JOURNAL_RECORD_DELIVERED &&
         outcome != JOURNAL_RECORD_DEAD_LETTERED)) {
        rc = JOURNAL_EINVAL;
        goto out;
    }
    k = find(j, seq);
    if (k == SIZE_MAX || j->pend[k].size == 0) {
        rc = JOURNAL_ENOENT;
        goto out;
    }
    /* room to keep this ack whatever happens (see the invariants) */
    if (grow((void **)&j->unsynced, &j->cap_unsynced,
             j->nunsynced + j->nredo + 1, sizeof(*j->unsynced)) != 0 ||
        grow((void **)&j->redo, &j->cap_redo, j->nredo + j->nunsynced + 1,
             sizeof(*j->redo)) != 0) {
        rc = JOURNAL_ENOMEM;
        goto out;
    }
    forget(j, k);
    a.seq = seq;
    a.outcome = (unsigned char)outcome;
    if (prepare(j) != JOURNAL_OK || write_ack(j, &a) != JOURNAL_OK)
        j->redo[j->nredo++] = a; /* written by the next append/sync */
out:
    return rc;
}

int journal_put_position(journal *j, uint64_t gen, const char *id,
                         size_t len)
{
    return journal_put_position_mark(j, gen, id, len, NULL);
}

int journal_put_position_mark(journal *j, uint64_t gen, const char *id,
                              size_t len, const struct journal_mark *mark)
{
    size_t n;
    int rc;

    if (j == NULL || j->busy || gen == 0 || gen > JOURNAL_RECORD_GEN_MAX ||
        gen < j->pos.gen || (id == NULL && len > 0)) {
        rc = JOURNAL_EINVAL;
        goto out;
    }
    if (len > JOURNAL_RECORD_MAX_POSITION) {
        rc = JOURNAL_ETOOBIG;
        goto out;
    }
    if (wbuf_reserve(j, journal_record_position_size(len) +
                            JOURNAL_RECORD_MARK_SIZE) != 0) {
        rc = JOURNAL_ENOMEM;
        goto out;
    }
    rc = prepare(j);
    if (rc != JOURNAL_OK)
        goto out;
    rc = journal_record_encode_position_mark(j->wbuf, j->wcap, gen, id, len,
                                             mark, &n);
    if (rc != JOURNAL_RECORD_EOK)
        goto out;
    rc = append_bytes(j, j->wbuf, n);
    if (rc != JOURNAL_OK)
        goto out;
    pos_set(&j->pos, gen, id, len, mark);
out:
    return rc;
}

void journal_position_mark(const journal *j, struct journal_mark *out)
{
    out->seq = j != NULL ? j->pos.mark.seq : 0;
    out->made_ms = j != NULL ? j->pos.mark.made_ms : 0;
}

uint64_t journal_position(const journal *j, const char **id, size_t *len)
{
    if (id != NULL)
        *id = j != NULL ? j->pos.id : "";
    if (len != NULL)
        *len = j != NULL ? j->pos.len : 0;
    return j != NULL ? j->pos.gen : 0;
}

/* ---- compaction --------------------------------------------------------- */

static int need_compact(const journal *j)
{
    uint64_t dead = j->size - j->live_bytes;
    uint64_t limit = j->live_bytes > UINT64_MAX / 2 ? UINT64_MAX
                                                    : 2 * j->live_bytes;

    if (limit < j->min_dead)
        limit = j->min_dead;
    return dead > limit;
}

static int capture(void *ud, const struct journal_record *r)
{
    *(struct journal_record *)ud = *r;
    return 0;
}

/* Read pend[k]'s record into wbuf and check it: 0 intact (*out, if not
 * NULL, points into wbuf), 1 damaged, or a negative JOURNAL_E*. */
static int read_pending(journal *j, size_t k, struct journal_record *out)
{
    struct journal_record_scan_result res;
    struct journal_record r;
    const struct pend *p = &j->pend[k];

    if (wbuf_reserve(j, p->size) != 0)
        return JOURNAL_ENOMEM;
    if (read_at(j->fd, j->wbuf, p->size, p->off) != 0)
        return JOURNAL_EIO;
    memset(&r, 0, sizeof(r));
    journal_record_scan(j->wbuf, p->size, capture, &r, &res);
    if (res.records != 1 || res.corrupt != 0 || res.valid_end != p->size ||
        r.type != JOURNAL_RECORD_ENQUEUE || r.seq != p->seq)
        return 1;
    if (out != NULL)
        *out = r;
    return 0;
}

static int compact_now(journal *j)
{
    unsigned char cp[JOURNAL_RECORD_CHECKPOINT_SIZE];
    unsigned char pr[JOURNAL_RECORD_POSITION_MAX_SIZE];
    uint64_t *newoff = NULL, pos = 0;
    size_t n;
    int tmpfd = -1;
    int rc = JOURNAL_OK;

    tmpfd = openat(j->dirfd, TMP_NAME,
                   O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (tmpfd < 0) {
        rc = map_errno(errno);
        goto out;
    }
    newoff = malloc((j->npend ? j->npend : 1) * sizeof(*newoff));
    if (newoff == NULL) {
        rc = JOURNAL_ENOMEM;
        goto out;
    }
    rc = journal_record_encode_checkpoint(cp, sizeof(cp), j->next_seq, &n);
    if (rc != JOURNAL_RECORD_EOK)
        goto out;
    if (file_write_all(tmpfd, cp, n) != FILE_OK) {
        rc = map_errno(errno);
        goto out;
    }
    pos += n;
    for (size_t k = 0; k < j->npend; k++) {
        int r;
        newoff[k] = UINT64_MAX;
        if (j->pend[k].size == 0)
            continue;
        r = read_pending(j, k, NULL);
        if (r < 0) {
            rc = r;
            goto out;
        }
        if (r > 0) {
            LOG(LOG_ERROR, "journal",
                "pending record %llu is damaged on disk; dropped",
                (unsigned long long)j->pend[k].seq);
            j->st.corrupt_records++;
            continue; /* forgotten below, once the new file is in place */
        }
        if (file_write_all(tmpfd, j->wbuf, j->pend[k].size) != FILE_OK) {
            rc = map_errno(errno);
            goto out;
        }
        newoff[k] = pos;
        pos += j->pend[k].size;
    }
    /* the newest position, after the notifications it covers */
    if (j->pos.gen > 0) {
        rc = journal_record_encode_position_mark(pr, sizeof(pr), j->pos.gen,
                                                 j->pos.id, j->pos.len,
                                                 &j->pos.mark, &n);
        if (rc != JOURNAL_RECORD_EOK)
            goto out;
        if (file_write_all(tmpfd, pr, n) != FILE_OK) {
            rc = map_errno(errno);
            goto out;
        }
        pos += n;
    }
    if (fdatasync(tmpfd) != 0) {
        rc = map_errno(errno);
        goto out;
    }
    if (renameat(j->dirfd, TMP_NAME, j->dirfd, LOG_NAME) != 0) {
        rc = map_errno(errno);
        goto out;
    }
    /* the new file is in place: switch to it whatever happens next */
    close(j->fd);
    j->fd = tmpfd;
    tmpfd = -1;
    for (size_t k = 0; k < j->npend; k++) {
        if (j->pend[k].size == 0)
            continue;
        if (newoff[k] == UINT64_MAX)
            forget(j, k);
        else
            j->pend[k].off = newoff[k];
    }
    index_compact(j);
    j->size = j->synced = pos;
    j->nunsynced = 0;
    j->nredo = 0; /* acked entries are simply absent now */
    j->tail_dirty = 0;
    j->pos_synced = j->pos;
    j->compact_due = 0;
    j->st.compactions++;
    j->writable = 1;
    j->dir_dirty = fsync(j->dirfd) != 0;
    if (j->dir_dirty)
        rc = JOURNAL_EIO;
out:
    if (tmpfd >= 0) {
        close(tmpfd);
        unlinkat(j->dirfd, TMP_NAME, 0);
        if (rc == JOURNAL_ENOSPC || rc == JOURNAL_EIO) {
            j->writable = 0;
            j->st.write_errors++;
        }
    }
    free(newoff);
    return rc;
}

int journal_compact(journal *j)
{
    int rc;

    if (j == NULL || j->busy)
        return JOURNAL_EINVAL;
    rc = prepare(j);
    if (rc == JOURNAL_OK)
        rc = compact_now(j);
    return rc;
}

int journal_sync(journal *j)
{
    int rc;

    if (j == NULL || j->busy)
        return JOURNAL_EINVAL;
    rc = prepare(j);
    if (rc != JOURNAL_OK)
        goto fail;
    if ((need_compact(j) || j->compact_due) && compact_now(j) == JOURNAL_OK)
        goto ok;
    if (j->dir_dirty) {
        if (fsync(j->dirfd) != 0) {
            rc = map_errno(errno);
            goto fail;
        }
        j->dir_dirty = 0;
    }
    if (j->size != j->synced) {
        if (fdatasync(j->fd) != 0) {
            rc = map_errno(errno);
            goto fail;
        }
        j->writable = 1; /* a sync with nothing to do proves nothing */
    }
ok:
    j->synced = j->size;
    j->nunsynced = 0;
    j->pos_synced = j->pos;
    if (j->tombstones > 64 && j->tombstones > j->live_count)
        index_compact(j);
    return JOURNAL_OK;
fail:
    void_unsynced(j);
    return rc;
}

/* ---- reading ------------------------------------------------------------ */

int journal_foreach_pending(journal *j, journal_pending_fn fn, void *ud)
{
    return journal_foreach_pending_from(j, 0, fn, ud);
}

int journal_foreach_pending_from(journal *j, uint64_t from_seq,
                                 journal_pending_fn fn, void *ud)
{
    int rc = JOURNAL_OK;
    size_t lo = 0, hi;

    if (j == NULL || fn == NULL || j->busy)
        return JOURNAL_EINVAL;
    /* the first entry at or after from_seq: pend[] is sorted by seq */
    hi = j->npend;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (j->pend[mid].seq < from_seq)
            lo = mid + 1;
        else
            hi = mid;
    }
    j->busy = 1;
    for (size_t k = lo; k < j->npend && rc == JOURNAL_OK; k++) {
        struct journal_record r;
        int got;

        if (j->pend[k].size == 0)
            continue;
        got = read_pending(j, k, &r);
        if (got < 0) {
            rc = got;
            break;
        }
        if (got > 0) {
            LOG(LOG_ERROR, "journal",
                "pending record %llu is damaged on disk; dropped",
                (unsigned long long)j->pend[k].seq);
            j->st.corrupt_records++;
            forget(j, k);
            continue;
        }
        rc = fn(ud, r.seq, &r.entry);
    }
    j->busy = 0;
    return rc;
}

size_t journal_pending_count(const journal *j)
{
    return j != NULL ? (size_t)j->live_count : 0;
}

int journal_writable(const journal *j)
{
    return j != NULL && j->writable;
}

void journal_get_stats(const journal *j, struct journal_stats *st)
{
    if (st == NULL)
        return;
    memset(st, 0, sizeof(*st));
    if (j == NULL)
        return;
    *st = j->st;
    st->next_seq = j->next_seq;
    st->pending = j->live_count;
    st->pending_bytes = j->live_bytes;
    st->file_bytes = j->size;
}

const char *journal_strerror(int rc)
{
    switch (rc) {
    case JOURNAL_OK: return "ok";
    case JOURNAL_EINVAL: return "invalid argument";
    case JOURNAL_ENOMEM: return "out of memory";
    case JOURNAL_EIO: return "journal I/O error";
    case JOURNAL_ENOSPC: return "no space left for the journal";
    case JOURNAL_EFULL: return "journal pending limit reached";
    case JOURNAL_ETOOBIG: return "journal entry too large";
    case JOURNAL_ENOENT: return "no such pending journal entry";
    case JOURNAL_ELOCKED: return "journal in use by another process";
    default: return "unknown journal error";
    }
}
