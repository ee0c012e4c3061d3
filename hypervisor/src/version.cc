// Which hvmm this is. The only place the version is compiled in, so a second
// executable with another version (hvmm-next, for update tests) differs from
// hvmm in this one object.
#include "hvmm.h"

#if !defined(HVKIT_VERSION_STRING) || !defined(HVKIT_VERSION_NUMBER)
#error "HVKIT_VERSION_STRING and HVKIT_VERSION_NUMBER come from hypervisor/CMakeLists.txt"
#endif

namespace hvkit::hvmm {

const char* HvmmVersion() {
    return HVKIT_VERSION_STRING;
}

uint32_t HvmmVersionNumber() {
    return HVKIT_VERSION_NUMBER;
}

}  // namespace hvkit::hvmm
