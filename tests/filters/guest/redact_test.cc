// The redact module: payload bytes replaced in place, headers untouched, and
// a too-small output buffer refused without being overrun.
#include <gtest/gtest.h>

#include "module_test_support.h"
#include "test_packets.h"

namespace hvkit::filters {
namespace {

using testing::AsText;
using testing::Ipv4Packet;
using testing::Ipv6Packet;
using testing::PacketItem;
using testing::TestPacket;
using testing::Transport;

constexpr const char* kParams = R"({"pattern": "secret", "replacement_byte": "X"})";

TEST(RedactModuleTest, ChangesTcpPayloadAndLeavesHeadersByteIdentical) {
    auto chain = testing::SingleModuleChain(HVFILTER_REDACT_SO, kParams);
    ASSERT_TRUE(chain.ok()) << chain.status().message();
    TestPacket packet = Ipv4Packet(Transport::kTcp, 5000, 80, "a secret, secretsecret; secre");
    Result<FilterOutcome> outcome = chain->Run(PacketItem(packet.bytes));
    ASSERT_TRUE(outcome.ok()) << outcome.status().message();
    ASSERT_EQ(outcome->verdict, FilterVerdict::kChanged);
    ASSERT_EQ(outcome->changed.size(), packet.bytes.size());
    EXPECT_TRUE(std::equal(packet.bytes.begin(), packet.bytes.begin() + packet.payload_offset,
                           outcome->changed.begin()));
    std::vector<uint8_t> payload(outcome->changed.begin() + packet.payload_offset,
                                 outcome->changed.end());
    EXPECT_EQ(AsText(payload), "a XXXXXX, XXXXXXXXXXXX; secre");
}

TEST(RedactModuleTest, Ipv6UdpPayloadBehindAnExtensionHeader) {
    auto chain = testing::SingleModuleChain(HVFILTER_REDACT_SO, kParams);
    ASSERT_TRUE(chain.ok()) << chain.status().message();
    TestPacket packet = Ipv6Packet(Transport::kUdp, 1, 2, "secret", true);
    Result<FilterOutcome> outcome = chain->Run(PacketItem(packet.bytes));
    ASSERT_TRUE(outcome.ok()) << outcome.status().message();
    ASSERT_EQ(outcome->verdict, FilterVerdict::kChanged);
    std::vector<uint8_t> expected = packet.bytes;
    std::fill(expected.begin() + packet.payload_offset, expected.end(), 'X');
    EXPECT_EQ(outcome->changed, expected);
}

TEST(RedactModuleTest, NeverTouchesHeaderBytesThatLookLikeThePattern) {
    // The pattern is the source address 10.0.0.1, present only in the IP header.
    auto chain = testing::SingleModuleChain(
        HVFILTER_REDACT_SO, R"({"pattern": "\n\u0000\u0000\u0001", "replacement_byte": "X"})");
    ASSERT_TRUE(chain.ok()) << chain.status().message();
    Result<FilterOutcome> outcome =
        chain->Run(PacketItem(Ipv4Packet(Transport::kTcp, 1, 2, "nothing here").bytes));
    ASSERT_TRUE(outcome.ok()) << outcome.status().message();
    EXPECT_EQ(outcome->verdict, FilterVerdict::kPass);
}

TEST(RedactModuleTest, FilesAreRedactedWholeAndCleanItemsPass) {
    auto chain = testing::SingleModuleChain(HVFILTER_REDACT_SO, kParams);
    ASSERT_TRUE(chain.ok()) << chain.status().message();
    Result<FilterOutcome> file = chain->Run(testing::FileItem("secret\nnot secret", "/srv/a"));
    ASSERT_TRUE(file.ok()) << file.status().message();
    EXPECT_EQ(file->verdict, FilterVerdict::kChanged);
    EXPECT_EQ(AsText(file->changed), "XXXXXX\nnot XXXXXX");

    Result<FilterOutcome> clean = chain->Run(testing::FileItem("public", "/srv/b"));
    ASSERT_TRUE(clean.ok());
    EXPECT_EQ(clean->verdict, FilterVerdict::kPass);
    EXPECT_TRUE(clean->changed.empty());
}

TEST(RedactModuleTest, TooSmallBufferIsAnErrorWithTheNeededSizeAndNoOverrun) {
    auto module = LoadedModule::Open(HVFILTER_REDACT_SO);
    ASSERT_TRUE(module.ok()) << module.status().message();
    auto instance = ModuleInstance::Create(*module, kParams);
    ASSERT_TRUE(instance.ok()) << instance.status().message();

    std::string content = "my secret file";
    hvfilter_item item{HVFILTER_ITEM_FILE, reinterpret_cast<const uint8_t*>(content.data()),
                       content.size(), "/f"};
    std::vector<uint8_t> buffer(content.size(), 0xee);  // 4 usable, the rest a guard
    char error[128] = {};
    hvfilter_result result{buffer.data(), 4, 0, error, sizeof(error)};
    int verdict = (*module)->table().inspect(instance->handle(), &item, &result);
    EXPECT_EQ(verdict, HVFILTER_INSPECT_ERROR);
    EXPECT_EQ(result.changed_len, content.size());
    EXPECT_STREQ(error, "the changed item needs 14 bytes, the buffer holds 4");
    EXPECT_EQ(buffer, std::vector<uint8_t>(content.size(), 0xee));
}

}  // namespace
}  // namespace hvkit::filters
