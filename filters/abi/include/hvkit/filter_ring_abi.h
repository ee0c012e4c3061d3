/* Filter ring ABI: the shared-memory region through which the host
 * (hvfilterd) hands items to filter modules in a guest and gets verdicts back.
 *
 * Shared by the host and the guest, so it is plain C, fixed-width,
 * little-endian, with no padding the compiler chooses. One region holds a
 * header, two entry rings and two data areas:
 *
 *   request ring  host -> guest   struct hvfilter_request per item
 *   verdict ring  guest -> host   struct hvfilter_verdict per item
 *   request data  host writes the item bytes a request names
 *   verdict data  guest writes the changed bytes a CHANGED verdict names
 *
 * Each side trusts nothing it reads from the region: the library validates
 * every index, offset and length before use. docs/filter-rings.md explains
 * the protocol, memory ordering, doorbells and the version policy.
 */
#ifndef HVKIT_FILTER_RING_ABI_H
#define HVKIT_FILTER_RING_ABI_H

#include <stdint.h>

/* A peer refuses a different major; a minor only adds what an older peer may
 * ignore (reserved fields and flag bits it does not know). */
#define HVFILTER_ABI_MAJOR 0u
#define HVFILTER_ABI_MINOR 2u

#define HVFILTER_REGION_MAGIC 0x52465648u /* "HVFR" in memory order */

/* Every part of the region starts on a cache line. */
#define HVFILTER_ALIGN 64u
/* Entry counts are powers of two in [1, HVFILTER_MAX_RING_ENTRIES]. */
#define HVFILTER_MAX_RING_ENTRIES 32768u
/* Data area sizes are powers of two in [MIN, MAX]. */
#define HVFILTER_MIN_DATA_AREA 64u
#define HVFILTER_MAX_DATA_AREA 0x40000000u /* 1 GiB */

/* The chain table (since 0.2) is at most this many bytes. */
#define HVFILTER_MAX_CHAIN_TABLE 0x100000u /* 1 MiB */

/* Data areas are byte rings the producer fills in order: an item's bytes
 * start where the previous item's ended, or at offset 0 when they would
 * cross the area's end (the tail is padding); an item without bytes has
 * offset 0. An item takes at most half its area. Advancing the consumer
 * index releases those entries' bytes and the padding before them. The
 * consumer computes the same placement and refuses any other. */

/* Where one entry ring lies: its control block at (offset), the entries
 * right after it (HVFILTER_RING_ENTRIES_OFFSET). */
struct hvfilter_ring_desc {
    uint64_t offset;     /* from the region's start; a multiple of HVFILTER_ALIGN */
    uint32_t entries;    /* power of two */
    uint32_t entry_size; /* sizeof the ring's entry struct (this version: exactly) */
};

/* Where one data area lies. */
struct hvfilter_area_desc {
    uint64_t offset; /* from the region's start; a multiple of HVFILTER_ALIGN */
    uint64_t size;   /* power of two */
};

/* At offset 0. The host writes it once (magic last, with release ordering)
 * before the guest attaches; neither side reads it again afterwards. */
struct hvfilter_region_header {
    uint32_t magic;       /* HVFILTER_REGION_MAGIC */
    uint16_t abi_major;   /* HVFILTER_ABI_MAJOR */
    uint16_t abi_minor;   /* HVFILTER_ABI_MINOR */
    uint32_t header_size; /* sizeof(struct hvfilter_region_header) */
    uint32_t reserved0;
    uint64_t region_size; /* bytes from the start to the end of the last part */
    struct hvfilter_ring_desc request_ring;
    struct hvfilter_ring_desc verdict_ring;
    struct hvfilter_area_desc request_data;
    struct hvfilter_area_desc verdict_data;
    /* Since 0.2 (zero in 0.1: no table, format_id 0). The chain table is
     * UTF-8 JSON, size bytes at offset (any size up to
     * HVFILTER_MAX_CHAIN_TABLE; 0: none), naming the module chain of each
     * request's `chain` (docs/filter-rings.md, "Chain table"). format_id is
     * different for every Format: a guest that finds another value (or no
     * magic) there knows the host formatted a new region and attaches again. */
    struct hvfilter_area_desc chain_table;
    uint64_t format_id;
    uint64_t reserved[2]; /* 0 */
};

/* A ring's control block: the producer's line, then the consumer's line, so
 * the two sides never write the same cache line. Indexes run free (they are
 * not masked and wrap at 2^32); entry i lives in slot i & (entries - 1).
 * producer - consumer (mod 2^32) is the number of published entries not yet
 * released, never more than entries. */
struct hvfilter_ring_producer_line {
    uint32_t producer_index; /* written by the producer only (release) */
    /* Since 0.2, in the verdict ring only (0 in the request ring): the guest
     * sets guest_attached to 1 when it starts serving this format. A guest
     * runtime that restarts finds it set, cannot know the old runtime's ring
     * positions, and sets reset_request to 1 and kicks instead: the host
     * then formats a fresh region (docs/filter-rings.md, "Restarts"). */
    uint32_t guest_attached;
    uint32_t reset_request;
    uint32_t reserved[13];
};
struct hvfilter_ring_consumer_line {
    uint32_t consumer_index; /* written by the consumer only (release) */
    /* Written by the consumer only: 1 while it sleeps (or is about to) and
     * wants a doorbell for the next entry; 0 while it is polling. */
    uint32_t doorbell_armed;
    uint32_t reserved[14];
};
struct hvfilter_ring_control {
    struct hvfilter_ring_producer_line producer;
    struct hvfilter_ring_consumer_line consumer;
};
#define HVFILTER_RING_ENTRIES_OFFSET 128u /* sizeof(struct hvfilter_ring_control) */

/* Where an item came from on the host. */
enum hvfilter_source {
    HVFILTER_SOURCE_NETWORK = 1, /* a packet from the NFQUEUE */
    HVFILTER_SOURCE_FILE = 2     /* a fanotify permission event */
};

/* The host can apply a CHANGED verdict to this item (a packet can be
 * rewritten; a fanotify permission event can only be allowed or denied). */
#define HVFILTER_REQUEST_F_MAY_CHANGE (1u << 0)

/* One item for the guest's filter chain. Its bytes are data_length bytes at
 * data_offset in the request data area. */
struct hvfilter_request {
    uint64_t item_id;     /* chosen by the host; echoed in the verdict */
    uint16_t source;      /* enum hvfilter_source */
    uint16_t chain;       /* which configured module chain filters it */
    uint32_t flags;       /* HVFILTER_REQUEST_F_* */
    uint32_t budget_us;   /* time left for the verdict when the host published it */
    uint32_t data_offset; /* in the request data area */
    uint32_t data_length;
    uint32_t reserved; /* 0 */
};

enum hvfilter_verdict_code {
    HVFILTER_VERDICT_PASS = 1,   /* deliver the item unchanged */
    HVFILTER_VERDICT_DROP = 2,   /* drop the packet / deny the access */
    HVFILTER_VERDICT_CHANGED = 3 /* deliver the bytes in the verdict data area instead */
};

/* No module decided: every module in the chain passed the item. */
#define HVFILTER_MODULE_NONE 0xffffu

/* One verdict. Only CHANGED names bytes (data_length may be 0: the item
 * became empty); PASS and DROP carry data_offset = data_length = 0. */
struct hvfilter_verdict {
    uint64_t item_id;     /* the request's item_id */
    uint16_t verdict;     /* enum hvfilter_verdict_code */
    uint16_t module;      /* position in the chain of the module that decided */
    uint32_t data_offset; /* in the verdict data area */
    uint32_t data_length;
    uint32_t reserved; /* 0 */
};

#ifdef __cplusplus
#include <cstddef>
static_assert(sizeof(struct hvfilter_ring_desc) == 16, "hvfilter_ring_desc layout");
static_assert(sizeof(struct hvfilter_area_desc) == 16, "hvfilter_area_desc layout");
static_assert(sizeof(struct hvfilter_region_header) == 128, "hvfilter_region_header layout");
static_assert(offsetof(struct hvfilter_region_header, region_size) == 16, "header layout");
static_assert(offsetof(struct hvfilter_region_header, request_ring) == 24, "header layout");
static_assert(offsetof(struct hvfilter_region_header, verdict_ring) == 40, "header layout");
static_assert(offsetof(struct hvfilter_region_header, request_data) == 56, "header layout");
static_assert(offsetof(struct hvfilter_region_header, verdict_data) == 72, "header layout");
static_assert(offsetof(struct hvfilter_region_header, chain_table) == 88, "header layout");
static_assert(offsetof(struct hvfilter_region_header, format_id) == 104, "header layout");
static_assert(sizeof(struct hvfilter_ring_producer_line) == 64, "one cache line");
static_assert(sizeof(struct hvfilter_ring_consumer_line) == 64, "one cache line");
static_assert(offsetof(struct hvfilter_ring_control, consumer) == 64, "consumer on its own line");
static_assert(sizeof(struct hvfilter_ring_control) == HVFILTER_RING_ENTRIES_OFFSET,
              "entries follow the control block");
static_assert(sizeof(struct hvfilter_request) == 32, "hvfilter_request layout");
static_assert(offsetof(struct hvfilter_request, budget_us) == 16, "hvfilter_request layout");
static_assert(offsetof(struct hvfilter_request, data_offset) == 20, "hvfilter_request layout");
static_assert(sizeof(struct hvfilter_verdict) == 24, "hvfilter_verdict layout");
static_assert(offsetof(struct hvfilter_verdict, data_offset) == 12, "hvfilter_verdict layout");
#endif

#endif /* HVKIT_FILTER_RING_ABI_H */
