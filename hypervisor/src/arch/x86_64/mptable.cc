// The Intel MultiProcessor Specification 1.4 table: how a guest without ACPI
// learns its CPUs, its IOAPIC and how ISA IRQs reach it. Built byte by byte
// (little-endian fields in spec order) rather than from packed structs.
#include <cstring>

#include "arch/x86_64/arch.h"
#include "arch/x86_64/layout.h"
#include "hvmm.h"

namespace hvkit::hvmm {

namespace {

constexpr uint8_t kMpSpecRev = 4;
constexpr uint8_t kApicVersion = 0x14;  // KVM's in-kernel LAPIC and IOAPIC
constexpr uint8_t kEntryProcessor = 0, kEntryBus = 1, kEntryIoapic = 2, kEntryIoInt = 3,
                  kEntryLocalInt = 4;
constexpr uint8_t kIntTypeInt = 0, kIntTypeNmi = 1, kIntTypeExtInt = 3;
constexpr uint8_t kCpuEnabled = 1, kCpuBootProcessor = 2;
constexpr uint32_t kCpuSignature = 0x600;          // family 6
constexpr uint32_t kCpuFeatures = (1u << 9) | 1u;  // APIC, FPU
constexpr size_t kFloatingSize = 16, kHeaderSize = 44, kProcessorSize = 20, kSmallEntrySize = 8;
constexpr uint8_t kIsaIrqs = 16;

class Bytes {
  public:
    void U8(uint8_t v) { b_.push_back(v); }
    void U16(uint16_t v) { Raw(&v, 2); }
    void U32(uint32_t v) { Raw(&v, 4); }
    void Chars(const char* s, size_t n) { Raw(s, n); }
    void Raw(const void* p, size_t n) {
        auto* c = static_cast<const uint8_t*>(p);
        b_.insert(b_.end(), c, c + n);
    }
    std::vector<uint8_t>& bytes() { return b_; }

  private:
    std::vector<uint8_t> b_;
};

uint8_t Checksum(const uint8_t* p, size_t n) {
    uint8_t sum = 0;
    for (size_t i = 0; i < n; ++i) sum = static_cast<uint8_t>(sum + p[i]);
    return static_cast<uint8_t>(-sum);
}

}  // namespace

Result<std::vector<uint8_t>> BuildMpTable(uint32_t cpus, uint64_t base) {
    if (cpus == 0 || cpus > 254) {
        return Error(ErrorCode::kInvalidArgument,
                     "MP table: " + std::to_string(cpus) + " vCPUs (1 to 254 fit APIC IDs)");
    }
    size_t entries = cpus * kProcessorSize + kSmallEntrySize * (1 + 1 + kIsaIrqs + 2);
    size_t total = kFloatingSize + kHeaderSize + entries;
    if (total > layout::kMptableMaxSize) {
        return Error(ErrorCode::kInvalidArgument, "MP table for " + std::to_string(cpus) +
                                                      " vCPUs needs " + std::to_string(total) +
                                                      " bytes; the EBDA has " +
                                                      std::to_string(layout::kMptableMaxSize));
    }
    uint8_t ioapic_id = static_cast<uint8_t>(cpus);
    Bytes t;
    // Floating pointer structure; the configuration table follows it.
    t.Chars("_MP_", 4);
    t.U32(static_cast<uint32_t>(base + kFloatingSize));
    t.U8(1);  // length in 16-byte units
    t.U8(kMpSpecRev);
    t.U8(0);                              // checksum, below
    for (int i = 0; i < 5; ++i) t.U8(0);  // feature bytes: configuration table present
    // Configuration table header.
    size_t header = t.bytes().size();
    t.Chars("PCMP", 4);
    t.U16(static_cast<uint16_t>(kHeaderSize + entries));
    t.U8(kMpSpecRev);
    t.U8(0);  // checksum, below
    t.Chars("HVKIT   ", 8);
    t.Chars("HVMM        ", 12);
    t.U32(0);  // OEM table
    t.U16(0);
    t.U16(static_cast<uint16_t>(cpus + 1 + 1 + kIsaIrqs + 2));  // entry count
    t.U32(static_cast<uint32_t>(layout::kLapicStart));
    t.U32(0);  // extended table length, checksum, reserved
    for (uint32_t cpu = 0; cpu < cpus; ++cpu) {
        t.U8(kEntryProcessor);
        t.U8(static_cast<uint8_t>(cpu));
        t.U8(kApicVersion);
        t.U8(kCpuEnabled | (cpu == 0 ? kCpuBootProcessor : 0));
        t.U32(kCpuSignature);
        t.U32(kCpuFeatures);
        t.U32(0);
        t.U32(0);
    }
    t.U8(kEntryBus);
    t.U8(0);
    t.Chars("ISA   ", 6);
    t.U8(kEntryIoapic);
    t.U8(ioapic_id);
    t.U8(kApicVersion);
    t.U8(1);  // enabled
    t.U32(static_cast<uint32_t>(layout::kIoapicStart));
    for (uint8_t irq = 0; irq < kIsaIrqs; ++irq) {
        t.U8(kEntryIoInt);
        t.U8(kIntTypeInt);
        t.U16(0);  // polarity and trigger: conforming to the bus (ISA: high, edge)
        t.U8(0);   // source bus
        t.U8(irq);
        t.U8(ioapic_id);
        t.U8(irq);
    }
    t.U8(kEntryLocalInt);
    t.U8(kIntTypeExtInt);
    t.U16(0);
    t.U8(0);
    t.U8(0);
    t.U8(0xff);  // all local APICs
    t.U8(0);     // LINT0
    t.U8(kEntryLocalInt);
    t.U8(kIntTypeNmi);
    t.U16(0);
    t.U8(0);
    t.U8(0);
    t.U8(0xff);
    t.U8(1);  // LINT1
    std::vector<uint8_t>& b = t.bytes();
    b[header + 7] = Checksum(b.data() + header, b.size() - header);
    b[10] = Checksum(b.data(), kFloatingSize);
    return std::move(b);
}

Status WriteMpTable(GuestMemory& memory, uint32_t cpus) {
    HVKIT_ASSIGN_OR_RETURN(std::vector<uint8_t> table, BuildMpTable(cpus, layout::kMptableStart));
    return memory.Write(layout::kMptableStart, table);
}

}  // namespace hvkit::hvmm
