#include "module_location.h"

#include <dlfcn.h>

namespace hvkit::filters {

std::string ThisModuleDirectory() {
    // dladdr on a function of this library names the file it was loaded from.
    Dl_info info{};
    if (dladdr(reinterpret_cast<const void*>(&ThisModuleDirectory), &info) == 0 ||
        info.dli_fname == nullptr) {
        return "";
    }
    std::string path = info.dli_fname;
    size_t slash = path.rfind('/');
    if (slash == std::string::npos) return "";
    return slash == 0 ? "/" : path.substr(0, slash);
}

}  // namespace hvkit::filters
