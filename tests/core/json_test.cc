#include "hvkit/json.h"

#include <gtest/gtest.h>

namespace hvkit {
namespace {

Json Parse(std::string_view text) {
    auto r = ParseJson(text, "test.json");
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? *r : Json();
}

std::string ParseError(std::string_view text) {
    auto r = ParseJson(text, "test.json");
    EXPECT_FALSE(r.ok()) << "accepted: " << text;
    return r.ok() ? "" : r.status().message();
}

TEST(Json, CanonicalSortsKeysAndDropsWhitespace) {
    Json v = Parse(R"({ "b": [1, 2, {"z": null, "a": true}], "a": "x" })");
    EXPECT_EQ(*CanonicalJson(v), R"({"a":"x","b":[1,2,{"a":true,"z":null}]})");
}

TEST(Json, CanonicalEscapesOnlyQuoteAndBackslash) {
    Json v(std::string("q\"b\\n\nt\x01\xc3\xa9"));
    EXPECT_EQ(*CanonicalJson(v), std::string("\"q\\\"b\\\\n\nt\x01\xc3\xa9\""));
}

TEST(Json, CanonicalSortsKeysByBytes) {
    Json v = Parse(R"({"b":1,"B":2,"\u00e9":3,"a":4})");
    EXPECT_EQ(*CanonicalJson(v), "{\"B\":2,\"a\":4,\"b\":1,\"\xc3\xa9\":3}");
}

TEST(Json, CanonicalRefusesFloats) {
    auto r = CanonicalJson(Parse(R"({"x": 1.5})"));
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("non-integer"), std::string::npos);
}

TEST(Json, RefusesDuplicateKeys) {
    EXPECT_NE(ParseError(R"({"a":1,"a":2})").find("duplicate key \"a\""), std::string::npos);
    EXPECT_NE(ParseError(R"({"x":{"k":1,"k":1}})").find("duplicate key"), std::string::npos);
}

TEST(Json, RefusesMalformedInput) {
    for (const char* bad :
         {"", "{", "[1,]", "{\"a\":1,}", "tru", "01", "1.", "-", "\"\\x\"", "\"a", "{\"a\" 1}",
          "[1 2]", "nan", "// c\n1", "1 2", "\"\\ud800\"", "\"\xff\"", "\"\xc0\xaf\"", "{1:2}"}) {
        std::string msg = ParseError(bad);
        EXPECT_NE(msg.find("test.json: invalid JSON"), std::string::npos) << bad << " -> " << msg;
    }
}

TEST(Json, RefusesControlCharactersInStrings) {
    EXPECT_NE(ParseError("\"a\nb\"").find("control character"), std::string::npos);
}

TEST(Json, BoundsDepthAndSize) {
    std::string deep(100, '[');
    deep += std::string(100, ']');
    EXPECT_NE(ParseError(deep).find("nesting deeper"), std::string::npos);
    auto r = ParseJson(std::string(100, ' ') + "1", "big.json", JsonLimits{64, 50});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), ErrorCode::kTooLarge);
}

TEST(Json, DecodesEscapesAndSurrogatePairs) {
    Json v = Parse(R"("\u0041\n\ud83d\ude00\/")");
    EXPECT_EQ(v.as_string(), "A\n\xf0\x9f\x98\x80/");
}

TEST(Json, IntegersKeepFullRange) {
    Json v = Parse("[9223372036854775807, -9223372036854775808]");
    EXPECT_EQ(v.as_array()[0].as_int(), INT64_MAX);
    EXPECT_EQ(v.as_array()[1].as_int(), INT64_MIN);
    ParseError("9223372036854775808");
}

TEST(Json, DumpRoundTrips) {
    Json v = Parse(R"({"a":[1,"two\n",{"t":true,"f":false,"n":null}],"b":{}})");
    for (int indent : {0, 2}) {
        auto again = ParseJson(DumpJson(v, indent), "dump");
        ASSERT_TRUE(again.ok()) << again.status().message();
        EXPECT_EQ(*again, v);
    }
}

TEST(Json, FieldReadersNameContextAndKey) {
    Json v = Parse(R"({"version":"1"})");
    auto r = JsonInt(v, "version", "root.json");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().message(), "root.json: field \"version\" must be a integer, not a string");
    auto m = JsonString(v, "expires", "root.json");
    EXPECT_EQ(m.status().message(), "root.json: missing required field \"expires\"");
}

}  // namespace
}  // namespace hvkit
