// LoadedModule and ModuleInstance: what the loader refuses, and how it says so.
#include <gtest/gtest.h>

#include "hvkit/loaded_module.h"
#include "module_test_support.h"

namespace hvkit::filters {
namespace {

using testing::LoadOrCreateError;

bool Contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

TEST(LoadedModuleTest, OpensAShippedModuleAndReadsItsTable) {
    auto module = LoadedModule::Open(HVFILTER_REDACT_SO);
    ASSERT_TRUE(module.ok()) << module.status().message();
    EXPECT_STREQ((*module)->name(), "redact");
    EXPECT_STREQ((*module)->version(), "1.0.0");
    EXPECT_EQ((*module)->table().abi_version, HVFILTER_MODULE_ABI_VERSION);
    EXPECT_EQ((*module)->Describe(),
              std::string("filter module redact (") + HVFILTER_REDACT_SO + ")");
}

TEST(LoadedModuleTest, RefusesAnotherAbiVersionNamingFileAndRule) {
    std::string error = LoadOrCreateError(HVFILTER_BAD_ABI_SO, "{}");
    EXPECT_TRUE(Contains(error, std::string("filter module ") + HVFILTER_BAD_ABI_SO +
                                    ": ABI version 2, this agent speaks 1"))
        << error;
}

TEST(LoadedModuleTest, RefusesASharedObjectWithoutTheEntryPoint) {
    std::string error = LoadOrCreateError(HVFILTER_NO_ENTRY_SO, "{}");
    EXPECT_TRUE(Contains(error, std::string("filter module ") + HVFILTER_NO_ENTRY_SO +
                                    ": no symbol hvfilter_module_v1"))
        << error;
}

TEST(LoadedModuleTest, RefusesRelativeAndMissingPaths) {
    EXPECT_TRUE(Contains(LoadOrCreateError("redact.so", "{}"), "path must be absolute"));
    std::string error = LoadOrCreateError("/nonexistent/filter.so", "{}");
    EXPECT_TRUE(Contains(error, "filter module /nonexistent/filter.so: cannot load: ")) << error;
}

struct BadParams {
    const char* module;
    const char* params;
    const char* expected;
};

class ModuleParamsTest : public ::testing::TestWithParam<BadParams> {};

TEST_P(ModuleParamsTest, RefusedWithTheModulesReason) {
    std::string error = LoadOrCreateError(GetParam().module, GetParam().params);
    EXPECT_TRUE(Contains(error, ": refused its params: ")) << error;
    EXPECT_TRUE(Contains(error, GetParam().expected)) << error;
}

INSTANTIATE_TEST_SUITE_P(
    AllModules, ModuleParamsTest,
    ::testing::Values(
        BadParams{HVFILTER_REDACT_SO, "{\"replacement_byte\":\"X\"}", "pattern"},
        BadParams{HVFILTER_REDACT_SO, "{\"pattern\":\"a\",\"replacement_byte\":\"XY\"}",
                  "'replacement_byte' must be exactly one byte, got 2"},
        BadParams{HVFILTER_REDACT_SO, "{\"pattern\":\"\",\"replacement_byte\":\"X\"}",
                  "'pattern' is empty"},
        BadParams{HVFILTER_REDACT_SO, "{\"pattern\":\"a\",\"replacement_byte\":\"X\",\"x\":1}",
                  "unknown parameter 'x' (this module takes: pattern, replacement_byte)"},
        BadParams{HVFILTER_REDACT_SO, "[1]", "module params must be a JSON object"},
        BadParams{HVFILTER_REDACT_SO, "{\"pattern\":", "module params"},
        BadParams{HVFILTER_PCAP_RULE_SO, "{\"filter\":\"udp dst port\",\"action\":\"drop\"}",
                  "'filter' \"udp dst port\" does not compile: "},
        BadParams{HVFILTER_PCAP_RULE_SO, "{\"filter\":\"udp\",\"action\":\"reject\"}",
                  "'action' is 'reject', expected \"drop\" or \"pass\""},
        BadParams{HVFILTER_SIGNATURE_SO, "{\"signatures\":\"/nonexistent/x.sigs\"}",
                  "/nonexistent/x.sigs: cannot open the signature file"},
        BadParams{HVFILTER_UNRULY_SO, "\"refuse\"", "filter module unruly ("}));

TEST(ModuleInstanceTest, RelativeSignaturePathIsTakenFromTheModulesDirectory) {
    std::string so = HVFILTER_SIGNATURE_SO;
    std::string dir = so.substr(0, so.rfind('/'));
    std::string error = LoadOrCreateError(so, "{\"signatures\":\"rules/none.sigs\"}");
    EXPECT_TRUE(Contains(error, dir + "/rules/none.sigs: cannot open")) << error;
}

}  // namespace
}  // namespace hvkit::filters
