// Value positions by JSON pointer, and parse errors that give line and column.
#include <gtest/gtest.h>

#include "hvkit/json.h"

namespace hvkit {
namespace {

JsonLocations Locate(std::string_view text) {
    JsonLocations locations;
    auto r = ParseJson(text, "test.json", {}, &locations);
    EXPECT_TRUE(r.ok()) << r.status().message();
    return locations;
}

// "line:column" of (pointer), or "none".
std::string At(const JsonLocations& locations, std::string_view pointer) {
    const JsonLocation* where = locations.Find(pointer);
    if (where == nullptr) return "none";
    return std::to_string(where->line) + ":" + std::to_string(where->column);
}

TEST(JsonLocations, NestedObjectsAndArrays) {
    auto loc = Locate(
        "{\n"
        "  \"vm\": {\"socket\": \"/s\"},\n"
        "  \"sources\": [\n"
        "    {\"chain\": [1, {\"deadline_ms\": 50}]},\n"
        "    []\n"
        "  ]\n"
        "}\n");
    EXPECT_EQ(At(loc, ""), "1:1");
    EXPECT_EQ(At(loc, "/vm"), "2:9");
    EXPECT_EQ(At(loc, "/vm/socket"), "2:20");
    EXPECT_EQ(At(loc, "/sources"), "3:14");
    EXPECT_EQ(At(loc, "/sources/0"), "4:5");
    EXPECT_EQ(At(loc, "/sources/0/chain"), "4:15");
    EXPECT_EQ(At(loc, "/sources/0/chain/0"), "4:16");
    EXPECT_EQ(At(loc, "/sources/0/chain/1"), "4:19");
    EXPECT_EQ(At(loc, "/sources/0/chain/1/deadline_ms"), "4:35");
    EXPECT_EQ(At(loc, "/sources/1"), "5:5");
    EXPECT_EQ(At(loc, "/sources/2"), "none");
    EXPECT_EQ(loc.size(), 10u);
    EXPECT_EQ(loc.Find("/sources/0/chain/1/deadline_ms")->offset, 77u);
}

TEST(JsonLocations, EscapesKeysPerRfc6901) {
    auto loc = Locate(R"({"a/b": 1, "m~n": 2, "~1": 3, "": 4, "\u00e9": 5})");
    EXPECT_EQ(At(loc, "/a~1b"), "1:9");
    EXPECT_EQ(At(loc, "/m~0n"), "1:19");
    EXPECT_EQ(At(loc, "/~01"), "1:28");
    EXPECT_EQ(At(loc, "/"), "1:35");
    EXPECT_EQ(At(loc, "/\xc3\xa9"), "1:48");
    EXPECT_EQ(JsonPointerToken("a/~b"), "a~1~0b");
}

TEST(JsonLocations, NearestFallsBackToTheEnclosingValue) {
    auto loc = Locate("{\"a\":\n  {\"b\": [true]}}");
    JsonLocation missing = loc.Nearest("/a/c/d");
    EXPECT_EQ(missing.line, 2u);
    EXPECT_EQ(missing.column, 3u);
    EXPECT_EQ(loc.Nearest("/a/b/0").column, 10u);
    EXPECT_EQ(loc.Nearest("no-slash").line, 1u);
}

TEST(JsonLocations, ScalarDocumentAndCrLf) {
    EXPECT_EQ(At(Locate("  42"), ""), "1:3");
    auto loc = Locate("{\r\n\"k\":\r\n  null}");
    EXPECT_EQ(At(loc, "/k"), "3:3");
}

TEST(JsonLocations, ParseErrorsNameLineAndColumn) {
    auto r = ParseJson("{\n  \"a\": 1,\n  \"b\" 2\n}", "cfg.json");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().message(), "cfg.json: invalid JSON at line 3, column 7: expected ':'");
    auto dup = ParseJson("[\n{\"k\":1,\n \"k\":2}]", "cfg.json");
    ASSERT_FALSE(dup.ok());
    EXPECT_NE(dup.status().message().find("line 3, column 5: duplicate key \"k\""),
              std::string::npos)
        << dup.status().message();
}

TEST(JsonLocations, WithoutLocationsNothingChanges) {
    JsonLocations loc;
    auto with = ParseJson(R"({"a":[1,{"b":null}]})", "t", {}, &loc);
    auto without = ParseJson(R"({"a":[1,{"b":null}]})", "t");
    ASSERT_TRUE(with.ok());
    ASSERT_TRUE(without.ok());
    EXPECT_EQ(*with, *without);
}

}  // namespace
}  // namespace hvkit
