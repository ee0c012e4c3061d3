// bzImage header checks and Linux placement, on headers crafted here.
#include <gtest/gtest.h>

#include <cstring>

#include "arch/x86_64/layout.h"
#include "hvmm.h"

namespace hvkit::hvmm {
namespace {

// What a crafted image declares; defaults look like a Debian 6.1 kernel.
struct Crafted {
    uint16_t protocol = 0x020f;
    uint8_t setup_sects = 4;
    uint8_t loadflags = 0x01;
    uint16_t xloadflags = 0x01;
    uint32_t kernel_bytes = 64 * 1024;
    uint32_t syssize_bytes = 64 * 1024;
    uint32_t initrd_addr_max = 0x7fffffff;
    uint32_t kernel_alignment = 0x200000;
    uint8_t relocatable = 1;
    uint32_t cmdline_size = 2047;
    uint64_t pref_address = 0x1000000;
    uint32_t init_size = 0x400000;
    bool boot_flag = true;
    bool hdrs = true;
};

template <typename T>
void Put(std::vector<uint8_t>& f, size_t off, T v) {
    memcpy(f.data() + off, &v, sizeof v);
}

std::vector<uint8_t> MakeImage(const Crafted& c) {
    size_t setup = (size_t{c.setup_sects} + 1) * 512;
    std::vector<uint8_t> f(setup + c.kernel_bytes, 0);
    Put<uint8_t>(f, 0x1f1, c.setup_sects);
    Put<uint32_t>(f, 0x1f4, c.syssize_bytes / 16);
    if (c.boot_flag) Put<uint16_t>(f, 0x1fe, 0xaa55);
    Put<uint8_t>(f, 0x200, 0xeb);
    Put<uint8_t>(f, 0x201, 0x6a);  // header ends at 0x26c
    if (c.hdrs) memcpy(f.data() + 0x202, "HdrS", 4);
    Put<uint16_t>(f, 0x206, c.protocol);
    Put<uint8_t>(f, 0x211, c.loadflags);
    Put<uint32_t>(f, 0x22c, c.initrd_addr_max);
    Put<uint32_t>(f, 0x230, c.kernel_alignment);
    Put<uint8_t>(f, 0x234, c.relocatable);
    Put<uint16_t>(f, 0x236, c.xloadflags);
    Put<uint32_t>(f, 0x238, c.cmdline_size);
    Put<uint64_t>(f, 0x258, c.pref_address);
    Put<uint32_t>(f, 0x260, c.init_size);
    for (size_t i = setup; i < f.size(); ++i) f[i] = static_cast<uint8_t>(i * 7);
    return f;
}

std::string ParseError(const std::vector<uint8_t>& file) {
    auto img = ParseBzImage(file, "test.img");
    EXPECT_FALSE(img.ok());
    return img.ok() ? "" : img.status().message();
}

bool Contains(const std::string& s, const std::string& part) {
    return s.find(part) != std::string::npos;
}

TEST(BzImage, ParsesAWellFormedHeader) {
    auto file = MakeImage({});
    auto img = ParseBzImage(file, "test.img");
    ASSERT_TRUE(img.ok()) << img.status().message();
    EXPECT_EQ(img->protocol, 0x020f);
    EXPECT_EQ(img->kernel.size(), 64u * 1024);
    EXPECT_EQ(img->kernel.data(), file.data() + 5 * 512);
    EXPECT_EQ(img->pref_address, 0x1000000u);
    EXPECT_EQ(img->setup_header.size(), 0x26cu - 0x1f1u);
}

TEST(BzImage, RefusesGarbageNamingTheBootFlag) {
    std::vector<uint8_t> garbage(8192);
    for (size_t i = 0; i < garbage.size(); ++i) garbage[i] = static_cast<uint8_t>(i * 31 + 5);
    std::string err = ParseError(garbage);
    EXPECT_TRUE(Contains(err, "test.img")) << err;
    EXPECT_TRUE(Contains(err, "0xAA55")) << err;
}

TEST(BzImage, RefusesTinyFilesAndElf) {
    EXPECT_TRUE(Contains(ParseError(std::vector<uint8_t>(100)), "too small"));
    std::vector<uint8_t> elf(4096, 0);
    memcpy(elf.data(),
           "\x7f"
           "ELF",
           4);
    EXPECT_TRUE(Contains(ParseError(elf), "ELF vmlinux"));
}

TEST(BzImage, RefusesMissingHdrS) {
    Crafted c;
    c.hdrs = false;
    EXPECT_TRUE(Contains(ParseError(MakeImage(c)), "HdrS"));
}

TEST(BzImage, RefusesTooOldProtocolNamingBothVersions) {
    Crafted c;
    c.protocol = 0x020b;
    std::string err = ParseError(MakeImage(c));
    EXPECT_TRUE(Contains(err, "2.11")) << err;
    EXPECT_TRUE(Contains(err, "2.12 or later")) << err;
}

TEST(BzImage, RefusesKernelsWithoutA64BitEntry) {
    Crafted c;
    c.xloadflags = 0;
    EXPECT_TRUE(Contains(ParseError(MakeImage(c)), "64-bit entry"));
    Crafted z;
    z.loadflags = 0;
    EXPECT_TRUE(Contains(ParseError(MakeImage(z)), "zImage"));
}

TEST(BzImage, RefusesInconsistentSizes) {
    Crafted trunc;
    trunc.syssize_bytes = trunc.kernel_bytes + 16;
    EXPECT_TRUE(Contains(ParseError(MakeImage(trunc)), "truncated"));
    Crafted init;
    init.init_size = 1024;
    EXPECT_TRUE(Contains(ParseError(MakeImage(init)), "init_size"));
    Crafted align;
    align.kernel_alignment = 0x300000;
    EXPECT_TRUE(Contains(ParseError(MakeImage(align)), "power of two"));
    // Setup sectors that run past the end of the file.
    auto file = MakeImage({});
    file[0x1f1] = 200;
    EXPECT_TRUE(Contains(ParseError(file), "setup sectors"));
}

class LinuxLoad : public ::testing::Test {
  protected:
    void SetUp() override {
        auto mem = GuestMemory::Create(128 << 20);
        ASSERT_TRUE(mem.ok());
        memory = std::move(mem).value();
        file = MakeImage(crafted);
    }
    Crafted crafted;
    std::vector<uint8_t> file;
    std::unique_ptr<GuestMemory> memory;
};

TEST_F(LinuxLoad, PlacesKernelInitrdCmdlineAndBootParams) {
    auto img = ParseBzImage(file, "k");
    ASSERT_TRUE(img.ok());
    std::vector<uint8_t> initrd(10000, 0xab);
    auto entry = LoadLinux(*memory, *img, initrd, "console=ttyS0");
    ASSERT_TRUE(entry.ok()) << entry.status().message();
    EXPECT_EQ(entry->kernel_gpa, 0x1000000u);
    EXPECT_EQ(entry->entry_gpa, 0x1000200u);
    EXPECT_EQ(entry->initrd_gpa % 4096, 0u);
    EXPECT_GE(entry->initrd_gpa, entry->kernel_gpa + crafted.init_size);
    EXPECT_LE(entry->initrd_gpa + initrd.size(), 128u << 20);

    auto kernel = memory->Slice(entry->kernel_gpa, img->kernel.size());
    ASSERT_TRUE(kernel.ok());
    EXPECT_EQ(0, memcmp(kernel->data(), img->kernel.data(), img->kernel.size()));
    auto cmd = memory->Slice(layout::kCmdlineStart, 14);
    ASSERT_TRUE(cmd.ok());
    EXPECT_EQ(0, memcmp(cmd->data(), "console=ttyS0", 14));

    auto zp = memory->Slice(layout::kZeroPageStart, 4096);
    ASSERT_TRUE(zp.ok());
    uint32_t u32;
    memcpy(&u32, zp->data() + 0x202, 4);
    EXPECT_EQ(0, memcmp(&u32, "HdrS", 4));
    memcpy(&u32, zp->data() + 0x228, 4);
    EXPECT_EQ(u32, layout::kCmdlineStart);
    memcpy(&u32, zp->data() + 0x218, 4);
    EXPECT_EQ(u32, entry->initrd_gpa);
    memcpy(&u32, zp->data() + 0x21c, 4);
    EXPECT_EQ(u32, initrd.size());
    EXPECT_EQ((*zp)[0x210], 0xff);  // type_of_loader
    EXPECT_EQ((*zp)[0x1e8], 3);     // e820 entries: low RAM, EBDA/ROM hole, high RAM
}

TEST_F(LinuxLoad, InitrdStaysBelowInitrdAddrMax) {
    crafted.initrd_addr_max = 0x3ffffff;  // 64 MiB
    file = MakeImage(crafted);
    auto img = ParseBzImage(file, "k");
    ASSERT_TRUE(img.ok());
    std::vector<uint8_t> initrd(1 << 20, 1);
    auto entry = LoadLinux(*memory, *img, initrd, "");
    ASSERT_TRUE(entry.ok()) << entry.status().message();
    EXPECT_LE(entry->initrd_gpa + initrd.size() - 1, 0x3ffffffu);
}

TEST_F(LinuxLoad, TooLittleMemorySaysHowMuchToGive) {
    crafted.init_size = 200 << 20;
    file = MakeImage(crafted);
    auto img = ParseBzImage(file, "k");
    ASSERT_TRUE(img.ok());
    auto entry = LoadLinux(*memory, *img, {}, "");
    ASSERT_FALSE(entry.ok());
    EXPECT_EQ(entry.status().code(), ErrorCode::kTooLarge);
    EXPECT_TRUE(Contains(entry.status().message(), "--mem")) << entry.status().message();
}

TEST_F(LinuxLoad, InitrdThatDoesNotFitIsRefused) {
    auto img = ParseBzImage(file, "k");
    ASSERT_TRUE(img.ok());
    std::vector<uint8_t> initrd(120 << 20, 0);
    auto entry = LoadLinux(*memory, *img, initrd, "");
    ASSERT_FALSE(entry.ok());
    EXPECT_TRUE(Contains(entry.status().message(), "initrd")) << entry.status().message();
}

TEST_F(LinuxLoad, CommandLineLongerThanTheKernelTakesIsRefused) {
    auto img = ParseBzImage(file, "k");
    ASSERT_TRUE(img.ok());
    auto entry = LoadLinux(*memory, *img, {}, std::string(3000, 'x'));
    ASSERT_FALSE(entry.ok());
    EXPECT_TRUE(Contains(entry.status().message(), "at most 2047"));
}

TEST_F(LinuxLoad, NonRelocatableKernelOutsideRamIsRefused) {
    crafted.relocatable = 0;
    crafted.pref_address = 0x10000000;  // 256 MiB, past this guest's RAM
    file = MakeImage(crafted);
    auto img = ParseBzImage(file, "k");
    ASSERT_TRUE(img.ok());
    EXPECT_FALSE(LoadLinux(*memory, *img, {}, "").ok());
    // Relocatable: falls back to the lowest aligned address.
    crafted.relocatable = 1;
    file = MakeImage(crafted);
    img = ParseBzImage(file, "k");
    ASSERT_TRUE(img.ok());
    auto entry = LoadLinux(*memory, *img, {}, "");
    ASSERT_TRUE(entry.ok()) << entry.status().message();
    EXPECT_EQ(entry->kernel_gpa, 0x200000u);
}

}  // namespace
}  // namespace hvkit::hvmm
