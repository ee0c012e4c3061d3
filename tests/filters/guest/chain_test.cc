// The chain: order, DROP stopping it, CHANGED bytes flowing on, and modules
// that break the ABI reported by name instead of crashing the agent.
#include "hvkit/filter_chain.h"

#include <gtest/gtest.h>

#include "module_test_support.h"
#include "temp_dir.h"
#include "test_packets.h"

namespace hvkit::filters {
namespace {

using testing::AppendModule;
using testing::AsText;
using testing::Ipv4Packet;
using testing::PacketItem;
using testing::TestPacket;
using testing::Transport;

// pcap_rule (pass tcp port 80) -> redact "password" -> signature.
class ChainTest : public ::testing::Test {
  protected:
    void SetUp() override {
        testing::WriteTestFile(dir_.Sub("chain.sigs"),
                               "plain-password: \"password=\"\nworm: \"EVILWORM\"\n");
        ASSERT_TRUE(AppendModule(chain_, HVFILTER_PCAP_RULE_SO,
                                 R"({"filter": "udp dst port 9999", "action": "drop"})")
                        .ok());
        ASSERT_TRUE(AppendModule(chain_, HVFILTER_REDACT_SO,
                                 R"({"pattern": "password", "replacement_byte": "*"})")
                        .ok());
        Status signature = AppendModule(chain_, HVFILTER_SIGNATURE_SO,
                                        "{\"signatures\": \"" + dir_.Sub("chain.sigs") + "\"}");
        ASSERT_TRUE(signature.ok()) << signature.message();
    }

    testing::TempDir dir_;
    Chain chain_;
};

TEST_F(ChainTest, LaterModulesSeeTheChangedBytes) {
    // The signature "password=" would match the original; redact ran first.
    TestPacket packet = Ipv4Packet(Transport::kTcp, 5000, 80, "user=a&password=b");
    Result<FilterOutcome> outcome = chain_.Run(PacketItem(packet.bytes));
    ASSERT_TRUE(outcome.ok()) << outcome.status().message();
    ASSERT_EQ(outcome->verdict, FilterVerdict::kChanged);
    std::vector<uint8_t> payload(outcome->changed.begin() + packet.payload_offset,
                                 outcome->changed.end());
    EXPECT_EQ(AsText(payload), "user=a&********=b");
}

TEST_F(ChainTest, DropStopsTheChainAndDiscardsEarlierChanges) {
    Result<FilterOutcome> outcome =
        chain_.Run(PacketItem(Ipv4Packet(Transport::kTcp, 1, 80, "password EVILWORM").bytes));
    ASSERT_TRUE(outcome.ok()) << outcome.status().message();
    EXPECT_EQ(outcome->verdict, FilterVerdict::kDrop);
    EXPECT_EQ(outcome->dropped_by, "signature");
    EXPECT_EQ(outcome->dropped_at, 2u);
    EXPECT_EQ(outcome->drop_reason, "signature worm");
    EXPECT_TRUE(outcome->changed.empty());

    Result<FilterOutcome> first =
        chain_.Run(PacketItem(Ipv4Packet(Transport::kUdp, 1, 9999, "password").bytes));
    ASSERT_TRUE(first.ok()) << first.status().message();
    EXPECT_EQ(first->verdict, FilterVerdict::kDrop);
    EXPECT_EQ(first->dropped_by, "pcap_rule");
    EXPECT_EQ(first->dropped_at, 0u);
}

TEST_F(ChainTest, CleanItemsPassUnchanged) {
    Result<FilterOutcome> outcome =
        chain_.Run(PacketItem(Ipv4Packet(Transport::kTcp, 1, 80, "hello").bytes));
    ASSERT_TRUE(outcome.ok()) << outcome.status().message();
    EXPECT_EQ(outcome->verdict, FilterVerdict::kPass);
    EXPECT_TRUE(outcome->changed.empty());
}

TEST(ChainBasicsTest, EmptyChainPassesEverything) {
    Chain chain;
    Result<FilterOutcome> outcome = chain.Run(testing::FileItem("anything", "/x"));
    ASSERT_TRUE(outcome.ok());
    EXPECT_EQ(outcome->verdict, FilterVerdict::kPass);
}

struct Misdeed {
    const char* params;
    const char* expected;
};

class UnrulyModuleTest : public ::testing::TestWithParam<Misdeed> {};

TEST_P(UnrulyModuleTest, IsAnErrorNamingTheModule) {
    // A passing redact first, so the misdeed is not the first module's.
    Chain chain;
    ASSERT_TRUE(
        AppendModule(chain, HVFILTER_REDACT_SO, R"({"pattern": "zz", "replacement_byte": "*"})")
            .ok());
    ASSERT_TRUE(AppendModule(chain, HVFILTER_UNRULY_SO, GetParam().params).ok());
    Result<FilterOutcome> outcome = chain.Run(testing::FileItem("content", "/x"));
    ASSERT_FALSE(outcome.ok());
    EXPECT_EQ(outcome.status().message(), std::string("filter module unruly (") +
                                              HVFILTER_UNRULY_SO + "): " + GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(
    Misdeeds, UnrulyModuleTest,
    ::testing::Values(Misdeed{"\"unknown-verdict\"",
                              "returned unknown verdict 7 (pass 0, drop 1, changed 2, error -1)"},
                      Misdeed{"\"overlong\"", "claims 262145 changed bytes in a buffer of 262144"},
                      Misdeed{"\"fail\"", "failed: disk on fire"}));

}  // namespace
}  // namespace hvkit::filters
