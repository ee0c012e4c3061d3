// The C ABI (hvkit/filter_module.h) on top of a C++ filter class, so each
// module writes only its filtering. A filter class provides:
//
//   // Builds a filter from (params), a JSON object already checked to be one.
//   static Result<std::unique_ptr<F>> Create(const Json& params);
//   // Inspects (item); writes CHANGED bytes only through (out).
//   Inspection Inspect(const hvfilter_item& item, VerdictOutput& out);
//
// and the module exports its table with MakeModuleTable<F>(). The glue turns
// Status values into the ABI's error text and keeps exceptions (bad_alloc)
// from crossing into the agent.
#pragma once

#include <exception>
#include <memory>
#include <string>

#include "hvkit/filter_module.h"
#include "hvkit/json.h"
#include "hvkit/status.h"
#include "module_text.h"
#include "verdict_output.h"

namespace hvkit::filters {

using Inspection = Result<hvfilter_inspect_verdict>;

template <typename Filter>
struct ModuleEntry {
    static void* Create(const char* params_json, char* err, size_t err_len) noexcept {
        try {
            Result<Json> params = ParseModuleParams(params_json);
            if (!params.ok()) {
                WriteModuleText(err, err_len, params.status().message());
                return nullptr;
            }
            Result<std::unique_ptr<Filter>> filter = Filter::Create(*params);
            if (!filter.ok()) {
                WriteModuleText(err, err_len, filter.status().message());
                return nullptr;
            }
            return filter->release();
        } catch (const std::exception& e) {
            WriteModuleText(err, err_len, std::string("internal error: ") + e.what());
            return nullptr;
        }
    }

    static int Inspect(void* instance, const hvfilter_item* item, hvfilter_result* out) noexcept {
        if (instance == nullptr || item == nullptr || out == nullptr) return HVFILTER_INSPECT_ERROR;
        VerdictOutput output(*out);
        try {
            Inspection verdict = static_cast<Filter*>(instance)->Inspect(*item, output);
            if (!verdict.ok()) {
                WriteModuleText(out->error, out->error_capacity, verdict.status().message());
                return HVFILTER_INSPECT_ERROR;
            }
            return *verdict;
        } catch (const std::exception& e) {
            WriteModuleText(out->error, out->error_capacity,
                            std::string("internal error: ") + e.what());
            return HVFILTER_INSPECT_ERROR;
        }
    }

    static void Destroy(void* instance) noexcept { delete static_cast<Filter*>(instance); }
};

// The table a module returns from hvfilter_module_v1(), for filter class (Filter).
template <typename Filter>
constexpr hvfilter_module MakeModuleTable(const char* name, const char* version) {
    return hvfilter_module{
        .abi_version = HVFILTER_MODULE_ABI_VERSION,
        .table_size = sizeof(hvfilter_module),
        .name = name,
        .version = version,
        .create = &ModuleEntry<Filter>::Create,
        .inspect = &ModuleEntry<Filter>::Inspect,
        .destroy = &ModuleEntry<Filter>::Destroy,
    };
}

}  // namespace hvkit::filters
