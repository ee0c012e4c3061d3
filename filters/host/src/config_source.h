// Reading one entry of "sources"; the loader (config.cc) checks what spans
// entries (unique names and queues).
#pragma once

#include "config_reader.h"
#include "hvkit/filterd/config.h"

namespace hvkit::filterd {

// Checks the source object (value) at (at) and returns it.
Result<SourceConfig> ReadSource(const ConfigReader& reader, const Json& value,
                                const ConfigPath& at);

}  // namespace hvkit::filterd
