// The agent's side of the filter-module ABI (hvkit/filter_module.h): loading a
// module's shared object and creating instances of it.
//
// A module is named by an absolute path, so the dynamic linker never searches
// for it and an extension can ship it in any directory. It is opened with
// RTLD_NOW | RTLD_LOCAL: unresolved symbols fail at load time, not in the
// middle of an item, and one module's symbols never satisfy another's.
#pragma once

#include <memory>
#include <string>

#include "hvkit/filter_module.h"
#include "hvkit/status.h"

namespace hvkit::filters {

// One opened module; the shared object stays mapped while any LoadedModule or
// ModuleInstance made from it lives.
class LoadedModule {
  public:
    ~LoadedModule();
    LoadedModule(const LoadedModule&) = delete;
    LoadedModule& operator=(const LoadedModule&) = delete;

    // Opens the module at (path), looks up HVFILTER_ENTRY_SYMBOL and checks its
    // table (ABI version, size, name, functions). Errors name the file and the
    // rule: "filter module /x/y.so: ABI version 2, this agent speaks 1".
    static Result<std::shared_ptr<const LoadedModule>> Open(const std::string& path);

    const std::string& path() const { return path_; }
    const char* name() const { return table_->name; }
    const char* version() const { return table_->version; }
    const hvfilter_module& table() const { return *table_; }
    // "filter module <name> (<path>)", the prefix of every error about it.
    std::string Describe() const;

  private:
    LoadedModule(std::string path, void* handle, const hvfilter_module* table)
        : path_(std::move(path)), handle_(handle), table_(table) {}

    std::string path_;
    void* handle_;
    const hvfilter_module* table_;
};

// One instance of a module, configured by its params; destroyed with it.
// Used by one thread at a time, as the ABI requires.
class ModuleInstance {
  public:
    ~ModuleInstance();
    ModuleInstance(ModuleInstance&& other) noexcept;
    ModuleInstance& operator=(ModuleInstance&& other) noexcept;
    ModuleInstance(const ModuleInstance&) = delete;
    ModuleInstance& operator=(const ModuleInstance&) = delete;

    // Creates an instance of (module) from (params_json); a refusal carries the
    // module's own reason after its name.
    static Result<ModuleInstance> Create(std::shared_ptr<const LoadedModule> module,
                                         const std::string& params_json);

    const LoadedModule& module() const { return *module_; }
    void* handle() const { return instance_; }

  private:
    ModuleInstance(std::shared_ptr<const LoadedModule> module, void* instance)
        : module_(std::move(module)), instance_(instance) {}

    std::shared_ptr<const LoadedModule> module_;
    void* instance_;
};

}  // namespace hvkit::filters
