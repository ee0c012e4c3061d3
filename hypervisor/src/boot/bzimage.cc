// Reading a bzImage's setup header (Documentation/arch/x86/boot.rst) and
// refusing anything hvmm cannot boot through the 64-bit entry. The image is a
// file the user names, so every field is checked against the file and against
// each other before anything trusts it.
#include <cstring>

#include "hvmm.h"

namespace hvkit::hvmm {

namespace {

constexpr size_t kSetupHeaderStart = 0x1f1;
constexpr size_t kBootFlagOffset = 0x1fe;
constexpr size_t kJumpEndOffset = 0x201;      // the header ends at 0x202 + this byte
constexpr size_t kSetupHeaderEndMax = 0x290;  // where boot_params' next field starts
constexpr size_t kLastFieldEnd = 0x264;       // through init_size (protocol 2.10+)
constexpr uint16_t kMinProtocol = 0x020c;     // 2.12: XLF_KERNEL_64 exists
constexpr uint8_t kLoadedHigh = 0x01;
constexpr uint16_t kXlfKernel64 = 0x01;

uint8_t U8(std::span<const uint8_t> f, size_t off) {
    return f[off];
}
uint16_t U16(std::span<const uint8_t> f, size_t off) {
    uint16_t v;
    memcpy(&v, f.data() + off, 2);
    return v;
}
uint32_t U32(std::span<const uint8_t> f, size_t off) {
    uint32_t v;
    memcpy(&v, f.data() + off, 4);
    return v;
}
uint64_t U64(std::span<const uint8_t> f, size_t off) {
    uint64_t v;
    memcpy(&v, f.data() + off, 8);
    return v;
}

std::string ProtocolName(uint16_t v) {
    char buf[16];
    snprintf(buf, sizeof buf, "%u.%02u", v >> 8, v & 0xff);
    return buf;
}

}  // namespace

Result<BzImage> ParseBzImage(std::span<const uint8_t> file, std::string_view what_view) {
    std::string what(what_view);
    auto refuse = [&](const std::string& why) {
        return Error(ErrorCode::kMalformed, "kernel " + what + ": " + why);
    };
    if (file.size() >= 4 && memcmp(file.data(),
                                   "\x7f"
                                   "ELF",
                                   4) == 0) {
        return refuse(
            "is an ELF vmlinux; hvmm boots a bzImage (arch/x86/boot/bzImage, "
            "/boot/vmlinuz-*)");
    }
    if (file.size() < 1024) {
        return refuse("is " + std::to_string(file.size()) +
                      " bytes, too small to be a bzImage (a Linux x86 kernel image is needed)");
    }
    if (U16(file, kBootFlagOffset) != 0xaa55) {
        return refuse("is not a Linux x86 kernel image (no 0xAA55 boot flag at offset 0x1fe)");
    }
    if (memcmp(file.data() + 0x202, "HdrS", 4) != 0) {
        return refuse(
            "has no \"HdrS\" setup header: boot protocol before 2.00 (Linux 1.3.73); "
            "hvmm needs 2.12 or later");
    }
    BzImage img;
    img.protocol = U16(file, 0x206);
    if (img.protocol < kMinProtocol) {
        return refuse("uses boot protocol " + ProtocolName(img.protocol) +
                      "; hvmm needs 2.12 or later (64-bit entry point, Linux 3.8+)");
    }
    img.loadflags = U8(file, 0x211);
    if ((img.loadflags & kLoadedHigh) == 0) {
        return refuse("is a zImage (loaded below 1 MiB); hvmm boots bzImage kernels");
    }
    img.xloadflags = U16(file, 0x236);
    if ((img.xloadflags & kXlfKernel64) == 0) {
        return refuse("has no 64-bit entry point (XLF_KERNEL_64 clear): not an x86-64 kernel");
    }
    img.setup_sects = U8(file, kSetupHeaderStart);
    size_t setup_sects = img.setup_sects == 0 ? 4 : img.setup_sects;
    size_t setup_size = (setup_sects + 1) * 512;
    if (setup_size >= file.size()) {
        return refuse("declares " + std::to_string(setup_sects) +
                      " setup sectors but the file ends inside them (truncated?)");
    }
    size_t header_end = 0x202 + U8(file, kJumpEndOffset);
    if (header_end < kLastFieldEnd || header_end > kSetupHeaderEndMax || header_end > setup_size) {
        return refuse("has a setup header ending at " + std::to_string(header_end) +
                      ", outside the protocol's bounds");
    }
    img.setup_header = file.subspan(kSetupHeaderStart, header_end - kSetupHeaderStart);
    img.kernel = file.subspan(setup_size);
    uint64_t syssize_bytes = uint64_t{U32(file, 0x1f4)} * 16;
    if (syssize_bytes > img.kernel.size()) {
        return refuse("is truncated: the header declares " + std::to_string(syssize_bytes) +
                      " bytes of kernel, the file has " + std::to_string(img.kernel.size()));
    }
    img.initrd_addr_max = U32(file, 0x22c);
    img.kernel_alignment = U32(file, 0x230);
    img.relocatable = U8(file, 0x234) != 0;
    img.cmdline_size = U32(file, 0x238);
    img.pref_address = U64(file, 0x258);
    img.init_size = U32(file, 0x260);
    if (img.relocatable &&
        (img.kernel_alignment == 0 || (img.kernel_alignment & (img.kernel_alignment - 1)) != 0 ||
         img.kernel_alignment > (1u << 30))) {
        return refuse("declares kernel_alignment " + std::to_string(img.kernel_alignment) +
                      ", not a power of two up to 1 GiB");
    }
    if (img.init_size < img.kernel.size()) {
        return refuse("declares init_size " + std::to_string(img.init_size) +
                      " smaller than its own kernel (" + std::to_string(img.kernel.size()) +
                      " bytes)");
    }
    if (img.initrd_addr_max < 0xfffff) {
        return refuse("declares initrd_addr_max below 1 MiB");
    }
    return img;
}

}  // namespace hvkit::hvmm
