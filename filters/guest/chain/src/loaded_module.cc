#include "hvkit/loaded_module.h"

#include <dlfcn.h>

#include <cstddef>
#include <utility>

namespace hvkit::filters {
namespace {

using EntryPoint = const hvfilter_module* (*)();

// The first two fields every ABI version keeps in place.
constexpr size_t kStableHeaderSize = offsetof(hvfilter_module, name);

Status ModuleError(const std::string& path, const std::string& rule) {
    return Error(ErrorCode::kRefused, "filter module " + path + ": " + rule);
}

// Checks the fields the agent relies on; (table) already passed the version check.
Status CheckTable(const std::string& path, const hvfilter_module& table) {
    if (table.table_size < sizeof(hvfilter_module)) {
        return ModuleError(path, "table of " + std::to_string(table.table_size) +
                                     " bytes, ABI version 1 needs " +
                                     std::to_string(sizeof(hvfilter_module)));
    }
    if (table.name == nullptr || table.name[0] == '\0') {
        return ModuleError(path, "the table has no module name");
    }
    if (table.version == nullptr) {
        return ModuleError(path, "the table has no module version");
    }
    if (table.create == nullptr || table.inspect == nullptr || table.destroy == nullptr) {
        return ModuleError(path, "the table lacks create, inspect or destroy");
    }
    return Status::Ok();
}

}  // namespace

LoadedModule::~LoadedModule() {
    dlclose(handle_);
}

Result<std::shared_ptr<const LoadedModule>> LoadedModule::Open(const std::string& path) {
    if (path.empty() || path[0] != '/') {
        return ModuleError(path,
                           "path must be absolute (a bare or relative name would be "
                           "searched for or depend on the working directory)");
    }
    dlerror();
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
        const char* why = dlerror();
        return Error(ErrorCode::kNotFound, "filter module " + path + ": cannot load: " +
                                               (why != nullptr ? why : "unknown dlopen error"));
    }
    dlerror();
    auto entry = reinterpret_cast<EntryPoint>(dlsym(handle, HVFILTER_ENTRY_SYMBOL));
    if (entry == nullptr) {
        dlclose(handle);
        return ModuleError(path, std::string("no symbol ") + HVFILTER_ENTRY_SYMBOL +
                                     " (not an hvkit filter module)");
    }
    const hvfilter_module* table = entry();
    Status status;
    if (table == nullptr) {
        status = ModuleError(path, std::string(HVFILTER_ENTRY_SYMBOL) + " returned no table");
    } else if (table->abi_version != HVFILTER_MODULE_ABI_VERSION) {
        status = ModuleError(path, "ABI version " + std::to_string(table->abi_version) +
                                       ", this agent speaks " +
                                       std::to_string(HVFILTER_MODULE_ABI_VERSION) +
                                       " (rebuild the module against this agent's "
                                       "hvkit/filter_module.h)");
    } else {
        static_assert(kStableHeaderSize == 2 * sizeof(uint32_t));
        status = CheckTable(path, *table);
    }
    if (!status.ok()) {
        dlclose(handle);
        return status;
    }
    return std::shared_ptr<const LoadedModule>(new LoadedModule(path, handle, table));
}

std::string LoadedModule::Describe() const {
    return std::string("filter module ") + name() + " (" + path_ + ")";
}

ModuleInstance::~ModuleInstance() {
    if (instance_ != nullptr) module_->table().destroy(instance_);
}

ModuleInstance::ModuleInstance(ModuleInstance&& other) noexcept
    : module_(std::move(other.module_)), instance_(std::exchange(other.instance_, nullptr)) {}

ModuleInstance& ModuleInstance::operator=(ModuleInstance&& other) noexcept {
    if (this != &other) {
        if (instance_ != nullptr) module_->table().destroy(instance_);
        module_ = std::move(other.module_);
        instance_ = std::exchange(other.instance_, nullptr);
    }
    return *this;
}

Result<ModuleInstance> ModuleInstance::Create(std::shared_ptr<const LoadedModule> module,
                                              const std::string& params_json) {
    char reason[512] = {};
    void* instance = module->table().create(params_json.c_str(), reason, sizeof(reason));
    if (instance == nullptr) {
        reason[sizeof(reason) - 1] = '\0';
        return Error(ErrorCode::kInvalidArgument,
                     module->Describe() + ": refused its params: " +
                         (reason[0] != '\0' ? reason : "no reason given"));
    }
    return ModuleInstance(std::move(module), instance);
}

}  // namespace hvkit::filters
