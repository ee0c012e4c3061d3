// Placing a parsed bzImage, its initrd, command line and boot_params in guest
// memory per the 64-bit boot protocol. boot_params ("zero page") is written
// by offset rather than as a struct: only the fields named here are set.
#include <algorithm>
#include <cstring>

#include "arch/x86_64/arch.h"
#include "arch/x86_64/layout.h"
#include "hvmm.h"

namespace hvkit::hvmm {

namespace {

constexpr size_t kZeroPageSize = 4096;
constexpr size_t kExtRamdiskImage = 0x0c0;
constexpr size_t kExtRamdiskSize = 0x0c4;
constexpr size_t kExtCmdLinePtr = 0x0c8;
constexpr size_t kE820Entries = 0x1e8;
constexpr size_t kSetupHeader = 0x1f1;
constexpr size_t kTypeOfLoader = 0x210;
constexpr size_t kCode32Start = 0x214;
constexpr size_t kRamdiskImage = 0x218;
constexpr size_t kRamdiskSize = 0x21c;
constexpr size_t kCmdLinePtr = 0x228;
constexpr size_t kE820Table = 0x2d0;
constexpr size_t kE820MaxEntries = 128;
constexpr size_t kE820EntrySize = 20;
constexpr uint8_t kLoaderUndefined = 0xff;
constexpr uint64_t kPage = 4096;

void Put32(std::vector<uint8_t>& b, size_t off, uint32_t v) {
    memcpy(b.data() + off, &v, 4);
}
void Put64(std::vector<uint8_t>& b, size_t off, uint64_t v) {
    memcpy(b.data() + off, &v, 8);
}

std::string Mib(uint64_t bytes) {
    return std::to_string((bytes + (1 << 20) - 1) >> 20) + " MiB";
}

// Where the kernel goes: its preferred address, else (when relocatable) the
// lowest aligned address from 1 MiB. Fails when [load, load + init_size) is
// not inside low RAM.
Result<uint64_t> PlaceKernel(const BzImage& image, uint64_t low_end) {
    auto fits = [&](uint64_t load) {
        return load >= layout::kHimemStart && load < low_end && image.init_size <= low_end - load;
    };
    if (fits(image.pref_address)) return image.pref_address;
    if (image.relocatable) {
        uint64_t align = image.kernel_alignment;
        uint64_t load = (layout::kHimemStart + align - 1) & ~(align - 1);
        if (fits(load)) return load;
        return Error(ErrorCode::kTooLarge,
                     "guest memory is too small for the kernel: it needs " +
                         Mib(load + image.init_size) + " of RAM below the MMIO gap; give --mem " +
                         Mib(load + image.init_size + (64ull << 20)) + " or more");
    }
    return Error(ErrorCode::kTooLarge, "kernel is not relocatable and its preferred address " +
                                           Mib(image.pref_address) + " + " + Mib(image.init_size) +
                                           " is not inside guest RAM");
}

// The initrd's address: as high as initrd_addr_max and low RAM allow, page
// aligned, above the kernel's end.
Result<uint64_t> PlaceInitrd(const BzImage& image, uint64_t size, uint64_t kernel_end,
                             uint64_t low_end) {
    uint64_t limit = std::min<uint64_t>(uint64_t{image.initrd_addr_max} + 1, low_end);
    if (size > limit || ((limit - size) & ~(kPage - 1)) < kernel_end) {
        return Error(ErrorCode::kTooLarge,
                     "guest memory is too small for the initrd: " + Mib(size) +
                         " must fit between the kernel's end at " + Mib(kernel_end) + " and " +
                         Mib(limit) + "; give --mem " + Mib(kernel_end + size + (64ull << 20)) +
                         " or more");
    }
    return (limit - size) & ~(kPage - 1);
}

}  // namespace

Result<LinuxEntry> LoadLinux(GuestMemory& memory, const BzImage& image,
                             std::span<const uint8_t> initrd, const std::string& cmdline) {
    uint64_t low_end = memory.low_ram_end();
    uint64_t cmdline_max = std::min<uint64_t>(image.cmdline_size, layout::kCmdlineMaxSize - 1);
    if (cmdline.size() > cmdline_max) {
        return Error(ErrorCode::kInvalidArgument,
                     "kernel command line is " + std::to_string(cmdline.size()) +
                         " bytes; this kernel accepts at most " + std::to_string(cmdline_max));
    }
    if (cmdline.find('\0') != std::string::npos) {
        return Error(ErrorCode::kInvalidArgument, "kernel command line contains a NUL byte");
    }
    LinuxEntry entry;
    HVKIT_ASSIGN_OR_RETURN(entry.kernel_gpa, PlaceKernel(image, low_end));
    entry.entry_gpa = entry.kernel_gpa + layout::kLinux64EntryOffset;
    HVKIT_RETURN_IF_ERROR(memory.Write(entry.kernel_gpa, image.kernel));
    if (!initrd.empty()) {
        HVKIT_ASSIGN_OR_RETURN(
            entry.initrd_gpa,
            PlaceInitrd(image, initrd.size(), entry.kernel_gpa + image.init_size, low_end));
        entry.initrd_size = initrd.size();
        HVKIT_RETURN_IF_ERROR(memory.Write(entry.initrd_gpa, initrd));
    }
    std::vector<uint8_t> cmd(cmdline.begin(), cmdline.end());
    cmd.push_back(0);
    HVKIT_RETURN_IF_ERROR(memory.Write(layout::kCmdlineStart, cmd));

    std::vector<uint8_t> zp(kZeroPageSize, 0);
    memcpy(zp.data() + kSetupHeader, image.setup_header.data(), image.setup_header.size());
    zp[kTypeOfLoader] = kLoaderUndefined;
    Put32(zp, kCode32Start, static_cast<uint32_t>(entry.kernel_gpa));
    Put32(zp, kCmdLinePtr, static_cast<uint32_t>(layout::kCmdlineStart));
    Put32(zp, kExtCmdLinePtr, 0);
    Put32(zp, kRamdiskImage, static_cast<uint32_t>(entry.initrd_gpa));
    Put32(zp, kRamdiskSize, static_cast<uint32_t>(entry.initrd_size));
    Put32(zp, kExtRamdiskImage, static_cast<uint32_t>(entry.initrd_gpa >> 32));
    Put32(zp, kExtRamdiskSize, static_cast<uint32_t>(entry.initrd_size >> 32));
    std::vector<E820Entry> e820 = BuildE820(memory);
    if (e820.size() > kE820MaxEntries) {
        return Error(ErrorCode::kTooLarge, "e820 map has more than 128 entries");
    }
    zp[kE820Entries] = static_cast<uint8_t>(e820.size());
    for (size_t i = 0; i < e820.size(); ++i) {
        size_t off = kE820Table + i * kE820EntrySize;
        Put64(zp, off, e820[i].addr);
        Put64(zp, off + 8, e820[i].size);
        Put32(zp, off + 16, e820[i].type);
    }
    entry.boot_params_gpa = layout::kZeroPageStart;
    HVKIT_RETURN_IF_ERROR(memory.Write(layout::kZeroPageStart, zp));
    return entry;
}

}  // namespace hvkit::hvmm
