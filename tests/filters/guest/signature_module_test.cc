// The signature module: payloads and files holding a signature are dropped.
#include <gtest/gtest.h>

#include "module_test_support.h"
#include "temp_dir.h"
#include "test_packets.h"

namespace hvkit::filters {
namespace {

using testing::Ipv4Packet;
using testing::PacketItem;
using testing::Transport;

class SignatureModuleTest : public ::testing::Test {
  protected:
    void SetUp() override {
        std::string path = dir_.Sub("test.sigs");
        testing::WriteTestFile(path,
                               "# signatures for the module test\n"
                               "evil-word: \"malware\"\n"
                               "elf: 7f 45 4c 46 02\n"
                               "port-bytes: 27 0f\n");  // 9999, only ever in a header here
        auto chain =
            testing::SingleModuleChain(HVFILTER_SIGNATURE_SO, "{\"signatures\": \"" + path + "\"}");
        ASSERT_TRUE(chain.ok()) << chain.status().message();
        chain_ = std::move(chain).value();
    }

    FilterOutcome Run(const FilterItem& item) {
        Result<FilterOutcome> outcome = chain_.Run(item);
        EXPECT_TRUE(outcome.ok()) << outcome.status().message();
        return outcome.ok() ? std::move(outcome).value() : FilterOutcome{};
    }

    testing::TempDir dir_;
    Chain chain_;
};

TEST_F(SignatureModuleTest, DropsPayloadsHoldingASignatureAndNamesIt) {
    FilterOutcome outcome =
        Run(PacketItem(Ipv4Packet(Transport::kTcp, 1, 80, "GET /malware.exe").bytes));
    EXPECT_EQ(outcome.verdict, FilterVerdict::kDrop);
    EXPECT_EQ(outcome.dropped_by, "signature");
    EXPECT_EQ(outcome.drop_reason, "signature evil-word");
}

TEST_F(SignatureModuleTest, ScansPacketPayloadsNotHeaders) {
    FilterOutcome outcome = Run(PacketItem(Ipv4Packet(Transport::kUdp, 1, 9999, "benign").bytes));
    EXPECT_EQ(outcome.verdict, FilterVerdict::kPass);
}

TEST_F(SignatureModuleTest, ScansWholeFilesForBinarySignatures) {
    std::string elf = std::string(
        "\x7f"
        "ELF\x02\x01\x01",
        7);
    EXPECT_EQ(Run(testing::FileItem("prefix " + elf, "/bin/x")).verdict, FilterVerdict::kDrop);
    EXPECT_EQ(Run(testing::FileItem("\x7f"
                                    "ELF\x01",
                                    "/bin/y"))
                  .verdict,
              FilterVerdict::kPass);
    EXPECT_EQ(Run(testing::FileItem("", "/empty")).verdict, FilterVerdict::kPass);
}

TEST(SignatureModuleParamsTest, BadSignatureFileIsRefusedWithFileAndLine) {
    testing::TempDir dir;
    testing::WriteTestFile(dir.Sub("bad.sigs"), "good: 41\nbad: 4\n");
    std::string error = testing::LoadOrCreateError(
        HVFILTER_SIGNATURE_SO, "{\"signatures\": \"" + dir.Sub("bad.sigs") + "\"}");
    EXPECT_NE(error.find(dir.Sub("bad.sigs") + ":2: odd number of hex digits"), std::string::npos)
        << error;
}

}  // namespace
}  // namespace hvkit::filters
