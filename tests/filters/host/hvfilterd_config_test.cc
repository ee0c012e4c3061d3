// hvfilterd.json: the documented example loads, and every class of mistake
// is refused with the file, the line, the key and the rule.
#include <gtest/gtest.h>

#include "hvkit/filterd/config.h"
#include "temp_dir.h"

namespace hvkit::filterd {
namespace {

// The example of docs/filters.md, one key per line so errors have known lines.
constexpr const char* kGood = R"({
  "vm": {"control_socket": "/run/hvkit/vm1.sock"},
  "sources": [
    {
      "name": "web",
      "kind": "network",
      "network": {"queue": 7, "rules": ["ip daddr 10.9.0.2 tcp dport 80"], "batch": 32},
      "chain": [
        {"module": "pcap_rule", "params": {"filter": "udp port 9999", "action": "drop"}},
        {"module": "redact", "params": {"pattern": "secret"}}
      ],
      "deadline_ms": 50,
      "on_timeout": "fail-open",
      "on_guest_absent": "fail-open",
      "on_overflow": "fail-closed",
      "max_pending": 4096,
      "max_item_bytes": 65535
    },
    {
      "name": "uploads",
      "kind": "file",
      "file": {"paths": ["/srv/uploads"], "events": ["open", "exec"], "max_content_bytes": 1048576},
      "chain": [{"module": "signature", "params": {"signatures": "/etc/hvkit/sigs.txt"}}],
      "deadline_ms": 200,
      "on_timeout": "fail-closed",
      "on_guest_absent": "fail-closed",
      "on_overflow": "fail-closed",
      "max_pending": 256
    }
  ]
}
)";

// (text) with its one occurrence of (from) replaced by (to).
std::string With(std::string text, const std::string& from, const std::string& to) {
    size_t at = text.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    EXPECT_EQ(text.find(from, at + 1), std::string::npos) << from << " occurs twice";
    if (at != std::string::npos) text.replace(at, from.size(), to);
    return text;
}

class FilterConfigTest : public ::testing::Test {
  protected:
    // Writes (text) as hvfilterd.json and loads it.
    Result<FilterConfig> Load(const std::string& text) {
        testing::WriteTestFile(path_, text);
        return LoadFilterConfig(path_);
    }
    // Loads (text), expecting a refusal; returns the message.
    std::string Refusal(const std::string& text) {
        auto r = Load(text);
        EXPECT_FALSE(r.ok()) << "accepted";
        return r.ok() ? "" : r.status().message();
    }
    // Expects (text) refused with "<path>:(line_key_rule)" leading the message.
    void ExpectRefused(const std::string& text, const std::string& line_key_rule) {
        std::string msg = Refusal(text);
        EXPECT_EQ(msg.rfind(path_ + ":" + line_key_rule, 0), 0u)
            << "message: " << msg << "\nwanted:  " << path_ << ":" << line_key_rule;
    }

    testing::TempDir dir_;
    std::string path_ = dir_.Sub("hvfilterd.json");
};

TEST_F(FilterConfigTest, LoadsTheDocumentedExample) {
    auto r = Load(kGood);
    ASSERT_TRUE(r.ok()) << r.status().message();
    const FilterConfig& c = *r;
    EXPECT_EQ(c.control_socket, "/run/hvkit/vm1.sock");
    ASSERT_EQ(c.sources.size(), 2u);
    const SourceConfig& web = c.sources[0];
    EXPECT_EQ(web.name, "web");
    EXPECT_EQ(web.kind, SourceKind::kNetwork);
    ASSERT_TRUE(web.network.has_value());
    EXPECT_FALSE(web.file.has_value());
    EXPECT_EQ(web.network->queue, 7);
    EXPECT_EQ(web.network->rules, std::vector<std::string>{"ip daddr 10.9.0.2 tcp dport 80"});
    EXPECT_EQ(web.network->batch, 32u);
    ASSERT_EQ(web.chain.size(), 2u);
    EXPECT_EQ(web.chain[0].module, "pcap_rule");
    EXPECT_EQ(web.chain[0].params.Find("action")->as_string(), "drop");
    EXPECT_EQ(web.chain[1].module, "redact");
    EXPECT_EQ(web.policy.name, "web");
    EXPECT_EQ(web.policy.deadline, std::chrono::milliseconds(50));
    EXPECT_EQ(web.policy.on_timeout, FailPolicy::kFailOpen);
    EXPECT_EQ(web.policy.on_guest_absent, FailPolicy::kFailOpen);
    EXPECT_EQ(web.policy.on_overflow, FailPolicy::kFailClosed);
    EXPECT_EQ(web.policy.max_pending, 4096u);
    EXPECT_EQ(web.max_item_bytes, 65535u);

    const SourceConfig& up = c.sources[1];
    EXPECT_EQ(up.kind, SourceKind::kFile);
    ASSERT_TRUE(up.file.has_value());
    EXPECT_FALSE(up.network.has_value());
    EXPECT_EQ(up.file->paths, std::vector<std::string>{"/srv/uploads"});
    EXPECT_EQ(up.file->events, (std::vector<FileEvent>{FileEvent::kOpen, FileEvent::kExec}));
    EXPECT_EQ(up.file->max_content_bytes, 1048576u);
    EXPECT_EQ(up.policy.deadline, std::chrono::milliseconds(200));
    EXPECT_EQ(up.policy.on_timeout, FailPolicy::kFailClosed);
    EXPECT_EQ(up.policy.max_pending, 256u);
    EXPECT_EQ(up.max_item_bytes, 1048576u);  // defaults to max_content_bytes

    auto policies = SourcePolicies(c);
    ASSERT_EQ(policies.size(), 2u);
    EXPECT_EQ(policies[1].name, "uploads");
}

TEST_F(FilterConfigTest, AppliesDefaults) {
    std::string text = With(kGood, R"(, "batch": 32)", "");
    text = With(text, "      \"max_pending\": 4096,\n", "");
    text = With(text, ",\n      \"max_item_bytes\": 65535", "");
    text = With(text, R"(, "events": ["open", "exec"], "max_content_bytes": 1048576)", "");
    text = With(text, R"(, "params": {"signatures": "/etc/hvkit/sigs.txt"})", "");
    auto r = Load(text);
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ(r->sources[0].network->batch, 32u);
    EXPECT_EQ(r->sources[0].policy.max_pending, 1024u);
    EXPECT_EQ(r->sources[0].max_item_bytes, 65535u);
    EXPECT_EQ(r->sources[1].file->events, std::vector<FileEvent>{FileEvent::kOpen});
    EXPECT_EQ(r->sources[1].file->max_content_bytes, 1048576u);
    EXPECT_TRUE(r->sources[1].chain[0].params.is_object());
    EXPECT_TRUE(r->sources[1].chain[0].params.as_object().empty());
}

TEST_F(FilterConfigTest, RangesNameLineKeyAndBounds) {
    ExpectRefused(With(kGood, R"("deadline_ms": 50,)", R"("deadline_ms": 0,)"),
                  "12: sources[0].deadline_ms: 0 is out of range (1..60000)");
    ExpectRefused(With(kGood, R"("deadline_ms": 200,)", R"("deadline_ms": 60001,)"),
                  "24: sources[1].deadline_ms: 60001 is out of range (1..60000)");
    ExpectRefused(With(kGood, R"("queue": 7)", R"("queue": 65536)"),
                  "7: sources[0].network.queue: 65536 is out of range (0..65535)");
    ExpectRefused(With(kGood, R"("batch": 32)", R"("batch": 0)"),
                  "7: sources[0].network.batch: 0 is out of range (1..1024)");
    ExpectRefused(With(kGood, R"("max_pending": 256)", R"("max_pending": 0)"),
                  "28: sources[1].max_pending: 0 is out of range (1..1048576)");
    ExpectRefused(With(kGood, R"("max_item_bytes": 65535)", R"("max_item_bytes": 65536)"),
                  "17: sources[0].max_item_bytes: 65536 is out of range (64..65535)");
    // A file's content travels as one item, so the item cap must hold it.
    ExpectRefused(
        With(kGood, R"("max_pending": 256)", R"("max_pending": 256, "max_item_bytes": 4096)"),
        "28: sources[1].max_item_bytes: 4096 is out of range (1048576..67108864)");
    ExpectRefused(
        With(kGood, R"("max_content_bytes": 1048576)", R"("max_content_bytes": 67108865)"),
        "22: sources[1].file.max_content_bytes: 67108865 is out of range (0..67108864)");
}

TEST_F(FilterConfigTest, UnknownKeysAreRefusedWhereTheyStand) {
    ExpectRefused(
        With(kGood, R"("deadline_ms": 50,)", "\"deadline_ms\": 50,\n      \"deadlin\": 5,"),
        "13: sources[0].deadlin: is not a known key (known: \"name\", \"kind\", ");
    ExpectRefused(With(kGood, "  \"vm\": {", "  \"vms\": 1,\n  \"vm\": {"),
                  "2: vms: is not a known key (known: \"vm\", \"sources\")");
    ExpectRefused(With(kGood, R"("batch": 32)", R"("batch": 32, "copy": 1)"),
                  "7: sources[0].network.copy: is not a known key");
    ExpectRefused(With(kGood, R"({"module": "redact", )", R"({"module": "redact", "a.b": 1, )"),
                  "10: sources[0].chain[1][\"a.b\"]: is not a known key (known: \"module\", "
                  "\"params\")");
    ExpectRefused(With(kGood, R"({"control_socket")", R"({"socket": 1, "control_socket")"),
                  "2: vm.socket: is not a known key (known: \"control_socket\")");
}

TEST_F(FilterConfigTest, MissingKeysAreReportedAtTheirObject) {
    ExpectRefused(With(kGood, "      \"kind\": \"network\",\n", ""),
                  "4: sources[0].kind: is required (one of \"network\", \"file\")");
    ExpectRefused(With(kGood, "      \"deadline_ms\": 200,\n", ""),
                  "19: sources[1].deadline_ms: is required (an integer)");
    ExpectRefused(
        With(kGood, "      \"on_overflow\": \"fail-closed\",\n      \"max_pending\": 4096",
             "      \"max_pending\": 4096"),
        "4: sources[0].on_overflow: is required (one of \"fail-open\", \"fail-closed\")");
    ExpectRefused(With(kGood, R"("queue": 7, )", ""),
                  "7: sources[0].network.queue: is required (an integer)");
    ExpectRefused(With(kGood, R"({"paths": ["/srv/uploads"], )", "{"),
                  "22: sources[1].file.paths: is required (an array)");
    ExpectRefused(R"({"sources": []})", "1: vm: is required (an object)");
    ExpectRefused("{\"vm\": {\"control_socket\": \"/s\"}}", "1: sources: is required (an array)");
}

TEST_F(FilterConfigTest, TypesAreChecked) {
    ExpectRefused(With(kGood, R"("deadline_ms": 50,)", R"("deadline_ms": "50",)"),
                  "12: sources[0].deadline_ms: must be an integer, not a string");
    ExpectRefused(With(kGood, R"("deadline_ms": 50,)", R"("deadline_ms": 50.5,)"),
                  "12: sources[0].deadline_ms: must be an integer, not a number");
    ExpectRefused(With(kGood, R"({"pattern": "secret"})", R"("secret")"),
                  "10: sources[0].chain[1].params: must be an object, not a string");
    ExpectRefused(With(kGood, R"("rules": ["ip daddr 10.9.0.2 tcp dport 80"])", R"("rules": [80])"),
                  "7: sources[0].network.rules[0]: must be a string, not an integer");
    ExpectRefused("[]\n", "1: the document: must be a JSON object, not an array");
    ExpectRefused(With(kGood, R"("name": "uploads")", R"("name": null)"),
                  "20: sources[1].name: must be a string, not a null");
    ExpectRefused(With(kGood, "    {\n      \"name\": \"uploads\"",
                       "    7,\n    {\n      \"name\": \"uploads\""),
                  "19: sources[1]: must be an object, not an integer");
}

TEST_F(FilterConfigTest, PoliciesAreSpelledExactly) {
    ExpectRefused(
        With(kGood, R"("on_timeout": "fail-open",)", R"("on_timeout": "open",)"),
        "13: sources[0].on_timeout: \"open\" is not one of \"fail-open\", \"fail-closed\"");
    ExpectRefused(
        With(kGood, R"("on_guest_absent": "fail-closed",)", R"("on_guest_absent": "Fail-Closed",)"),
        "26: sources[1].on_guest_absent: \"Fail-Closed\" is not one of");
    ExpectRefused(With(kGood, R"("on_timeout": "fail-open",)", R"("on_timeout": true,)"),
                  "13: sources[0].on_timeout: true is not one of");
    ExpectRefused(With(kGood, R"("kind": "file")", R"("kind": "disk")"),
                  "21: sources[1].kind: \"disk\" is not one of \"network\", \"file\"");
}

TEST_F(FilterConfigTest, NamesAreUniqueAndPlain) {
    ExpectRefused(With(kGood, R"("name": "uploads")", R"("name": "web")"),
                  "20: sources[1].name: \"web\" is already the name of sources[0]");
    ExpectRefused(With(kGood, R"("name": "web")", R"("name": "Web")"),
                  "5: sources[0].name: \"Web\" must be 1..32 characters of a-z, 0-9 and '-'");
    ExpectRefused(With(kGood, R"("name": "web")", R"("name": "")"),
                  "5: sources[0].name: must not be empty");
    ExpectRefused(With(kGood, R"("name": "web")", "\"name\": \"" + std::string(33, 'a') + "\""),
                  "5: sources[0].name: \"aaaa");
    ExpectRefused(With(kGood, R"({"module": "redact")", R"({"module": "Redact!")"),
                  "10: sources[0].chain[1].module: \"Redact!\" must be 1..64 characters");
}

TEST_F(FilterConfigTest, QueuesAreUnique) {
    std::string second = With(kGood, R"("kind": "file")", R"("kind": "network")");
    second = With(
        second,
        R"("file": {"paths": ["/srv/uploads"], "events": ["open", "exec"], "max_content_bytes": 1048576})",
        R"("network": {"queue": 7, "rules": ["udp dport 53"]})");
    ExpectRefused(second, "22: sources[1].network.queue: 7 is already the queue of sources[0]");
    auto ok = Load(With(second, R"({"queue": 7, "rules": ["udp dport 53"]})",
                        R"({"queue": 8, "rules": ["udp dport 53"]})"));
    EXPECT_TRUE(ok.ok()) << ok.status().message();
}

TEST_F(FilterConfigTest, KindSectionMustMatchTheKind) {
    ExpectRefused(With(kGood, R"("kind": "file")", R"("kind": "network")"),
                  "22: sources[1].file: is only allowed when kind is \"file\" (this source's kind "
                  "is \"network\")");
    ExpectRefused(With(kGood, "      \"network\": {\"queue\"",
                       "      \"file\": {},\n      \"network\": {\"queue\""),
                  "7: sources[0].file: is only allowed when kind is \"file\"");
    ExpectRefused(
        With(
            kGood,
            R"("network": {"queue": 7, "rules": ["ip daddr 10.9.0.2 tcp dport 80"], "batch": 32},)",
            ""),
        "4: sources[0].network: is required (an object)");
}

TEST_F(FilterConfigTest, ListsAndPathsAreChecked) {
    ExpectRefused(With(kGood, R"("/srv/uploads")", R"("srv/uploads")"),
                  "22: sources[1].file.paths[0]: must be an absolute path, not \"srv/uploads\"");
    ExpectRefused(With(kGood, R"(["/srv/uploads"])", R"(["/srv/uploads", "/srv/uploads"])"),
                  "22: sources[1].file.paths[1]: \"/srv/uploads\" is listed twice");
    ExpectRefused(With(kGood, R"(["/srv/uploads"])", R"([])"),
                  "22: sources[1].file.paths: must not be empty");
    ExpectRefused(With(kGood, R"(["open", "exec"])", R"(["open", "write"])"),
                  "22: sources[1].file.events[1]: \"write\" is not one of \"open\", \"exec\", "
                  "\"access\"");
    ExpectRefused(With(kGood, R"(["open", "exec"])", R"(["exec", "exec"])"),
                  "22: sources[1].file.events[1]: \"exec\" is listed twice");
    ExpectRefused(With(kGood, R"(tcp dport 80")", R"(tcp dport 80; flush ruleset")"),
                  "7: sources[0].network.rules[0]: must be one nft match expression");
    ExpectRefused(With(kGood, R"("rules": ["ip daddr 10.9.0.2 tcp dport 80"])", R"("rules": [])"),
                  "7: sources[0].network.rules: must not be empty");
    ExpectRefused(With(kGood, R"("/run/hvkit/vm1.sock")", R"("vm1.sock")"),
                  "2: vm.control_socket: must be an absolute path, not \"vm1.sock\"");
}

TEST_F(FilterConfigTest, ChainsAndSourcesAreNotEmpty) {
    ExpectRefused(
        With(
            kGood,
            R"("chain": [{"module": "signature", "params": {"signatures": "/etc/hvkit/sigs.txt"}}])",
            R"("chain": [])"),
        "23: sources[1].chain: must hold 1..32 modules, not 0");
    ExpectRefused("{\"vm\": {\"control_socket\": \"/s\"},\n \"sources\": []}",
                  "2: sources: must hold 1..64 sources, not 0");
    ExpectRefused(With(kGood, R"({"module": "redact", "params": {"pattern": "secret"}})", R"([])"),
                  "10: sources[0].chain[1]: must be an object, not an array");
}

TEST_F(FilterConfigTest, SyntaxErrorsAndMissingFilesNameThePlace) {
    std::string msg = Refusal(With(kGood, R"("deadline_ms": 50,)", R"("deadline_ms": 50)"));
    EXPECT_EQ(msg, path_ + ": invalid JSON at line 13, column 7: expected ',' or '}'");
    auto missing = LoadFilterConfig(dir_.Sub("absent.json"));
    ASSERT_FALSE(missing.ok());
    EXPECT_NE(missing.status().message().find("absent.json"), std::string::npos)
        << missing.status().message();
}

}  // namespace
}  // namespace hvkit::filterd
