// The pcap_rule module on packets the test builds.
#include <gtest/gtest.h>

#include "module_test_support.h"
#include "test_packets.h"

namespace hvkit::filters {
namespace {

using testing::Ipv4Packet;
using testing::Ipv6Packet;
using testing::PacketItem;
using testing::Transport;

FilterVerdict Verdict(Chain& chain, const FilterItem& item) {
    Result<FilterOutcome> outcome = chain.Run(item);
    EXPECT_TRUE(outcome.ok()) << outcome.status().message();
    return outcome.ok() ? outcome->verdict : FilterVerdict::kChanged;
}

TEST(PcapRuleModuleTest, DropsMatchingPacketsAndPassesOthers) {
    auto chain = testing::SingleModuleChain(HVFILTER_PCAP_RULE_SO,
                                            R"({"filter": "udp dst port 9999", "action": "drop"})");
    ASSERT_TRUE(chain.ok()) << chain.status().message();

    auto to_9999 = Ipv4Packet(Transport::kUdp, 40000, 9999, "payload").bytes;
    Result<FilterOutcome> dropped = chain->Run(PacketItem(to_9999));
    ASSERT_TRUE(dropped.ok()) << dropped.status().message();
    EXPECT_EQ(dropped->verdict, FilterVerdict::kDrop);
    EXPECT_EQ(dropped->dropped_by, "pcap_rule");
    EXPECT_EQ(dropped->drop_reason, "pcap filter udp dst port 9999");

    EXPECT_EQ(Verdict(*chain, PacketItem(Ipv6Packet(Transport::kUdp, 1, 9999, "x").bytes)),
              FilterVerdict::kDrop);
    EXPECT_EQ(Verdict(*chain, PacketItem(Ipv4Packet(Transport::kUdp, 1, 9998, "x").bytes)),
              FilterVerdict::kPass);
    EXPECT_EQ(Verdict(*chain, PacketItem(Ipv4Packet(Transport::kUdp, 9999, 53, "x").bytes)),
              FilterVerdict::kPass);
    EXPECT_EQ(Verdict(*chain, PacketItem(Ipv4Packet(Transport::kTcp, 1, 9999, "x").bytes)),
              FilterVerdict::kPass);
}

TEST(PcapRuleModuleTest, PassActionAndFileItemsAlwaysPass) {
    auto chain =
        testing::SingleModuleChain(HVFILTER_PCAP_RULE_SO, R"({"filter": "tcp", "action": "pass"})");
    ASSERT_TRUE(chain.ok()) << chain.status().message();
    EXPECT_EQ(Verdict(*chain, PacketItem(Ipv4Packet(Transport::kTcp, 1, 80, "x").bytes)),
              FilterVerdict::kPass);

    auto dropping =
        testing::SingleModuleChain(HVFILTER_PCAP_RULE_SO, R"({"filter": "", "action": "drop"})");
    ASSERT_TRUE(dropping.ok()) << dropping.status().message();
    // The empty expression matches every packet, but files are not packets.
    EXPECT_EQ(Verdict(*dropping, PacketItem(Ipv4Packet(Transport::kTcp, 1, 80, "x").bytes)),
              FilterVerdict::kDrop);
    EXPECT_EQ(Verdict(*dropping, testing::FileItem("udp", "/etc/hosts")), FilterVerdict::kPass);
}

}  // namespace
}  // namespace hvkit::filters
