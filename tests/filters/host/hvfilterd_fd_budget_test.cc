// hvfilterd's fd budget: every pending fanotify event holds an fd, so the
// file sources' max_pending is reconciled with RLIMIT_NOFILE at start-up
// (issue 13, item 9), raising the soft limit when the hard one allows.
#include <gtest/gtest.h>

#include "fd_budget.h"

namespace hvkit::filterd {
namespace {

FilterConfig TwoSources(uint32_t file_pending, uint32_t network_pending) {
    FilterConfig config;
    SourceConfig file;
    file.kind = SourceKind::kFile;
    file.policy.max_pending = file_pending;
    SourceConfig network;
    network.kind = SourceKind::kNetwork;
    network.policy.max_pending = network_pending;
    config.sources = {file, network};
    return config;
}

TEST(FdBudget, OnlyFileSourcesHoldAnFdPerPendingEvent) {
    EXPECT_EQ(FdsNeeded(TwoSources(5000, 90000)), 5000 + kFdsBesidesEvents);
}

TEST(FdBudget, TheSoftLimitIsRaisedWithinTheHardOne) {
    EXPECT_EQ(*SoftLimitFor(1000, 1024, 4096), 1024u) << "enough already";
    EXPECT_EQ(*SoftLimitFor(3000, 1024, 4096), 3000u) << "raised to what is needed";
}

TEST(FdBudget, PastTheHardLimitIsAClearError) {
    auto r = SoftLimitFor(5256, 1024, 4096);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), ErrorCode::kInvalidArgument);
    for (const char* part : {"need 5256", "at most 4096", "max_pending", "LimitNOFILE"}) {
        EXPECT_NE(r.status().message().find(part), std::string::npos)
            << part << ": " << r.status().message();
    }
}

}  // namespace
}  // namespace hvkit::filterd
