// The chain table's JSON: written by hvfilterd, read by the guest runtime.
#include "hvkit/filter_chain_table.h"

namespace hvkit::filter_ring {

namespace {

constexpr int kVersion = 1;
constexpr size_t kMaxChains = 65536;  // `chain` is a uint16_t
constexpr size_t kMaxModules = 32;    // as hvfilterd's configuration allows

const char* KindName(ItemSource kind) {
    return kind == ItemSource::kFile ? "file" : "network";
}

Status Refuse(const std::string& key, const std::string& rule) {
    return Error(ErrorCode::kMalformed, "chain table: " + key + ": " + rule);
}

Result<ChainModule> DecodeModule(const Json& value, const std::string& key) {
    if (!value.is_object()) return Refuse(key, "is not an object");
    ChainModule step;
    for (const auto& [name, member] : value.as_object()) {
        if (name == "module") {
            if (!member.is_string() || !IsModuleName(member.as_string())) {
                return Refuse(key + ".module",
                              "\"" + (member.is_string() ? member.as_string() : "") +
                                  "\" is not a module name (1..64 of a-z 0-9 _ -)");
            }
            step.module = member.as_string();
        } else if (name == "params") {
            if (!member.is_object()) return Refuse(key + ".params", "is not an object");
            step.params = member;
        } else {
            return Refuse(key + "." + name, "is not a known key");
        }
    }
    if (step.module.empty()) return Refuse(key + ".module", "is required");
    return step;
}

Result<ChainSpec> DecodeChain(const Json& value, const std::string& key) {
    if (!value.is_object()) return Refuse(key, "is not an object");
    ChainSpec chain;
    bool have_kind = false;
    bool have_modules = false;
    for (const auto& [name, member] : value.as_object()) {
        if (name == "source") {
            if (!member.is_string()) return Refuse(key + ".source", "is not a string");
            chain.source = member.as_string();
        } else if (name == "kind") {
            if (member.is_string() && member.as_string() == "network") {
                chain.kind = ItemSource::kNetwork;
            } else if (member.is_string() && member.as_string() == "file") {
                chain.kind = ItemSource::kFile;
            } else {
                return Refuse(key + ".kind", "is not \"network\" or \"file\"");
            }
            have_kind = true;
        } else if (name == "modules") {
            if (!member.is_array() || member.as_array().empty() ||
                member.as_array().size() > kMaxModules) {
                return Refuse(key + ".modules",
                              "is not an array of 1.." + std::to_string(kMaxModules) + " modules");
            }
            for (size_t i = 0; i < member.as_array().size(); ++i) {
                HVKIT_ASSIGN_OR_RETURN(ChainModule step,
                                       DecodeModule(member.as_array()[i],
                                                    key + ".modules[" + std::to_string(i) + "]"));
                chain.modules.push_back(std::move(step));
            }
            have_modules = true;
        } else {
            return Refuse(key + "." + name, "is not a known key");
        }
    }
    if (!have_kind) return Refuse(key + ".kind", "is required");
    if (!have_modules) return Refuse(key + ".modules", "is required");
    return chain;
}

}  // namespace

bool IsModuleName(std::string_view name) {
    if (name.empty() || name.size() > 64) return false;
    for (char c : name) {
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-')) {
            return false;
        }
    }
    return true;
}

std::string EncodeChainTable(const std::vector<ChainSpec>& chains) {
    Json table = Json::MakeObject();
    table["version"] = kVersion;
    Json list = Json::MakeArray();
    for (const ChainSpec& chain : chains) {
        Json entry = Json::MakeObject();
        entry["source"] = chain.source;
        entry["kind"] = KindName(chain.kind);
        Json modules = Json::MakeArray();
        for (const ChainModule& step : chain.modules) {
            Json module = Json::MakeObject();
            module["module"] = step.module;
            module["params"] = step.params;
            modules.Push(std::move(module));
        }
        entry["modules"] = std::move(modules);
        list.Push(std::move(entry));
    }
    table["chains"] = std::move(list);
    return DumpJson(table, 0);
}

Result<std::vector<ChainSpec>> DecodeChainTable(std::string_view text) {
    JsonLimits limits;
    limits.max_bytes = HVFILTER_MAX_CHAIN_TABLE;
    HVKIT_ASSIGN_OR_RETURN(Json table, ParseJson(text, "chain table", limits));
    if (!table.is_object()) return Refuse("(top)", "is not an object");
    const Json* version = table.Find("version");
    if (version == nullptr || !version->is_int() || version->as_int() != kVersion) {
        return Refuse("version",
                      "is not " + std::to_string(kVersion) + ", the version this side reads");
    }
    const Json* list = table.Find("chains");
    if (list == nullptr || !list->is_array() || list->as_array().size() > kMaxChains) {
        return Refuse("chains",
                      "is not an array of at most " + std::to_string(kMaxChains) + " chains");
    }
    std::vector<ChainSpec> chains;
    for (size_t i = 0; i < list->as_array().size(); ++i) {
        HVKIT_ASSIGN_OR_RETURN(
            ChainSpec chain, DecodeChain(list->as_array()[i], "chains[" + std::to_string(i) + "]"));
        chains.push_back(std::move(chain));
    }
    return chains;
}

}  // namespace hvkit::filter_ring
