// GDT descriptors and their kvm_segment form (the encoding Linux's GDT_ENTRY uses).
#include "arch/x86_64/arch.h"
#include "hvmm.h"

namespace hvkit::hvmm {

uint64_t GdtEntry(uint16_t flags, uint32_t base, uint32_t limit) {
    return ((uint64_t{base} & 0xff000000u) << (56 - 24)) | ((uint64_t{flags} & 0x0000f0ffu) << 40) |
           ((uint64_t{limit} & 0x000f0000u) << (48 - 16)) | ((uint64_t{base} & 0x00ffffffu) << 16) |
           (uint64_t{limit} & 0x0000ffffu);
}

kvm_segment SegmentFromGdt(uint64_t entry, uint8_t index) {
    kvm_segment seg{};
    seg.base = ((entry & 0xff00000000000000ull) >> 32) | ((entry & 0x000000ff00000000ull) >> 16) |
               ((entry & 0x00000000ffff0000ull) >> 16);
    uint32_t limit =
        static_cast<uint32_t>(((entry & 0x000f000000000000ull) >> 32) | (entry & 0xffffull));
    seg.g = (entry >> 55) & 1;
    seg.limit = seg.g ? (limit << 12) | 0xfff : limit;
    seg.selector = static_cast<uint16_t>(index * 8);
    seg.type = (entry >> 40) & 0xf;
    seg.present = (entry >> 47) & 1;
    seg.dpl = (entry >> 45) & 3;
    seg.db = (entry >> 54) & 1;
    seg.s = (entry >> 44) & 1;
    seg.l = (entry >> 53) & 1;
    seg.avl = (entry >> 52) & 1;
    seg.unusable = seg.present ? 0 : 1;
    return seg;
}

std::vector<uint64_t> BootGdt() {
    return {
        GdtEntry(0, 0, 0),             // null
        GdtEntry(0, 0, 0),             // unused (Linux's GDT_ENTRY_BOOT_CS is 2)
        GdtEntry(0xa09b, 0, 0xfffff),  // 0x10 code: 64-bit, present, exec/read, accessed
        GdtEntry(0xc093, 0, 0xfffff),  // 0x18 data: 4 GiB flat, read/write, accessed
        GdtEntry(0x808b, 0, 0xfffff),  // 0x20 TSS: busy 32/64-bit TSS
    };
}

}  // namespace hvkit::hvmm
