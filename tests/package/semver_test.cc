#include "hvkit/semver.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace hvkit {
namespace {

std::string ParseError(std::string_view text) {
    auto v = SemVer::Parse(text, "version");
    EXPECT_FALSE(v.ok()) << "accepted " << text;
    return v.ok() ? "" : v.status().message();
}

TEST(SemVer, ParsesAndFormats) {
    for (const char* text : {"0.0.0", "1.2.3", "10.20.30", "1.0.0-alpha", "1.0.0-alpha.1",
                             "1.0.0-0.3.7", "1.0.0-x.7.z.92", "1.0.0+20130313144700",
                             "1.0.0-beta+exp.sha.5114f85", "1.0.0-rc.1+build.001"}) {
        auto v = SemVer::Parse(text, "version");
        ASSERT_TRUE(v.ok()) << v.status().message();
        EXPECT_EQ(v->ToString(), text);
    }
    auto v = SemVer::Parse("18446744073709551615.0.1-rc.2", "version");
    ASSERT_TRUE(v.ok());
    EXPECT_EQ(v->major(), UINT64_MAX);
    EXPECT_EQ(v->patch(), 1u);
    EXPECT_EQ(v->prerelease(), (std::vector<std::string>{"rc", "2"}));
}

TEST(SemVer, RefusesWhatSemverRefuses) {
    EXPECT_EQ(ParseError("1.2"),
              "version: '1.2' is not a semantic version (MAJOR.MINOR.PATCH): expected three "
              "numbers separated by dots, found 2");
    EXPECT_EQ(ParseError("01.2.3"),
              "version: '01.2.3' is not a semantic version (MAJOR.MINOR.PATCH): major has a "
              "leading zero");
    EXPECT_NE(ParseError("v1.2.3").find("major 'v1' is not a number"), std::string::npos);
    EXPECT_NE(ParseError("1.2.3-").find("pre-release has an empty identifier"), std::string::npos);
    EXPECT_NE(ParseError("1.2.3-01").find("identifier '01' has a leading zero"), std::string::npos);
    EXPECT_NE(ParseError("1.2.3-a_b").find("may only hold [0-9A-Za-z-]"), std::string::npos);
    EXPECT_NE(ParseError("1.2.3+").find("build metadata has an empty identifier"),
              std::string::npos);
    EXPECT_NE(ParseError("18446744073709551616.0.0").find("major is too large"), std::string::npos);
    EXPECT_NE(ParseError("").find("it is empty"), std::string::npos);
    EXPECT_NE(ParseError("1..3").find("minor is empty"), std::string::npos);
    EXPECT_NE(ParseError(" 1.2.3").find("is not a number"), std::string::npos);
}

TEST(SemVer, OrdersBySpecPrecedence) {
    // semver.org 2.0.0, section 11 example, in ascending order.
    std::vector<std::string> ordered = {"1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta",
                                        "1.0.0-beta",  "1.0.0-beta.2",  "1.0.0-beta.11",
                                        "1.0.0-rc.1",  "1.0.0",         "1.0.1",
                                        "1.1.0",       "2.0.0",         "10.0.0"};
    for (size_t i = 0; i + 1 < ordered.size(); ++i) {
        SemVer lo = *SemVer::Parse(ordered[i], "v");
        SemVer hi = *SemVer::Parse(ordered[i + 1], "v");
        EXPECT_LT(lo, hi) << ordered[i] << " < " << ordered[i + 1];
        EXPECT_GT(hi, lo);
    }
    EXPECT_EQ(*SemVer::Parse("1.0.0+a", "v"), *SemVer::Parse("1.0.0+b", "v"));
    EXPECT_LT(*SemVer::Parse("1.0.0-2", "v"), *SemVer::Parse("1.0.0-10", "v"));
    EXPECT_LT(*SemVer::Parse("1.0.0-9", "v"), *SemVer::Parse("1.0.0-a", "v"));
}

}  // namespace
}  // namespace hvkit
