// Where the module itself lives, so rule files shipped beside it in a guest
// extension can be named relative to it.
#pragma once

#include <string>

namespace hvkit::filters {

// The directory holding the shared object this code is linked into; empty if
// the dynamic loader cannot say.
std::string ThisModuleDirectory();

}  // namespace hvkit::filters
