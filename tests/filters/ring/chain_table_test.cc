// The chain table: what hvfilterd encodes the guest decodes, and a table a
// broken or hostile host wrote is refused with the key and the rule.
#include <gtest/gtest.h>

#include <string>

#include "hvkit/filter_chain_table.h"

namespace hvkit::filter_ring {
namespace {

std::vector<ChainSpec> TwoChains() {
    ChainSpec web;
    web.source = "web";
    web.kind = ItemSource::kNetwork;
    ChainModule rule{"pcap_rule", Json::MakeObject()};
    rule.params["filter"] = "udp port 9999";
    web.modules.push_back(rule);
    web.modules.push_back(ChainModule{"redact", Json::MakeObject()});
    ChainSpec uploads;
    uploads.source = "uploads";
    uploads.kind = ItemSource::kFile;
    uploads.modules.push_back(ChainModule{"signature", Json::MakeObject()});
    return {web, uploads};
}

TEST(ChainTable, WhatTheHostEncodesTheGuestDecodes) {
    Result<std::vector<ChainSpec>> chains = DecodeChainTable(EncodeChainTable(TwoChains()));
    ASSERT_TRUE(chains.ok()) << chains.status().message();
    ASSERT_EQ(chains->size(), 2u);
    EXPECT_EQ((*chains)[0].source, "web");
    EXPECT_EQ((*chains)[0].kind, ItemSource::kNetwork);
    ASSERT_EQ((*chains)[0].modules.size(), 2u);
    EXPECT_EQ((*chains)[0].modules[0].module, "pcap_rule");
    EXPECT_EQ(DumpJson((*chains)[0].modules[0].params, 0), R"({"filter":"udp port 9999"})");
    EXPECT_EQ((*chains)[1].kind, ItemSource::kFile);
    EXPECT_EQ((*chains)[1].modules[0].module, "signature");
}

void ExpectRefused(const std::string& text, const std::string& expected) {
    Result<std::vector<ChainSpec>> chains = DecodeChainTable(text);
    ASSERT_FALSE(chains.ok()) << text;
    EXPECT_NE(chains.status().message().find(expected), std::string::npos)
        << chains.status().message();
}

TEST(ChainTable, RefusesTablesOutsideTheFormat) {
    ExpectRefused("", "chain table");
    ExpectRefused("[]", "(top): is not an object");
    ExpectRefused(R"({"version":2,"chains":[]})", "version: is not 1");
    ExpectRefused(R"({"version":1})", "chains: is not an array");
    ExpectRefused(R"({"version":1,"chains":[{"kind":"network","modules":[]}]})",
                  "chains[0].modules: is not an array of 1..32");
    ExpectRefused(R"({"version":1,"chains":[{"kind":"disk","modules":[{"module":"x"}]}]})",
                  "chains[0].kind: is not \"network\" or \"file\"");
    ExpectRefused(R"({"version":1,"chains":[{"modules":[{"module":"x"}]}]})",
                  "chains[0].kind: is required");
    ExpectRefused(
        R"({"version":1,"chains":[{"kind":"file","modules":[{"module":"../../bin/sh"}]}]})",
        "chains[0].modules[0].module: \"../../bin/sh\" is not a module name");
    ExpectRefused(
        R"({"version":1,"chains":[{"kind":"file","modules":[{"module":"a","params":[]}]}]})",
        "chains[0].modules[0].params: is not an object");
    ExpectRefused(R"({"version":1,"chains":[{"kind":"file","modules":[{"module":"a","x":1}]}]})",
                  "chains[0].modules[0].x: is not a known key");
}

TEST(ChainTable, ModuleNamesCannotBePaths) {
    EXPECT_TRUE(IsModuleName("pcap_rule"));
    EXPECT_TRUE(IsModuleName("sig-2"));
    EXPECT_FALSE(IsModuleName(""));
    EXPECT_FALSE(IsModuleName("a/b"));
    EXPECT_FALSE(IsModuleName(".."));
    EXPECT_FALSE(IsModuleName("Upper"));
    EXPECT_FALSE(IsModuleName(std::string(65, 'a')));
}

}  // namespace
}  // namespace hvkit::filter_ring
