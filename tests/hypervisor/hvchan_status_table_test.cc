// The hvchan status <-> ErrorCode table both sides use: every status the ABI
// defines has one row and comes back to the guest as the error hvmm meant,
// so a refusal by hvmm is a refusal in hvupdate (exit 3), not a usage error.
#include "hvkit/hvchan_status_table.h"

#include <gtest/gtest.h>

#include <set>

namespace hvkit::hvchan {
namespace {

// Every hvchan_status value the ABI defines (0 .. HVCHAN_E_EXPIRED).
constexpr uint32_t kLastStatus = HVCHAN_E_EXPIRED;

TEST(HvchanStatusTable, EveryStatusHasExactlyOneRowAndItsAbiName) {
    std::set<uint32_t> seen;
    for (const StatusRow& row : kStatusTable) {
        EXPECT_TRUE(seen.insert(row.status).second) << row.name << " twice";
        EXPECT_EQ(std::string(row.name).rfind("HVCHAN_", 0), 0u) << row.name;
    }
    for (uint32_t s = 0; s <= kLastStatus; ++s) EXPECT_TRUE(seen.count(s)) << "status " << s;
    EXPECT_EQ(seen.size(), kLastStatus + 1) << "a row for a status the ABI does not define";
    EXPECT_EQ(StatusName(HVCHAN_E_RANGE), "HVCHAN_E_RANGE");
    EXPECT_EQ(StatusName(999), "status 999");
}

struct Case {
    ErrorCode hvmm_error;   // what an update step in hvmm ended with
    hvchan_status status;   // what the call returns
    ErrorCode guest_error;  // what the guest reports
};

class HvchanStatusRoundTrip : public ::testing::TestWithParam<Case> {};

TEST_P(HvchanStatusRoundTrip, TheGuestReportsWhatHvmmFound) {
    EXPECT_EQ(StatusForError(GetParam().hvmm_error), GetParam().status);
    EXPECT_EQ(ErrorForStatus(GetParam().status), GetParam().guest_error);
}

INSTANTIATE_TEST_SUITE_P(
    EveryCode, HvchanStatusRoundTrip,
    ::testing::Values(
        Case{ErrorCode::kOk, HVCHAN_OK, ErrorCode::kOk},
        Case{ErrorCode::kInvalidArgument, HVCHAN_E_INVALID, ErrorCode::kInvalidArgument},
        Case{ErrorCode::kNotFound, HVCHAN_E_NOT_FOUND, ErrorCode::kNotFound},
        Case{ErrorCode::kIo, HVCHAN_E_IO, ErrorCode::kIo},
        Case{ErrorCode::kBadSignature, HVCHAN_E_BAD_SIGNATURE, ErrorCode::kBadSignature},
        Case{ErrorCode::kHashMismatch, HVCHAN_E_HASH_MISMATCH, ErrorCode::kHashMismatch},
        Case{ErrorCode::kRollback, HVCHAN_E_ROLLBACK, ErrorCode::kRollback},
        Case{ErrorCode::kExpired, HVCHAN_E_EXPIRED, ErrorCode::kExpired},
        // The bug this table fixed: these four came back as HVCHAN_E_INVALID.
        Case{ErrorCode::kRefused, HVCHAN_E_REFUSED, ErrorCode::kRefused},
        Case{ErrorCode::kMalformed, HVCHAN_E_MALFORMED, ErrorCode::kMalformed},
        Case{ErrorCode::kTooLarge, HVCHAN_E_TOO_LARGE, ErrorCode::kTooLarge},
        Case{ErrorCode::kConflict, HVCHAN_E_STATE, ErrorCode::kConflict},
        // No host update step produces a network error: it goes as I/O.
        Case{ErrorCode::kNetwork, HVCHAN_E_IO, ErrorCode::kIo}),
    [](const ::testing::TestParamInfo<Case>& info) {
        std::string name = ErrorCodeName(info.param.hvmm_error);
        for (char& ch : name) ch = isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
        return name;
    });

TEST(HvchanStatusTable, TheChannelsOwnStatusesMapToTheirKind) {
    EXPECT_EQ(ErrorForStatus(HVCHAN_E_DENIED), ErrorCode::kRefused) << "no update permission";
    EXPECT_EQ(ErrorForStatus(HVCHAN_E_BUSY), ErrorCode::kConflict);
    EXPECT_EQ(ErrorForStatus(HVCHAN_PENDING), ErrorCode::kConflict);
    EXPECT_EQ(ErrorForStatus(HVCHAN_E_UNKNOWN_CALL), ErrorCode::kInvalidArgument);
    EXPECT_EQ(ErrorForStatus(HVCHAN_E_RANGE), ErrorCode::kInvalidArgument);
    EXPECT_EQ(ErrorForStatus(HVCHAN_E_FEATURE), ErrorCode::kInvalidArgument);
    EXPECT_EQ(ErrorForStatus(999), ErrorCode::kIo) << "a status this guest cannot read";
}

}  // namespace
}  // namespace hvkit::hvchan
