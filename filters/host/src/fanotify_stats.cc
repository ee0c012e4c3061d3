// fanotify source counters as JSON.
#include "fanotify_stats.h"

namespace hvkit::filterd {

Json FanotifyStatsJson(const FanotifyStats& s) {
    Json out = Json::MakeObject();
    out["events"] = Json(s.events);
    out["allowed"] = Json(s.allowed);
    out["denied"] = Json(s.denied);
    out["changed_denied"] = Json(s.changed_denied);
    out["own_process"] = Json(s.own_process);
    out["content_errors"] = Json(s.content_errors);
    out["answered_at_shutdown"] = Json(s.answered_at_shutdown);
    out["overflows"] = Json(s.overflows);
    out["read_errors"] = Json(s.read_errors);
    out["response_errors"] = Json(s.response_errors);
    out["unexpected_events"] = Json(s.unexpected_events);
    return out;
}

}  // namespace hvkit::filterd
