/* A module that breaks the ABI on request, written in C to show the header is
 * plain C. Its params are a JSON string naming the misdeed:
 *   "unknown-verdict"  inspect() returns 7
 *   "overlong"         CHANGED with changed_len past the buffer's capacity
 *   "fail"             ERROR with a reason
 *   "refuse"           create() fails
 *   "crash"            abort() on an item containing HVKIT-CRASH (the
 *                      runtime's worker restart; in the guest image too)
 * Anything else: every item passes. */
#include <stdlib.h>
#include <string.h>

#include "hvkit/filter_module.h"

struct unruly {
    char mode[32];
};

static void put_text(char* buffer, size_t capacity, const char* text) {
    if (buffer == NULL || capacity == 0) return;
    strncpy(buffer, text, capacity - 1);
    buffer[capacity - 1] = '\0';
}

static void* unruly_create(const char* params_json, char* err, size_t err_len) {
    if (params_json != NULL && strstr(params_json, "refuse") != NULL) {
        put_text(err, err_len, "refusing as asked");
        return NULL;
    }
    struct unruly* self = calloc(1, sizeof(*self));
    if (self != NULL && params_json != NULL) put_text(self->mode, sizeof(self->mode), params_json);
    return self;
}

static int unruly_inspect(void* instance, const struct hvfilter_item* item,
                          struct hvfilter_result* out) {
    const struct unruly* self = instance;
    static const char kCrashMarker[] = "HVKIT-CRASH";
    if (strstr(self->mode, "crash") != NULL && item->len >= sizeof(kCrashMarker) - 1) {
        for (size_t i = 0; i + sizeof(kCrashMarker) - 1 <= item->len; ++i) {
            if (memcmp(item->bytes + i, kCrashMarker, sizeof(kCrashMarker) - 1) == 0) abort();
        }
    }
    if (strstr(self->mode, "unknown-verdict") != NULL) return 7;
    if (strstr(self->mode, "overlong") != NULL) {
        out->changed_len = out->changed_capacity + 1;
        return HVFILTER_INSPECT_CHANGED;
    }
    if (strstr(self->mode, "fail") != NULL) {
        put_text(out->error, out->error_capacity, "disk on fire");
        return HVFILTER_INSPECT_ERROR;
    }
    return HVFILTER_INSPECT_PASS;
}

static void unruly_destroy(void* instance) {
    free(instance);
}

static const struct hvfilter_module kTable = {
    .abi_version = HVFILTER_MODULE_ABI_VERSION,
    .table_size = sizeof(struct hvfilter_module),
    .name = "unruly",
    .version = "0.0.1",
    .create = unruly_create,
    .inspect = unruly_inspect,
    .destroy = unruly_destroy,
};

const struct hvfilter_module* hvfilter_module_v1(void) {
    return &kTable;
}
