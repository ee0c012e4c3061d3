// The part of the system a package file belongs to. The hypervisor installs
// `hypervisor` files into its A/B slots; the guest agent installs the rest.
#pragma once

#include <set>
#include <string>
#include <string_view>

#include "hvkit/status.h"

namespace hvkit {

enum class Component {
    kHypervisor,      // "hypervisor": hvmm and what it loads
    kGuestExtension,  // "guest-extension": programs the guest agent installs
    kFilterModule,    // "filter-module": shared objects for the guest filter chain
    kConfig,          // "config": configuration files
};

using ComponentSet = std::set<Component>;

// The manifest spelling of (component), e.g. "guest-extension".
const char* ComponentName(Component component);

// The component spelled (name); an unknown name is an error naming (what) and
// the accepted spellings.
Result<Component> ParseComponent(std::string_view name, std::string_view what);

// Every component.
ComponentSet AllComponents();

// "hypervisor, config" (or "none"), for error messages.
std::string ComponentSetText(const ComponentSet& set);

}  // namespace hvkit
