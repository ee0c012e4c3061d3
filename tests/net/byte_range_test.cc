#include "hvkit/net/byte_range.h"

#include <gtest/gtest.h>

namespace hvkit {
namespace {

using Kind = RangeDecision::Kind;

void ExpectPartial(std::string_view header, int64_t size, int64_t first, int64_t last) {
    RangeDecision d = DecideRange(header, size);
    ASSERT_EQ(d.kind, Kind::kPartial) << header;
    EXPECT_EQ(d.range.first, first) << header;
    EXPECT_EQ(d.range.last, last) << header;
}

TEST(DecideRange, ThreeSingleRangeForms) {
    ExpectPartial("bytes=10-19", 100, 10, 19);
    ExpectPartial("bytes=90-", 100, 90, 99);
    ExpectPartial("bytes=-7", 100, 93, 99);
}

TEST(DecideRange, EndAndSuffixAreClampedToTheSize) {
    ExpectPartial("bytes=0-999", 100, 0, 99);
    ExpectPartial("bytes=-500", 100, 0, 99);
    ExpectPartial(" Bytes=5-5 ", 100, 5, 5);
}

TEST(DecideRange, StartPastTheEndIsUnsatisfiable) {
    EXPECT_EQ(DecideRange("bytes=100-", 100).kind, Kind::kUnsatisfiable);
    EXPECT_EQ(DecideRange("bytes=100-200", 100).kind, Kind::kUnsatisfiable);
    EXPECT_EQ(DecideRange("bytes=-0", 100).kind, Kind::kUnsatisfiable);
    EXPECT_EQ(DecideRange("bytes=0-", 0).kind, Kind::kUnsatisfiable);
    EXPECT_EQ(DecideRange("bytes=-5", 0).kind, Kind::kUnsatisfiable);
}

TEST(DecideRange, UnusableHeadersServeTheWhole) {
    for (const char* header :
         {"", "bytes", "bytes=", "bytes=-", "bytes=a-b", "bytes=5-3", "items=0-1", "bytes=0-1,3-4",
          "bytes=+1-2", "bytes=1-2-3", "bytes=99999999999999999999-"}) {
        EXPECT_EQ(DecideRange(header, 100).kind, Kind::kFull) << header;
    }
}

TEST(ContentRange, FormatsAndParsesBack) {
    EXPECT_EQ(FormatRangeFrom(4096), "bytes=4096-");
    EXPECT_EQ(FormatContentRange({10, 19}, 100), "bytes 10-19/100");
    EXPECT_EQ(FormatUnsatisfiedRange(100), "bytes */100");

    auto partial = ParseContentRange("bytes 10-19/100");
    ASSERT_TRUE(partial.ok()) << partial.status().message();
    ASSERT_TRUE(partial->range.has_value());
    EXPECT_EQ(partial->range->first, 10);
    EXPECT_EQ(partial->range->last, 19);
    EXPECT_EQ(partial->size, 100);

    auto unknown_size = ParseContentRange("bytes 0-9/*");
    ASSERT_TRUE(unknown_size.ok());
    EXPECT_EQ(unknown_size->size, -1);

    auto unsatisfied = ParseContentRange("bytes */100");
    ASSERT_TRUE(unsatisfied.ok());
    EXPECT_FALSE(unsatisfied->range.has_value());
    EXPECT_EQ(unsatisfied->size, 100);
}

TEST(ContentRange, RejectsMalformedValues) {
    for (const char* value : {"", "bytes", "bytes 1-2", "bytes */*", "bytes 5-3/10",
                              "bytes 0-10/10", "items 0-1/2", "bytes x-1/2", "bytes 0-1/x"}) {
        auto parsed = ParseContentRange(value);
        ASSERT_FALSE(parsed.ok()) << value;
        EXPECT_EQ(parsed.status().code(), ErrorCode::kMalformed) << value;
    }
}

}  // namespace
}  // namespace hvkit
