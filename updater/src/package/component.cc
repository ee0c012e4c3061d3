#include "hvkit/package/component.h"

#include <array>

namespace hvkit {

namespace {

constexpr std::array kAll = {Component::kHypervisor, Component::kGuestExtension,
                             Component::kFilterModule, Component::kConfig};

}  // namespace

const char* ComponentName(Component component) {
    switch (component) {
        case Component::kHypervisor:
            return "hypervisor";
        case Component::kGuestExtension:
            return "guest-extension";
        case Component::kFilterModule:
            return "filter-module";
        case Component::kConfig:
            return "config";
    }
    return "?";
}

Result<Component> ParseComponent(std::string_view name, std::string_view what) {
    for (Component c : kAll) {
        if (name == ComponentName(c)) return c;
    }
    return Error(ErrorCode::kMalformed,
                 std::string(what) + ": unknown component '" + std::string(name) +
                     "' (expected hypervisor, guest-extension, filter-module or config)");
}

ComponentSet AllComponents() {
    return ComponentSet(kAll.begin(), kAll.end());
}

std::string ComponentSetText(const ComponentSet& set) {
    if (set.empty()) return "none";
    std::string out;
    for (Component c : set) {
        if (!out.empty()) out += ", ";
        out += ComponentName(c);
    }
    return out;
}

}  // namespace hvkit
