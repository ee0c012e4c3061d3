// The variable-length KVM structs, as the kernel lays them out.
//
// Why not <linux/kvm.h>'s: since Linux 6.x its headers declare flexible
// arrays with __DECLARE_FLEX_ARRAY, which puts an empty struct before the
// array. An empty struct is 0 bytes in C but 1 byte in C++, so in C++
// kvm_cpuid2, kvm_msrs and kvm_msr_list are larger than the kernel's, their
// ioctl numbers (which encode the size) are ones the kernel does not know
// (EINVAL), and their entries sit at the wrong offset. hvmm uses these fixed
// headers instead; the entries follow each header directly.
#pragma once

#include <linux/kvm.h>
#include <sys/ioctl.h>

#include <cstdint>

namespace hvkit::hvmm {

struct KvmCpuidHeader {  // kvm_cpuid2; kvm_cpuid_entry2[nent] follow
    uint32_t nent;
    uint32_t padding;
};
struct KvmMsrsHeader {  // kvm_msrs; kvm_msr_entry[nmsrs] follow
    uint32_t nmsrs;
    uint32_t pad;
};
struct KvmMsrListHeader {  // kvm_msr_list; uint32_t[nmsrs] follow
    uint32_t nmsrs;
};

inline constexpr unsigned long kKvmGetSupportedCpuid = _IOWR(KVMIO, 0x05, KvmCpuidHeader);
inline constexpr unsigned long kKvmSetCpuid2 = _IOW(KVMIO, 0x90, KvmCpuidHeader);
inline constexpr unsigned long kKvmGetCpuid2 = _IOWR(KVMIO, 0x91, KvmCpuidHeader);
inline constexpr unsigned long kKvmGetMsrIndexList = _IOWR(KVMIO, 0x02, KvmMsrListHeader);
inline constexpr unsigned long kKvmSetMsrs = _IOW(KVMIO, 0x89, KvmMsrsHeader);
inline constexpr unsigned long kKvmGetMsrs = _IOWR(KVMIO, 0x88, KvmMsrsHeader);

struct KvmXsave {  // kvm_xsave without the flexible tail (KVM_GET_XSAVE2 writes past it)
    uint32_t region[1024];
};
inline constexpr unsigned long kKvmGetXsave = _IOR(KVMIO, 0xa4, KvmXsave);
inline constexpr unsigned long kKvmSetXsave = _IOW(KVMIO, 0xa5, KvmXsave);
inline constexpr unsigned long kKvmGetXsave2 = _IOR(KVMIO, 0xcf, KvmXsave);

// The values a C compiler computes from <linux/kvm.h>.
static_assert(kKvmGetSupportedCpuid == 0xc008ae05);
static_assert(kKvmSetCpuid2 == 0x4008ae90);
static_assert(kKvmGetCpuid2 == 0xc008ae91);
static_assert(kKvmGetMsrIndexList == 0xc004ae02);
static_assert(kKvmSetMsrs == 0x4008ae89);
static_assert(kKvmGetMsrs == 0xc008ae88);
static_assert(kKvmGetXsave == 0x9000aea4 && kKvmSetXsave == 0x5000aea5);
static_assert(kKvmGetXsave2 == 0x9000aecf);
static_assert(sizeof(kvm_cpuid_entry2) == 40 && sizeof(kvm_msr_entry) == 16);

}  // namespace hvkit::hvmm
