/* A module built for a future ABI: the agent must refuse it by its version. */
#include "hvkit/filter_module.h"

static const struct hvfilter_module kTable = {
    .abi_version = 2,
    .table_size = sizeof(struct hvfilter_module),
    .name = "from_the_future",
    .version = "9.0.0",
};

const struct hvfilter_module* hvfilter_module_v1(void) {
    return &kTable;
}
