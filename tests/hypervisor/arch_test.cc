// x86 machine facts: e820, MP table, GDT, CPUID shaping.
#include <gtest/gtest.h>

#include <cstring>

#include "arch/x86_64/arch.h"
#include "arch/x86_64/layout.h"
#include "hvmm.h"

namespace hvkit::hvmm {
namespace {

uint8_t Sum(const uint8_t* p, size_t n) {
    uint8_t s = 0;
    for (size_t i = 0; i < n; ++i) s = static_cast<uint8_t>(s + p[i]);
    return s;
}

TEST(E820, LowMemoryGuest) {
    auto mem = GuestMemory::Create(256 << 20);
    ASSERT_TRUE(mem.ok());
    auto map = BuildE820(**mem);
    ASSERT_EQ(map.size(), 3u);
    EXPECT_EQ(map[0].addr, 0u);
    EXPECT_EQ(map[0].size, layout::kEbdaStart);
    EXPECT_EQ(map[0].type, kE820Ram);
    EXPECT_EQ(map[1].addr, layout::kEbdaStart);
    EXPECT_EQ(map[1].addr + map[1].size, layout::kHimemStart);
    EXPECT_EQ(map[1].type, kE820Reserved);
    EXPECT_EQ(map[2].addr, layout::kHimemStart);
    EXPECT_EQ(map[2].addr + map[2].size, 256u << 20);
}

TEST(E820, RamAboveTheGap) {
    auto mem = GuestMemory::Create(layout::kMmioGapStart + (64 << 20));
    ASSERT_TRUE(mem.ok());
    auto map = BuildE820(**mem);
    ASSERT_EQ(map.size(), 4u);
    EXPECT_EQ(map[2].addr + map[2].size, layout::kMmioGapStart);
    EXPECT_EQ(map[3].addr, layout::kHighRamStart);
    EXPECT_EQ(map[3].size, 64u << 20);
    // Nothing in the map overlaps the MMIO gap.
    for (const auto& e : map) {
        EXPECT_TRUE(e.addr + e.size <= layout::kMmioGapStart || e.addr >= layout::kMmioGapEnd);
    }
}

TEST(MpTable, ChecksumsAndEntriesForFourCpus) {
    auto table = BuildMpTable(4, layout::kMptableStart);
    ASSERT_TRUE(table.ok());
    const auto& t = *table;
    ASSERT_GE(t.size(), 60u);
    EXPECT_EQ(0, memcmp(t.data(), "_MP_", 4));
    EXPECT_EQ(Sum(t.data(), 16), 0);
    uint32_t config;
    memcpy(&config, t.data() + 4, 4);
    EXPECT_EQ(config, layout::kMptableStart + 16);
    EXPECT_EQ(0, memcmp(t.data() + 16, "PCMP", 4));
    uint16_t length;
    memcpy(&length, t.data() + 16 + 4, 2);
    EXPECT_EQ(16u + length, t.size());
    EXPECT_EQ(Sum(t.data() + 16, length), 0);
    // Processor entries: APIC IDs 0..3, only the first is the BSP.
    const uint8_t* cpu = t.data() + 16 + 44;
    for (int i = 0; i < 4; ++i, cpu += 20) {
        EXPECT_EQ(cpu[0], 0);  // processor entry
        EXPECT_EQ(cpu[1], i);
        EXPECT_EQ(cpu[3], i == 0 ? 3 : 1);
    }
    EXPECT_EQ(cpu[0], 1);  // then the ISA bus
    EXPECT_EQ(0, memcmp(cpu + 2, "ISA   ", 6));
    EXPECT_EQ(cpu[8], 2);  // then the IOAPIC, ID = cpu count
    EXPECT_EQ(cpu[9], 4);
}

TEST(MpTable, RefusesCountsThatDoNotFit) {
    EXPECT_FALSE(BuildMpTable(0, layout::kMptableStart).ok());
    EXPECT_TRUE(BuildMpTable(layout::kMaxVcpus, layout::kMptableStart).ok());
    auto big = BuildMpTable(200, layout::kMptableStart);
    ASSERT_FALSE(big.ok());
    EXPECT_NE(big.status().message().find("EBDA"), std::string::npos);
}

TEST(Gdt, BootSegmentsAreWhatLinuxExpects) {
    auto gdt = BootGdt();
    ASSERT_EQ(gdt.size(), 5u);
    ASSERT_LE(gdt.size(), layout::kGdtMaxEntries);
    kvm_segment cs = SegmentFromGdt(gdt[2], 2);
    EXPECT_EQ(cs.selector, 0x10);  // __BOOT_CS
    EXPECT_EQ(cs.l, 1);
    EXPECT_EQ(cs.present, 1);
    EXPECT_EQ(cs.type, 0xb);
    kvm_segment ds = SegmentFromGdt(gdt[3], 3);
    EXPECT_EQ(ds.selector, 0x18);  // __BOOT_DS
    EXPECT_EQ(ds.limit, 0xffffffffu);
    EXPECT_EQ(ds.db, 1);
    EXPECT_EQ(SegmentFromGdt(gdt[0], 0).unusable, 1);
    EXPECT_EQ(GdtEntry(0xa09b, 0, 0xfffff), 0x00af9b000000ffffull);
}

TEST(Cpuid, EachVcpuGetsItsApicIdAndTheHypervisorLeaf) {
    std::vector<kvm_cpuid_entry2> supported(3);
    supported[0].function = 0x1;
    supported[0].ebx = 0xff00aaaa;
    supported[1].function = 0xb;
    supported[1].index = 1;
    supported[2].function = 0x40000000;
    supported[2].ebx = 0x4b4d564b;
    auto cpuid = BuildVcpuCpuid(supported, 2, 4);
    ASSERT_EQ(cpuid.size(), 5u);
    EXPECT_EQ(cpuid[0].ebx >> 24, 2u);           // APIC ID
    EXPECT_EQ((cpuid[0].ebx >> 16) & 0xff, 4u);  // logical processors
    EXPECT_EQ(cpuid[0].ebx & 0xffff, 0xaaaau);
    EXPECT_TRUE(cpuid[0].ecx & (1u << 31));  // hypervisor present
    EXPECT_EQ(cpuid[1].edx, 2u);             // x2APIC ID
    EXPECT_EQ(cpuid[1].ebx, 4u);             // cores at level 1
    EXPECT_EQ(cpuid[2].ebx, 0x4b4d564bu);    // KVM's signature kept
    EXPECT_EQ(cpuid[3].function, kHvmmCpuidLeaf);
    char sig[13] = {};
    memcpy(sig, &cpuid[3].ebx, 4);
    memcpy(sig + 4, &cpuid[3].ecx, 4);
    memcpy(sig + 8, &cpuid[3].edx, 4);
    EXPECT_STREQ(sig, "hvkit-hvmm");
    EXPECT_EQ(cpuid[4].function, kHvmmCpuidLeaf + 1);
}

// KVM reports the host's core count in AMD's leaf 0x80000008 (the test host:
// 2 cores, ECX 0x1001); the guest must see its own vCPUs there.
TEST(Cpuid, AmdCoreCountIsTheMachinesNotTheHosts) {
    std::vector<kvm_cpuid_entry2> supported(1);
    supported[0].function = 0x80000008;
    supported[0].eax = 0x3928;
    supported[0].ecx = 0x00031001;  // perf TSC size (17:16) kept, NC 1, 1 ID bit
    for (auto [count, want] :
         {std::pair{1u, 0x00030000u}, {2u, 0x00031001u}, {3u, 0x00032002u}, {8u, 0x00033007u}}) {
        auto cpuid = BuildVcpuCpuid(supported, 0, count);
        EXPECT_EQ(cpuid[0].ecx, want) << count << " vCPUs";
        EXPECT_EQ(cpuid[0].eax, 0x3928u);
    }
}

TEST(Msr, BootMsrsKeepOnlyWhatKvmSupports) {
    auto msrs = BootMsrs({0x174, 0x2ff, 0x12345});
    ASSERT_EQ(msrs.size(), 2u);
    EXPECT_EQ(msrs[0].index, 0x174u);
    EXPECT_EQ(msrs[1].index, 0x2ffu);
    EXPECT_EQ(msrs[1].data, 0x806u);
}

}  // namespace
}  // namespace hvkit::hvmm
