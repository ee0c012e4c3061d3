// The BIOS memory map (e820) handed to Linux in boot_params.
#include <algorithm>

#include "arch/x86_64/arch.h"
#include "arch/x86_64/layout.h"
#include "hvmm.h"

namespace hvkit::hvmm {

std::vector<E820Entry> BuildE820(const GuestMemory& memory) {
    std::vector<E820Entry> map;
    for (const MemoryRegion& r : memory.regions()) {
        uint64_t end = r.gpa + r.size;
        if (r.gpa == 0) {
            // Real-mode RAM up to the EBDA; the EBDA (MP table) and the
            // VGA/ROM hole are reserved; RAM again from 1 MiB.
            map.push_back({0, std::min(end, layout::kEbdaStart), kE820Ram});
            if (end > layout::kEbdaStart) {
                map.push_back({layout::kEbdaStart,
                               std::min(end, layout::kLegacyHoleEnd) - layout::kEbdaStart,
                               kE820Reserved});
            }
            if (end > layout::kHimemStart) {
                map.push_back({layout::kHimemStart, end - layout::kHimemStart, kE820Ram});
            }
        } else {
            map.push_back({r.gpa, r.size, kE820Ram});
        }
    }
    return map;
}

}  // namespace hvkit::hvmm
