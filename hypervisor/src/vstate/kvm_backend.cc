// What backs /dev/kvm. A PVM host (the kvm_pvm module: KVM on a CPU without
// VMX/SVM, running guests as paravirtualised processes) cannot run a stock
// Linux kernel: 64-bit supervisor code needs a PVM-aware kernel, and real-mode
// and 32-bit code are emulated instruction by instruction. Nothing in the KVM
// API says so (KVM_GET_SUPPORTED_CPUID shows the usual KVM leaves), so hvmm
// looks at the host: the loaded module, and whether the CPU it runs on has
// VMX or SVM at all. docs/hvmm.md records the evidence.
#include <cpuid.h>
#include <unistd.h>

#include "hvmm.h"

namespace hvkit::hvmm {

namespace {

bool ModuleLoaded(const char* name) {
    std::string path = std::string("/sys/module/") + name;
    return access(path.c_str(), F_OK) == 0;
}

}  // namespace

KvmHostFacts ProbeKvmHostFacts() {
    KvmHostFacts facts;
    facts.module_kvm_pvm = ModuleLoaded("kvm_pvm");
    facts.module_kvm_intel = ModuleLoaded("kvm_intel");
    facts.module_kvm_amd = ModuleLoaded("kvm_amd");
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    if (__get_cpuid(1, &eax, &ebx, &ecx, &edx)) facts.cpu_vmx = (ecx >> 5) & 1;
    if (__get_cpuid(0x80000001, &eax, &ebx, &ecx, &edx)) facts.cpu_svm = (ecx >> 2) & 1;
    return facts;
}

KvmBackend ClassifyKvmBackend(const KvmHostFacts& facts) {
    if (facts.module_kvm_pvm) return KvmBackend::kPvm;
    if (facts.cpu_vmx || facts.cpu_svm || facts.module_kvm_intel || facts.module_kvm_amd) {
        return KvmBackend::kHardware;
    }
    return KvmBackend::kSoftware;
}

std::string DescribeKvmBackend(KvmBackend backend, const KvmHostFacts& facts) {
    std::string evidence = std::string("kvm_pvm module ") +
                           (facts.module_kvm_pvm ? "loaded" : "absent") + ", kvm_intel " +
                           (facts.module_kvm_intel ? "loaded" : "absent") + ", kvm_amd " +
                           (facts.module_kvm_amd ? "loaded" : "absent") + ", host CPU " +
                           (facts.cpu_vmx   ? "has VMX"
                            : facts.cpu_svm ? "has SVM"
                                            : "has neither VMX nor SVM");
    switch (backend) {
        case KvmBackend::kHardware:
            return "hardware-assisted KVM (" + evidence + ")";
        case KvmBackend::kPvm:
            return "PVM-backed KVM (" + evidence + ")";
        case KvmBackend::kSoftware:
            return "software-backed KVM of unknown kind (" + evidence + ")";
    }
    return evidence;
}

}  // namespace hvkit::hvmm
