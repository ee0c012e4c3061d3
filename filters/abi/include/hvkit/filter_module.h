/* The guest filter-module ABI: what a filter module (.so) exports and what the
 * agent calls. Plain C so modules can be written in C or C++ and built apart
 * from the agent; docs/filter-modules.md has the same contract as tables.
 *
 * A module exports exactly one symbol, HVFILTER_ENTRY_SYMBOL, returning a
 * static table. The symbol name never changes; the table's first two fields
 * (abi_version, table_size) never move, so an agent can always read them and
 * refuse a module built for another ABI before touching anything else.
 *
 * Ownership: the agent owns every buffer it passes in (item bytes, path,
 * result buffers); a module may only read the item and write within the
 * capacities given, and keeps no pointer into them after a call returns. The
 * module owns its instances; the agent releases each one with destroy().
 *
 * Threads: hvfilter_module_v1() and create() may be called from any thread at
 * any time. One instance is used by one thread at a time (the agent never
 * calls inspect() concurrently on the same instance), but distinct instances
 * of the same module may run in parallel, so a module keeps no unguarded
 * mutable global state. No function may block without bound: every item the
 * host hands over has a deadline.
 *
 * Errors: no C++ exception or longjmp crosses this interface. Errors come back
 * as NULL (create) or HVFILTER_INSPECT_ERROR (inspect) with a one-line reason
 * written, NUL-terminated and truncated to fit, into the caller's text buffer.
 */
#ifndef HVKIT_FILTER_MODULE_H
#define HVKIT_FILTER_MODULE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The ABI this header describes; the agent refuses any other. */
#define HVFILTER_MODULE_ABI_VERSION 1u

/* The one exported symbol, as a string for dlsym(). */
#define HVFILTER_ENTRY_SYMBOL "hvfilter_module_v1"

/* Modules are built with hidden visibility; the entry point alone is exported. */
#define HVFILTER_EXPORT __attribute__((visibility("default")))

/* Where an item came from (hvfilter_item.source). */
enum hvfilter_item_source {
    HVFILTER_ITEM_NETWORK = 1, /* an IP packet, starting at its IPv4/IPv6 header */
    HVFILTER_ITEM_FILE = 2,    /* the content of a file being accessed on the host */
};

/* What inspect() decided. Any other value is a broken module. */
enum hvfilter_inspect_verdict {
    HVFILTER_INSPECT_ERROR = -1,  /* the module failed; reason in hvfilter_result.error */
    HVFILTER_INSPECT_PASS = 0,    /* the item goes on unchanged */
    HVFILTER_INSPECT_DROP = 1,    /* the item is refused; the chain stops */
    HVFILTER_INSPECT_CHANGED = 2, /* the item goes on as hvfilter_result.changed */
};

/* One item to inspect. Everything is owned by the caller and read-only. */
struct hvfilter_item {
    uint32_t source;      /* enum hvfilter_item_source */
    const uint8_t* bytes; /* the item's bytes; NULL only when len is 0 */
    size_t len;           /* their number */
    const char* path;     /* file items: the host path; "" when unknown or network; never NULL */
};

/* Where inspect() puts its answer. The caller provides both buffers. */
struct hvfilter_result {
    uint8_t* changed;        /* CHANGED: the module writes the new item here ... */
    size_t changed_capacity; /* ... never more than this many bytes ... */
    size_t changed_len;      /* ... and sets this to the count it wrote. When the
                                buffer is too small it returns ERROR and sets
                                this to the size it needed, writing nothing. */
    char* error;             /* ERROR: a one-line reason (DROP: optionally the rule
                                that matched), NUL-terminated, truncated */
    size_t error_capacity;   /* to fit this many bytes (the NUL included); 0: no text */
};

/* The table a module exports. All pointers refer to static storage in the
 * module and stay valid until the agent unloads it. */
struct hvfilter_module {
    uint32_t abi_version; /* HVFILTER_MODULE_ABI_VERSION the module was built against */
    uint32_t table_size;  /* sizeof(struct hvfilter_module) in that build */
    const char* name;     /* short module name, e.g. "redact" */
    const char* version;  /* the module's own version, e.g. "1.0.0" */

    /* Builds an instance from (params_json), a JSON object text (NULL counts
     * as "{}"). Returns NULL on bad params or failure, with the reason in
     * (err) of (err_len) bytes. The instance is the module's until destroy(). */
    void* (*create)(const char* params_json, char* err, size_t err_len);

    /* Inspects (item) with (instance) and returns an enum hvfilter_inspect_verdict,
     * filling (out) as described there. The instance is used by one thread
     * at a time. */
    int (*inspect)(void* instance, const struct hvfilter_item* item, struct hvfilter_result* out);

    /* Releases (instance); it is never used again. NULL is ignored. */
    void (*destroy)(void* instance);
};

/* The entry point: returns the module's static table; never NULL, no side effects. */
HVFILTER_EXPORT const struct hvfilter_module* hvfilter_module_v1(void);

#ifdef __cplusplus
}
#endif

#endif /* HVKIT_FILTER_MODULE_H */
