// /etc/hvkit/agent.json: a good file loads with defaults; each broken one is
// refused naming the file and the key.
#include <gtest/gtest.h>

#include "hvkit/agent/config.h"
#include "temp_dir.h"

namespace hvkit::agent {
namespace {

constexpr const char* kGood = R"({
  "repository": {"metadata_url": "http://10.0.2.1:8080/metadata/",
                 "targets_url": "http://10.0.2.1:8080/targets/",
                 "root": "/etc/hvkit/root.json"},
  "package_trust": "/etc/hvkit/package-trust.json"
})";

Result<AgentConfig> Load(const std::string& text, hvkit::testing::TempDir& tmp) {
    std::string path = tmp.Sub("agent.json");
    hvkit::testing::WriteTestFile(path, text);
    return LoadAgentConfig(path);
}

TEST(AgentConfig, LoadsWithDefaults) {
    hvkit::testing::TempDir tmp;
    auto c = Load(kGood, tmp);
    ASSERT_TRUE(c.ok()) << c.status().message();
    EXPECT_EQ(c->metadata_url, "http://10.0.2.1:8080/metadata/");
    EXPECT_EQ(c->package_name, "hvkit");
    EXPECT_EQ(c->state_dir, "/var/lib/hvkit");
}

TEST(AgentConfig, RefusalsNameTheFileAndTheKey) {
    hvkit::testing::TempDir tmp;
    struct Case {
        std::string text, key;
    };
    std::string good = kGood;
    auto with = [&](const std::string& from, const std::string& to) {
        std::string t = good;
        t.replace(t.find(from), from.size(), to);
        return t;
    };
    for (const Case& c : {
             Case{with("\"package_trust\"", "\"package_trusts\""), "\"package_trusts\""},
             Case{with("http://10.0.2.1:8080/metadata/", "http://10.0.2.1:8080/metadata"),
                  "\"repository.metadata_url\""},
             Case{with("/etc/hvkit/root.json", "root.json"), "\"repository.root\""},
             Case{with("\"package_trust\": \"/etc/hvkit/package-trust.json\"",
                       "\"package_trust\": 7"),
                  "\"package_trust\""},
             Case{with("\"package_trust\"", "\"package_name\": \"a/b\", \"package_trust\""),
                  "\"package_name\""},
             Case{"[]", "\"\""},
         }) {
        auto r = Load(c.text, tmp);
        ASSERT_FALSE(r.ok()) << c.text;
        EXPECT_NE(r.status().message().find(tmp.Sub("agent.json")), std::string::npos)
            << r.status().message();
        EXPECT_NE(r.status().message().find(c.key), std::string::npos) << r.status().message();
    }
    EXPECT_FALSE(Load("{not json", tmp).ok());
}

}  // namespace
}  // namespace hvkit::agent
