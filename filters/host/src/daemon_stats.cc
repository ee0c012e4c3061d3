// The shapes of `hvfilterd stats`: the NFQUEUE source's counters as JSON and
// the whole document as text lines.
#include <string>

#include "daemon.h"

namespace hvkit::filterd {
namespace {

void Flatten(const Json& value, const std::string& key, std::string& out) {
    switch (value.type()) {
        case Json::Type::kObject:
            for (const auto& [name, member] : value.as_object()) {
                Flatten(member, key.empty() ? name : key + "." + name, out);
            }
            return;
        case Json::Type::kArray:
            for (size_t i = 0; i < value.as_array().size(); ++i) {
                Flatten(value.as_array()[i], key + "[" + std::to_string(i) + "]", out);
            }
            return;
        case Json::Type::kString:
            out += key + " " + (value.as_string().empty() ? "-" : value.as_string()) + "\n";
            return;
        default:
            out += key + " " + DumpJson(value, 0) + "\n";
            return;
    }
}

}  // namespace

Json NfqueueStatsJson(const NfqueueStats& stats) {
    Json out = Json::MakeObject();
    out["packets"] = stats.packets;
    out["overruns"] = stats.overruns;
    out["verdict_messages"] = stats.verdict_messages;
    out["batch_verdicts"] = stats.batch_verdicts;
    out["verdict_errors"] = stats.verdict_errors;
    out["changed_refused"] = stats.changed_refused;
    out["changed_header_refused"] = stats.changed_header_refused;
    return out;
}

std::string StatsText(const Json& stats) {
    std::string out;
    Flatten(stats, "", out);
    return out;
}

}  // namespace hvkit::filterd
