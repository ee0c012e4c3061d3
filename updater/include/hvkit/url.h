// URL helpers shared by the TUF client, the stores and the tools.
#pragma once

#include <string>
#include <string_view>

namespace hvkit {

// Percent-encodes every byte except unreserved characters (A-Z a-z 0-9 - _ . ~),
// so a role or target name becomes one safe path segment (as Python's
// urllib.parse.quote(name, safe="") does).
std::string PercentEncode(std::string_view text);

}  // namespace hvkit
