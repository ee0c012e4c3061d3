// Every guest-physical address hvmm uses, in one place (Firecracker's
// arch/x86_64/layout.rs). Nothing else in hvmm writes a GPA literal: a new
// structure in guest memory gets its constant here, beside its neighbours, so
// overlaps are visible at a glance.
//
//   0x0000_0000  real-mode IVT and BIOS data area (left zero)
//   0x0000_0500  GDT, then IDT (boot-time, replaced by the kernel)
//   0x0000_7000  boot_params ("zero page")
//   0x0000_8ff0  boot stack top (grows down)
//   0x0000_9000  page tables: PML4, PDPT, 4 PDs (identity map of 4 GiB)
//   0x0002_0000  kernel command line
//   0x0009_fc00  EBDA: MP table (reserved in e820)
//   0x000a_0000  legacy VGA/ROM hole (reserved in e820)
//   0x0010_0000  high memory: kernel (or at its preferred address), initrd below the MMIO gap
//   0xc000_0000  MMIO gap: PCI BARs (hvchan first), IOAPIC, LAPIC, TSS
//   0x1_0000_0000  RAM above 4 GiB when the guest has more than 3 GiB
#pragma once

#include <cstdint>

namespace hvkit::hvmm::layout {

// --- Boot-time structures in low memory ---------------------------------------
inline constexpr uint64_t kGdtStart = 0x500;
inline constexpr uint64_t kGdtMaxEntries = 8;  // BootGdt() uses 5: null, null, code, data, tss
inline constexpr uint64_t kIdtStart = 0x540;   // empty IDT until the kernel loads its own
inline constexpr uint64_t kZeroPageStart = 0x7000;
inline constexpr uint64_t kBootStackPointer = 0x8ff0;
inline constexpr uint64_t kPml4Start = 0x9000;
inline constexpr uint64_t kPdptStart = 0xa000;
inline constexpr uint64_t kPdStart = 0xb000;  // 4 consecutive page directories
inline constexpr uint64_t kPdCount = 4;       // 4 x 1 GiB identity-mapped with 2 MiB pages
inline constexpr uint64_t kCmdlineStart = 0x20000;
inline constexpr uint64_t kCmdlineMaxSize = 0x10000;  // including the NUL
inline constexpr uint64_t kEbdaStart = 0x9fc00;
inline constexpr uint64_t kMptableStart = kEbdaStart;
inline constexpr uint64_t kMptableMaxSize = 0xa0000 - kEbdaStart;
inline constexpr uint64_t kLegacyHoleEnd = 0x100000;  // VGA/ROM region [0xa0000, 1 MiB)

// --- Kernel and initrd ---------------------------------------------------------
inline constexpr uint64_t kHimemStart = 0x100000;       // lowest address a kernel may be loaded at
inline constexpr uint64_t kLinux64EntryOffset = 0x200;  // startup_64 from the load address

// --- Real-mode payloads (tests and firmware-less images) ------------------------
// A flat real-mode image is loaded at kRealModeLoad and entered with all
// segments = kRealModeLoad >> 4, IP = 0 and SP = kRealModeStackOffset, so its
// 64 KiB segment holds code, data and stack.
inline constexpr uint64_t kRealModeLoad = 0x10000;
inline constexpr uint64_t kRealModeMaxSize = 0x8000;
inline constexpr uint64_t kRealModeStackOffset = 0xfff0;

// --- The MMIO gap below 4 GiB ---------------------------------------------------
// Guest RAM never overlaps [kMmioGapStart, 4 GiB); RAM past kMmioGapStart moves
// to kHighRamStart.
inline constexpr uint64_t kMmioGapStart = 0xc0000000;
inline constexpr uint64_t kMmioGapEnd = 0x100000000;
inline constexpr uint64_t kHighRamStart = 0x100000000;

// PCI 32-bit memory window for BARs [0xc000_0000, 0xe000_0000). The hvchan
// device's BARs are reserved at its start so its addresses are stable across
// hvmm versions (the guest agent maps them; live upgrade keeps them).
inline constexpr uint64_t kPciMmio32Start = 0xc0000000;
inline constexpr uint64_t kPciMmio32Size = 0x20000000;
inline constexpr uint64_t kHvchanBar0Start = kPciMmio32Start;  // registers
inline constexpr uint64_t kHvchanBar0Size = 0x1000;
// BAR2 is aligned to its largest size, so it may grow without moving.
inline constexpr uint64_t kHvchanBar2MaxSize = 0x4000000;  // 64 MiB
inline constexpr uint64_t kHvchanBar2Start = kPciMmio32Start + kHvchanBar2MaxSize;
// Other PCI devices' BARs are allocated from here up.
inline constexpr uint64_t kPciMmio32AllocStart = kHvchanBar2Start + kHvchanBar2MaxSize;

// Platform MMIO at fixed architectural addresses.
inline constexpr uint64_t kIoapicStart = 0xfec00000;
inline constexpr uint64_t kLapicStart = 0xfee00000;
// KVM_SET_IDENTITY_MAP_ADDR needs one page, KVM_SET_TSS_ADDR three (Intel VMX
// real-mode emulation); both sit in the gap where no RAM or device is.
inline constexpr uint64_t kIdentityMapStart = 0xfeffc000;
inline constexpr uint64_t kTssStart = 0xfeffd000;

// --- Legacy I/O ports (not GPAs, but the same kind of fixed fact) ---------------
inline constexpr uint16_t kPortCom1 = 0x3f8;
inline constexpr uint16_t kPortUartSize = 8;
inline constexpr uint32_t kIrqCom1 = 4;
inline constexpr uint16_t kPortI8042Data = 0x60;
inline constexpr uint16_t kPortI8042Command = 0x64;
inline constexpr uint32_t kIrqI8042Keyboard = 1;
// PCI configuration mechanism #1 (0xcf8 address, 0xcfc-0xcff data) and the
// PIIX reset control register (0xcf9, byte accesses).
inline constexpr uint16_t kPortPciConfig = 0xcf8;
inline constexpr uint16_t kPortPciConfigSize = 8;

// --- PCI slots on bus 0 (stable: the guest's device names follow them) ----------
inline constexpr uint8_t kPciSlotHostBridge = 0;
inline constexpr uint8_t kPciSlotHvchan = 2;
inline constexpr uint8_t kPciSlotVirtioBlk = 3;
inline constexpr uint8_t kPciSlotVirtioNet = 4;
inline constexpr uint8_t kPciSlotHvfilt = 5;  // filter rings (hvkit/hvfilt_abi.h)
// hvfilt's INTx: an ISA IRQ no other device uses, so the MP table's identity
// ISA routing reaches IOAPIC pin 11 (and the PIC) without a PCI entry.
inline constexpr uint32_t kIrqHvfilt = 11;

// --- Limits hvmm itself imposes ---------------------------------------------------
inline constexpr uint64_t kMinGuestMemory = 64ull << 20;  // a Linux guest below this is useless
inline constexpr uint64_t kMaxGuestMemory = 1ull << 40;
inline constexpr uint32_t kMaxVcpus = 32;  // also bounded by the MP table's space in the EBDA

}  // namespace hvkit::hvmm::layout
