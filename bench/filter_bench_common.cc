#include "filter_bench_common.h"

#include <time.h>

#include <cstdio>
#include <filesystem>
#include <memory>
#include <vector>

#include "hvkit/filter_chain_table.h"
#include "hvkit/fs.h"
#include "hvkit/json.h"
#include "hvkit/loaded_module.h"

namespace hvkit::bench {

namespace {

constexpr size_t kMaxChainFileBytes = 1 << 20;
constexpr size_t kMaxSteps = 32;  // as a hvfilterd source's chain

// Reports a fault in the chain file at JSON pointer (pointer), shown to the
// reader as (key), with the line of the value (or of the object lacking it).
class ChainFileErrors {
  public:
    ChainFileErrors(std::string path, const JsonLocations& locations)
        : path_(std::move(path)), locations_(locations) {}

    Status Bad(const std::string& pointer, const std::string& key, const std::string& rule) const {
        size_t line = locations_.Nearest(pointer).line;
        std::string where = line ? path_ + ":" + std::to_string(line) : path_;
        return Error(ErrorCode::kInvalidArgument, where + ": " + key + ": " + rule);
    }

  private:
    std::string path_;
    const JsonLocations& locations_;
};

// One step of the chain file, checked: its module name and params text.
struct ChainStep {
    std::string module;
    std::string params_json;
};

Result<ChainStep> ReadStep(const Json& step, size_t index, const ChainFileErrors& errors) {
    std::string pointer = "/" + std::to_string(index);
    std::string key = "[" + std::to_string(index) + "]";
    if (!step.is_object()) {
        return errors.Bad(pointer, key, "must be an object {\"module\": ..., \"params\": {...}}");
    }
    for (const auto& [name, value] : step.as_object()) {
        if (name != "module" && name != "params") {
            return errors.Bad(pointer + "/" + JsonPointerToken(name), key + "." + name,
                              "is not a known key (known: \"module\", \"params\")");
        }
    }
    const Json* module = step.Find("module");
    if (!module) return errors.Bad(pointer, key + ".module", "is required");
    if (!module->is_string() || !filter_ring::IsModuleName(module->as_string())) {
        return errors.Bad(pointer + "/module", key + ".module",
                          "must be a string of 1..64 characters of a-z, 0-9, '_' and '-'");
    }
    const Json* params = step.Find("params");
    if (params && !params->is_object()) {
        return errors.Bad(pointer + "/params", key + ".params", "must be an object");
    }
    return ChainStep{module->as_string(), params ? DumpJson(*params, 0) : std::string("{}")};
}

}  // namespace

int Fail(const char* tool, const std::string& message, int exit_code) {
    std::fprintf(stderr, "%s: %s\n", tool, message.c_str());
    return exit_code;
}

Result<int64_t> IntegerOption(const cli::Args& args, const std::string& name, int64_t min,
                              int64_t max, int64_t fallback) {
    HVKIT_ASSIGN_OR_RETURN(std::optional<std::string> text, args.One(name));
    if (!text) return fallback;
    Result<int64_t> value = cli::ParseInteger(name, *text, min, max);
    if (!value.ok()) {
        return Error(ErrorCode::kInvalidArgument, name + " " + *text + ": must be an integer " +
                                                      std::to_string(min) + ".." +
                                                      std::to_string(max));
    }
    return value;
}

Result<int64_t> RequiredInteger(const cli::Args& args, const std::string& name, int64_t min,
                                int64_t max) {
    HVKIT_RETURN_IF_ERROR(args.Required(name).status());
    return IntegerOption(args, name, min, max, 0);
}

Result<filters::Chain> LoadChain(const std::string& modules_dir, const std::string& chain_path) {
    HVKIT_ASSIGN_OR_RETURN(std::string text, ReadFile(chain_path, kMaxChainFileBytes));
    JsonLocations locations;
    HVKIT_ASSIGN_OR_RETURN(Json doc, ParseJson(text, chain_path, {}, &locations));
    ChainFileErrors errors(chain_path, locations);
    if (!doc.is_array() || doc.as_array().empty() || doc.as_array().size() > kMaxSteps) {
        return errors.Bad("", "chain",
                          "must be an array of 1.." + std::to_string(kMaxSteps) +
                              " steps [{\"module\": NAME, \"params\": {...}}, ...]");
    }
    // The loader takes absolute paths only (docs/filter-modules.md).
    std::error_code ec;
    std::filesystem::path dir = std::filesystem::absolute(modules_dir, ec);
    if (ec) {
        return Error(ErrorCode::kInvalidArgument,
                     "--modules " + modules_dir + ": cannot be made absolute: " + ec.message());
    }
    filters::Chain chain;
    for (size_t i = 0; i < doc.as_array().size(); ++i) {
        HVKIT_ASSIGN_OR_RETURN(ChainStep step, ReadStep(doc.as_array()[i], i, errors));
        std::string pointer = "/" + std::to_string(i);
        std::string key = "[" + std::to_string(i) + "]";
        std::string so = (dir / (step.module + ".so")).lexically_normal().string();
        if (!PathExists(so)) {
            return errors.Bad(
                pointer + "/module", key + ".module",
                "no module " + so + " (module NAME is loaded from --modules DIR/NAME.so)");
        }
        Result<std::shared_ptr<const filters::LoadedModule>> module =
            filters::LoadedModule::Open(so);
        if (!module.ok()) return errors.Bad(pointer, key, module.status().message());
        Result<filters::ModuleInstance> instance =
            filters::ModuleInstance::Create(*module, step.params_json);
        if (!instance.ok()) return errors.Bad(pointer, key, instance.status().message());
        chain.Append(std::move(*instance));
    }
    return chain;
}

uint64_t MonotonicNs() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000000000u + static_cast<uint64_t>(ts.tv_nsec);
}

}  // namespace hvkit::bench
