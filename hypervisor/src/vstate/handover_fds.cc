// The fds a successor hvmm received from its predecessor, by name.
#include "hvmm.h"

namespace hvkit::hvmm {

Status HandoverFds::Add(std::string name, UniqueFd fd) {
    for (const auto& [have, unused] : fds_) {
        if (have == name) {
            return Error(ErrorCode::kMalformed, "the handover carries fd \"" + name + "\" twice");
        }
    }
    fds_.emplace_back(std::move(name), std::move(fd));
    return Status::Ok();
}

Result<UniqueFd> HandoverFds::Take(std::string_view name) {
    for (auto it = fds_.begin(); it != fds_.end(); ++it) {
        if (it->first == name) {
            UniqueFd fd = std::move(it->second);
            fds_.erase(it);
            return fd;
        }
    }
    return Error(ErrorCode::kMalformed,
                 "the handover lacks fd \"" + std::string(name) +
                     "\": the predecessor's machine differs from this configuration");
}

std::vector<std::string> HandoverFds::Untaken() const {
    std::vector<std::string> names;
    for (const auto& [name, unused] : fds_) names.push_back(name);
    return names;
}

}  // namespace hvkit::hvmm
