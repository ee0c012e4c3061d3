#include "hvkit/filter_runtime/chain_builder.h"

#include <unistd.h>

#include <filesystem>

#include "hvkit/loaded_module.h"

namespace hvkit::filter_runtime {

Result<std::string> FindModule(const std::string& name, const std::vector<std::string>& dirs) {
    std::string searched;
    for (const std::string& dir : dirs) {
        // The loader takes absolute paths only: a relative directory is the
        // working directory's.
        std::error_code ec;
        std::string path =
            (std::filesystem::absolute(dir, ec) / (name + ".so")).lexically_normal().string();
        if (!ec && access(path.c_str(), R_OK) == 0) return path;
        searched += (searched.empty() ? "" : ", ") + dir;
    }
    return Error(ErrorCode::kNotFound, "no module " + name + ".so in " +
                                           (searched.empty() ? "(no module directory)" : searched));
}

Result<filters::Chain> BuildChain(const filter_ring::ChainSpec& spec,
                                  const std::vector<std::string>& dirs,
                                  filters::ChainLimits limits) {
    filters::Chain chain(limits);
    for (const filter_ring::ChainModule& step : spec.modules) {
        HVKIT_ASSIGN_OR_RETURN(std::string path, FindModule(step.module, dirs));
        HVKIT_ASSIGN_OR_RETURN(auto module, filters::LoadedModule::Open(path));
        HVKIT_ASSIGN_OR_RETURN(auto instance,
                               filters::ModuleInstance::Create(module, DumpJson(step.params, 0)));
        chain.Append(std::move(instance));
    }
    return chain;
}

}  // namespace hvkit::filter_runtime
