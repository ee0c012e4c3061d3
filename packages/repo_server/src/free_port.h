// Picking a free TCP port for a listener that cannot report the port the
// kernel chose (cpprestsdk's http_listener cannot).
#pragma once

#include <cstdint>
#include <string>

#include "hvkit/status.h"

namespace hvkit::repo {

// A port on (host) (an IPv4 address or a name resolving to one) that was free
// a moment ago: the one the kernel gives a socket bound to port 0. Another
// process may take it before the caller binds, so callers retry on conflict.
Result<uint16_t> ProbeFreePort(const std::string& host);

}  // namespace hvkit::repo
