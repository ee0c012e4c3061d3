// The spellings of the dispatcher's enums in configuration, logs and stats.
#include "hvkit/filterd/item.h"
#include "hvkit/filterd/source_policy.h"

namespace hvkit::filterd {

const char* FailPolicyName(FailPolicy policy) {
    return policy == FailPolicy::kFailOpen ? "fail-open" : "fail-closed";
}

const char* VerdictKindName(VerdictKind kind) {
    switch (kind) {
        case VerdictKind::kPass:
            return "pass";
        case VerdictKind::kDrop:
            return "drop";
        case VerdictKind::kChanged:
            return "changed";
    }
    return "unknown";
}

}  // namespace hvkit::filterd
