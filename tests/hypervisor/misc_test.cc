// Memory sizes as users write them; deciding what backs /dev/kvm.
#include <gtest/gtest.h>

#include "hvmm.h"

namespace hvkit::hvmm {
namespace {

TEST(MemorySize, AcceptsUnits) {
    EXPECT_EQ(*ParseMemorySize("512M"), 512ull << 20);
    EXPECT_EQ(*ParseMemorySize("2G"), 2ull << 30);
    EXPECT_EQ(*ParseMemorySize("2g"), 2ull << 30);
    EXPECT_EQ(*ParseMemorySize("1048576K"), 1ull << 30);
    EXPECT_EQ(*ParseMemorySize("256"), 256ull << 20);
}

TEST(MemorySize, RefusesGarbageAndPartialPages) {
    for (const char* bad : {"", "M", "12Q", "-1G", "0", "1.5G", "abc", "99999999999999G"}) {
        auto r = ParseMemorySize(bad);
        EXPECT_FALSE(r.ok()) << bad;
        if (!r.ok()) {
            EXPECT_NE(r.status().message().find("--mem"), std::string::npos);
        }
    }
    EXPECT_FALSE(ParseMemorySize("1K").ok());  // not a whole page
}

TEST(KvmBackend, PvmModuleWins) {
    KvmHostFacts f;
    f.module_kvm_pvm = true;
    f.cpu_vmx = true;
    EXPECT_EQ(ClassifyKvmBackend(f), KvmBackend::kPvm);
    EXPECT_NE(DescribeKvmBackend(KvmBackend::kPvm, f).find("PVM"), std::string::npos);
}

TEST(KvmBackend, HardwareWhenTheCpuHasVmxOrSvm) {
    KvmHostFacts f;
    f.cpu_svm = true;
    f.module_kvm_amd = true;
    EXPECT_EQ(ClassifyKvmBackend(f), KvmBackend::kHardware);
}

TEST(KvmBackend, NoVmxSvmAndNoKnownModuleIsSoftware) {
    EXPECT_EQ(ClassifyKvmBackend(KvmHostFacts{}), KvmBackend::kSoftware);
}

}  // namespace
}  // namespace hvkit::hvmm
