#include "module_test_support.h"

namespace hvkit::testing {

Status AppendModule(filters::Chain& chain, const std::string& path,
                    const std::string& params_json) {
    HVKIT_ASSIGN_OR_RETURN(auto module, filters::LoadedModule::Open(path));
    HVKIT_ASSIGN_OR_RETURN(auto instance, filters::ModuleInstance::Create(module, params_json));
    chain.Append(std::move(instance));
    return Status::Ok();
}

Result<filters::Chain> SingleModuleChain(const std::string& path, const std::string& params_json) {
    filters::Chain chain;
    HVKIT_RETURN_IF_ERROR(AppendModule(chain, path, params_json));
    return chain;
}

std::string LoadOrCreateError(const std::string& path, const std::string& params_json) {
    filters::Chain chain;
    Status status = AppendModule(chain, path, params_json);
    return status.ok() ? "" : status.message();
}

filters::FilterItem PacketItem(const std::vector<uint8_t>& packet) {
    return filters::FilterItem{HVFILTER_ITEM_NETWORK, packet, ""};
}

filters::FilterItem FileItem(const std::string& content, const std::string& path) {
    return filters::FilterItem{HVFILTER_ITEM_FILE,
                               {reinterpret_cast<const uint8_t*>(content.data()), content.size()},
                               path};
}

std::string AsText(const std::vector<uint8_t>& bytes) {
    return {bytes.begin(), bytes.end()};
}

}  // namespace hvkit::testing
