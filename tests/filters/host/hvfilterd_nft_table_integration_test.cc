// hvfilterd's nftables table against the real kernel: installed and removed
// whole, a crashed run's table replaced, and the queue's answer when
// nobody listens (the source's on_guest_absent policy).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "hvfilterd_nfqueue_netns.h"
#include "hvkit/filterd/nft_table.h"

namespace hvkit::filterd {
namespace {

using testing::UdpSocket;

class NftTableIntegration : public ::testing::Test {
  protected:
    void SetUp() override {
        std::string why = testing::NetfilterUnavailable();
        if (!why.empty()) GTEST_SKIP() << why;
        std::string err = testing::EnterFreshNetns();
        if (err.find("not permitted") != std::string::npos) GTEST_SKIP() << err;
        ASSERT_EQ(err, "");
    }

    bool TableExists() {
        Result<bool> e = NftTable::Exists();
        EXPECT_TRUE(e.ok()) << e.status().message();
        return e.ok() && *e;
    }

    // Sends one datagram to port 9999 and reports whether it arrived
    // (bounded wait) and the errno of the send.
    bool Delivered(int* send_errno) {
        UdpSocket receiver(AF_INET, 9999), sender(AF_INET, 0);
        EXPECT_TRUE(receiver.ok() && sender.ok());
        *send_errno = sender.SendTo(9999, "anyone there?");
        std::vector<std::string> got;
        for (int i = 0; i < 100 && got.empty(); ++i) {
            poll(nullptr, 0, 10);
            receiver.Drain(got);
        }
        return !got.empty();
    }
};

TEST_F(NftTableIntegration, ScriptHasOneChainPerHookAndAQueueChainPerSource) {
    std::string s = NftTableScript("hvfilterd", {{7, {"udp dport 9999"}, false}});
    EXPECT_NE(s.find("add table inet hvfilterd\ndelete table inet hvfilterd\n"), std::string::npos);
    EXPECT_NE(s.find("add chain inet hvfilterd queue_7\nadd rule inet hvfilterd queue_7 drop\n"),
              std::string::npos)
        << s;
    EXPECT_NE(s.find("add rule inet hvfilterd output udp dport 9999 jump queue_7\n"),
              std::string::npos);
    EXPECT_NE(s.find("add rule inet hvfilterd input iifname != \"lo\" udp dport 9999 jump queue_7"),
              std::string::npos);
    EXPECT_NE(s.find("add rule inet hvfilterd forward udp dport 9999 jump queue_7"),
              std::string::npos);
}

TEST_F(NftTableIntegration, InstalledThenGoneWhenDestroyed) {
    EXPECT_FALSE(TableExists());
    {
        auto table = NftTable::Install({{7, {"udp dport 9999"}, false}});
        ASSERT_TRUE(table.ok()) << table.status().message();
        EXPECT_TRUE(TableExists());
    }
    EXPECT_FALSE(TableExists()) << "the table is removed with its owner";
    EXPECT_TRUE(NftTable::Remove().ok()) << "removing an absent table succeeds";
}

TEST_F(NftTableIntegration, StaleTableFromACrashedRunIsReplaced) {
    ASSERT_TRUE(
        RunNftScript("add table inet hvfilterd\n"
                     "add chain inet hvfilterd output { type filter hook output priority 0; }\n"
                     "add rule inet hvfilterd output udp dport 9999 drop\n"
                     "add chain inet hvfilterd stale_marker\n",
                     "planting a stale table")
            .ok());
    int err = 0;
    EXPECT_FALSE(Delivered(&err)) << "the stale table drops";
    auto table = NftTable::Install({{7, {"udp dport 9999"}, true}});
    ASSERT_TRUE(table.ok()) << table.status().message();
    Status marker = RunNftScript("list chain inet hvfilterd stale_marker\n", "listing");
    EXPECT_FALSE(marker.ok()) << "the stale table's chain is gone";
    EXPECT_TRUE(Delivered(&err)) << "the new table bypasses: nobody listens, fail-open";
}

TEST_F(NftTableIntegration, NobodyListeningFailClosedDrops) {
    auto table = NftTable::Install({{7, {"udp dport 9999"}, false}});
    ASSERT_TRUE(table.ok()) << table.status().message();
    int err = 0;
    EXPECT_FALSE(Delivered(&err)) << "the queue without a listener drops";
}

TEST_F(NftTableIntegration, NobodyListeningFailOpenDelivers) {
    auto table = NftTable::Install({{7, {"udp dport 9999"}, true}});
    ASSERT_TRUE(table.ok()) << table.status().message();
    int err = -1;
    EXPECT_TRUE(Delivered(&err));
    EXPECT_EQ(err, 0);
}

TEST_F(NftTableIntegration, OtherTrafficIsUntouched) {
    auto table = NftTable::Install({{7, {"udp dport 9998"}, false}});
    ASSERT_TRUE(table.ok()) << table.status().message();
    int err = 0;
    EXPECT_TRUE(Delivered(&err)) << "port 9999 matches no rule";
}

TEST_F(NftTableIntegration, BadRuleIsRefusedWithNftsMessageAndLeavesNoTable) {
    auto table = NftTable::Install({{7, {"udp dport nine"}, false}});
    ASSERT_FALSE(table.ok());
    EXPECT_NE(table.status().message().find("installing nft table inet hvfilterd"),
              std::string::npos)
        << table.status().message();
    EXPECT_NE(table.status().message().find("network rule 'udp dport nine' (queue 7)"),
              std::string::npos)
        << table.status().message();
    EXPECT_FALSE(TableExists());
}

}  // namespace
}  // namespace hvkit::filterd
