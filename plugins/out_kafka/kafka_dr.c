/* kafka_dr.c - records in flight and what a delivery report means for them.
 *
 * The slot table gives every produced record a message opaque (slot index plus a
 * generation) so the delivery report finds its record without trusting a pointer that
 * may already be settled. kafka_outcome() is the single place that decides delivered /
 * retriable / permanent for librdkafka errors. Worker thread only.
 */
#include <stdlib.h>

#include "kafka.h"

/* Opaque layout: low SLOT_BITS bits = index, the rest = generation. */
#define SLOT_BITS 24
#define SLOT_MAX  (1u << SLOT_BITS)
#define GEN_MASK  ((uint32_t)(UINTPTR_MAX >> SLOT_BITS))

void kafka_inflight_init(struct kafka_inflight *fl)
{
    *fl = (struct kafka_inflight){.free_head = UINT32_MAX};
}

void kafka_inflight_fini(struct kafka_inflight *fl)
{
    free(fl->slots);
    kafka_inflight_init(fl);
}

static int grow(struct kafka_inflight *fl)
{
    uint32_t ncap = fl->cap ? fl->cap * 2 : 1024;
    struct kafka_slot *n;

    if (fl->cap >= SLOT_MAX) {
        return -1;
    }
    if (ncap > SLOT_MAX) {
        ncap = SLOT_MAX;
    }
    n = realloc(fl->slots, ncap * sizeof(*n));
    if (!n) {
        return -1;
    }
    /* Thread the new slots onto the free list, lowest index first. */
    for (uint32_t i = ncap; i-- > fl->cap;) {
        n[i] = (struct kafka_slot){.rec = NULL, .gen = 0, .next_free = fl->free_head};
        fl->free_head = i;
    }
    fl->slots = n;
    fl->cap = ncap;
    return 0;
}

void *kafka_inflight_add(struct kafka_inflight *fl, struct lf_record *rec)
{
    struct kafka_slot *s;
    uint32_t idx;

    if (fl->free_head == UINT32_MAX && grow(fl) != 0) {
        return NULL;
    }
    idx = fl->free_head;
    s = &fl->slots[idx];
    fl->free_head = s->next_free;
    s->rec = rec;
    s->gen = (s->gen + 1) & GEN_MASK;
    if (s->gen == 0) {
        s->gen = 1; /* opaque is never NULL */
    }
    fl->used++;
    return (void *)(((uintptr_t)s->gen << SLOT_BITS) | idx);
}

struct lf_record *kafka_inflight_take(struct kafka_inflight *fl, void *opaque)
{
    uintptr_t v = (uintptr_t)opaque;
    uint32_t idx = (uint32_t)(v & (SLOT_MAX - 1));
    uint32_t gen = (uint32_t)(v >> SLOT_BITS);
    struct kafka_slot *s;
    struct lf_record *rec;

    if (idx >= fl->cap) {
        return NULL;
    }
    s = &fl->slots[idx];
    if (!s->rec || s->gen != gen) {
        return NULL; /* settled already: a late report after purge/shutdown */
    }
    rec = s->rec;
    s->rec = NULL;
    s->next_free = fl->free_head;
    fl->free_head = idx;
    fl->used--;
    return rec;
}

size_t kafka_inflight_settle_all(struct kafka_inflight *fl, struct lf_out_instance *ins,
                                 enum lf_outcome outcome, const char *reason)
{
    size_t n = 0;

    for (uint32_t i = 0; i < fl->cap && fl->used; i++) {
        struct kafka_slot *s = &fl->slots[i];
        struct lf_record *rec = s->rec;
        if (!rec) {
            continue;
        }
        s->rec = NULL;
        s->next_free = fl->free_head;
        fl->free_head = i;
        fl->used--;
        lf_out_ack(ins, rec, outcome, reason);
        n++;
    }
    return n;
}

bool kafka_err_is_unknown_topic(rd_kafka_resp_err_t err)
{
    return err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC ||
           err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART;
}

bool kafka_err_is_too_large(rd_kafka_resp_err_t err)
{
    return err == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE ||
           err == RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE;
}

/* Permanent: sending the same bytes again cannot succeed. Everything else (transport,
 * all brokers down, timeouts including the local message timeout, leader changes,
 * NOT_ENOUGH_REPLICAS, purges, fatal idempotence state...) is retriable: the core retries,
 * opens its breaker and spools. A missing topic is permanent only when we may not create
 * it. */
enum lf_outcome kafka_outcome(rd_kafka_resp_err_t err, bool create_topics)
{
    switch (err) {
    case RD_KAFKA_RESP_ERR_NO_ERROR:
        return LF_DELIVERED;
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_INVALID_RECORD:
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
    case RD_KAFKA_RESP_ERR__INVALID_ARG:
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
        return LF_REJECTED;
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
        return create_topics ? LF_RETRY : LF_REJECTED;
    default:
        return LF_RETRY;
    }
}
