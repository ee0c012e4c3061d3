// Counters as JSON.
#include "hvkit/filterd/source_counters.h"

namespace hvkit::filterd {

Json CountersJson(const SourceCounters& c) {
    Json out = Json::MakeObject();
    out["submitted"] = Json(c.submitted);
    out["passed"] = Json(c.passed);
    out["dropped"] = Json(c.dropped);
    out["changed"] = Json(c.changed);
    out["timed_out"] = Json(c.timed_out);
    out["guest_absent"] = Json(c.guest_absent);
    out["overflowed"] = Json(c.overflowed);
    out["failed_open"] = Json(c.failed_open);
    out["failed_closed"] = Json(c.failed_closed);
    out["late_or_unknown"] = Json(c.late_or_unknown);
    return out;
}

}  // namespace hvkit::filterd
