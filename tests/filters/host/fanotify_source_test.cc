// The fanotify source against the real kernel: children open and exec files
// in a watched directory while a loop thread feeds the events through a real
// Dispatcher to a guest link that answers by a test rule (signature -> DROP).
// Skips, with the reason, when not root or without permission events.
#include <gtest/gtest.h>
#include <sys/fanotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>

#include "fanotify_probe.h"
#include "fanotify_source.h"
#include "fanotify_test_world.h"
#include "hvkit/filterd/clock.h"
#include "hvkit/filterd/dispatcher.h"
#include "temp_dir.h"

namespace hvkit::filterd::testing {
namespace {

using std::chrono::milliseconds;

constexpr char kClean[] = "just an ordinary upload\n";
constexpr char kInfected[] = "header X5O EICAR-HVKIT-TEST trailer\n";

class FanotifySourceTest : public ::testing::Test {
  protected:
    void SetUp() override {
        if (geteuid() != 0) GTEST_SKIP() << "fanotify permission events need root (CAP_SYS_ADMIN)";
        Status probe = ProbeFanotifyPermissionEvents(dir_.path(), FAN_OPEN_PERM);
        if (!probe.ok()) GTEST_SKIP() << "no fanotify permission events here: " << probe.message();
    }

    // A file source on the test directory, answering by (on_timeout) after
    // (deadline); fail-closed for every other way to go unanswered.
    SourceConfig FileSource(std::vector<FileEvent> events = {FileEvent::kOpen},
                            uint64_t max_content_bytes = 1 << 20,
                            milliseconds deadline = milliseconds(10000),
                            FailPolicy on_timeout = FailPolicy::kFailClosed) {
        SourceConfig c;
        c.name = "uploads";
        c.kind = SourceKind::kFile;
        c.file = FileSection{{dir_.path()}, std::move(events), max_content_bytes};
        c.chain = {ModuleStep{"signature", Json::MakeObject()}};
        c.policy.name = c.name;
        c.policy.deadline = deadline;
        c.policy.on_timeout = on_timeout;
        c.policy.on_guest_absent = FailPolicy::kFailClosed;
        c.policy.on_overflow = FailPolicy::kFailClosed;
        c.policy.max_pending = 64;
        c.max_item_bytes = static_cast<uint32_t>(std::max<uint64_t>(64, max_content_bytes));
        return c;
    }

    std::unique_ptr<FanotifySource> StartSource(const SourceConfig& config, Dispatcher& d) {
        auto source = FanotifySource::Start(config, 0, d);
        EXPECT_TRUE(source.ok()) << source.status().message();
        return source.ok() ? std::move(source).value() : nullptr;
    }

    void WriteExecutable(const std::string& name, const std::string& text) {
        hvkit::testing::WriteTestFile(dir_.Sub(name), text);
        ASSERT_EQ(chmod(dir_.Sub(name).c_str(), 0755), 0);
    }

    hvkit::testing::TempDir dir_;
    const Clock& clock_ = RealClock();
};

#define EXPECT_ACCESS(expected, actual) \
    EXPECT_EQ(AccessResultName(expected), std::string(AccessResultName(actual)))

TEST_F(FanotifySourceTest, SignatureFileIsDeniedOthersOpenAndReadFine) {
    hvkit::testing::WriteTestFile(dir_.Sub("clean.txt"), kClean);
    hvkit::testing::WriteTestFile(dir_.Sub("infected.txt"), kInfected);
    hvkit::testing::WriteTestFile(dir_.Sub("empty.txt"), "");
    SourceConfig config = FileSource();
    RuleLink link(/*answers=*/true);
    Dispatcher dispatcher({config.policy}, clock_, link);
    auto source = StartSource(config, dispatcher);
    ASSERT_NE(source, nullptr);
    LoopThread loop(*source, dispatcher, link);

    EXPECT_ACCESS(AccessResult::kOk, OpenInChild(dir_.Sub("clean.txt")));
    EXPECT_ACCESS(AccessResult::kDenied, OpenInChild(dir_.Sub("infected.txt")));
    EXPECT_ACCESS(AccessResult::kOk, OpenInChild(dir_.Sub("empty.txt")));
    loop.Stop();

    EXPECT_TRUE(loop.errors().empty()) << loop.errors().front();
    const SourceCounters& c = dispatcher.counters(0);
    EXPECT_EQ(c.submitted, 3u);
    EXPECT_EQ(c.passed, 2u);
    EXPECT_EQ(c.dropped, 1u);
    EXPECT_EQ(c.failed_open + c.failed_closed, 0u);
    EXPECT_EQ(source->stats().events, 3u);
    EXPECT_EQ(source->stats().allowed, 2u);
    EXPECT_EQ(source->stats().denied, 1u);
    EXPECT_EQ(source->stats().response_errors, 0u);
    EXPECT_EQ(source->outstanding(), 0u);
    // The guest saw each file whole: the rule needs the content, not a path.
    EXPECT_EQ(link.payload_sizes(),
              (std::vector<size_t>{sizeof(kClean) - 1, sizeof(kInfected) - 1, 0}));
}

TEST_F(FanotifySourceTest, ChangedVerdictDeniesTheOpen) {
    hvkit::testing::WriteTestFile(dir_.Sub("rewrite.txt"), std::string("a ") + kRewriteMarker);
    SourceConfig config = FileSource();
    RuleLink link(true);
    Dispatcher dispatcher({config.policy}, clock_, link);
    auto source = StartSource(config, dispatcher);
    ASSERT_NE(source, nullptr);
    LoopThread loop(*source, dispatcher, link);

    // The reader would get the file unchanged, so CHANGED refuses it.
    EXPECT_ACCESS(AccessResult::kDenied, OpenInChild(dir_.Sub("rewrite.txt")));
    loop.Stop();
    EXPECT_EQ(dispatcher.counters(0).changed, 1u);
    EXPECT_EQ(source->stats().changed_denied, 1u);
    EXPECT_EQ(source->stats().denied, 1u);
}

TEST_F(FanotifySourceTest, SubdirectoriesAreNotCoveredUnlessListed) {
    hvkit::testing::WriteTestFile(dir_.Sub("nested/infected.txt"), kInfected);
    SourceConfig config = FileSource();
    RuleLink link(true);
    Dispatcher dispatcher({config.policy}, clock_, link);
    auto source = StartSource(config, dispatcher);
    ASSERT_NE(source, nullptr);
    LoopThread loop(*source, dispatcher, link);

    EXPECT_ACCESS(AccessResult::kOk, OpenInChild(dir_.Sub("nested/infected.txt")));
    loop.Stop();
    EXPECT_EQ(dispatcher.counters(0).submitted, 0u);
    EXPECT_EQ(source->stats().events, 0u);
}

TEST_F(FanotifySourceTest, FailClosedDeadlineDeniesWhenTheGuestNeverAnswers) {
    hvkit::testing::WriteTestFile(dir_.Sub("clean.txt"), kClean);
    SourceConfig config =
        FileSource({FileEvent::kOpen}, 1 << 20, milliseconds(50), FailPolicy::kFailClosed);
    RuleLink link(/*answers=*/false);
    Dispatcher dispatcher({config.policy}, clock_, link);
    auto source = StartSource(config, dispatcher);
    ASSERT_NE(source, nullptr);
    LoopThread loop(*source, dispatcher, link);

    EXPECT_ACCESS(AccessResult::kDenied, OpenInChild(dir_.Sub("clean.txt")));
    loop.Stop();
    const SourceCounters& c = dispatcher.counters(0);
    EXPECT_EQ(c.submitted, 1u);
    EXPECT_EQ(c.timed_out, 1u);
    EXPECT_EQ(c.failed_closed, 1u);
    EXPECT_EQ(c.failed_open + c.passed + c.dropped, 0u);
    EXPECT_EQ(source->stats().denied, 1u);
    EXPECT_EQ(source->outstanding(), 0u);
}

TEST_F(FanotifySourceTest, FailOpenDeadlineAllowsWhenTheGuestNeverAnswers) {
    hvkit::testing::WriteTestFile(dir_.Sub("infected.txt"), kInfected);
    SourceConfig config =
        FileSource({FileEvent::kOpen}, 1 << 20, milliseconds(50), FailPolicy::kFailOpen);
    RuleLink link(/*answers=*/false);
    Dispatcher dispatcher({config.policy}, clock_, link);
    auto source = StartSource(config, dispatcher);
    ASSERT_NE(source, nullptr);
    LoopThread loop(*source, dispatcher, link);

    // Fail-open lets even the signature through: nothing inspected it.
    EXPECT_ACCESS(AccessResult::kOk, OpenInChild(dir_.Sub("infected.txt")));
    loop.Stop();
    const SourceCounters& c = dispatcher.counters(0);
    EXPECT_EQ(c.submitted, 1u);
    EXPECT_EQ(c.timed_out, 1u);
    EXPECT_EQ(c.failed_open, 1u);
    EXPECT_EQ(c.failed_closed + c.passed + c.dropped, 0u);
    EXPECT_EQ(source->stats().allowed, 1u);
}

TEST_F(FanotifySourceTest, LargeFileIsInspectedByItsFirstBytesOnly) {
    constexpr uint64_t kLimit = 4096;
    std::string late(3 * kLimit, 'a');
    late.replace(kLimit + 100, sizeof(kSignature) - 1, kSignature);
    std::string early(3 * kLimit, 'a');
    early.replace(kLimit - sizeof(kSignature) + 1, sizeof(kSignature) - 1, kSignature);
    hvkit::testing::WriteTestFile(dir_.Sub("late.bin"), late);
    hvkit::testing::WriteTestFile(dir_.Sub("early.bin"), early);
    SourceConfig config = FileSource({FileEvent::kOpen}, kLimit);
    RuleLink link(true);
    Dispatcher dispatcher({config.policy}, clock_, link);
    auto source = StartSource(config, dispatcher);
    ASSERT_NE(source, nullptr);
    LoopThread loop(*source, dispatcher, link);

    // Past the limit the guest never sees it: the documented limit.
    EXPECT_ACCESS(AccessResult::kOk, OpenInChild(dir_.Sub("late.bin")));
    // Ending exactly at the limit it is seen.
    EXPECT_ACCESS(AccessResult::kDenied, OpenInChild(dir_.Sub("early.bin")));
    loop.Stop();
    EXPECT_EQ(link.payload_sizes(), (std::vector<size_t>{kLimit, kLimit}));
    EXPECT_EQ(dispatcher.counters(0).passed, 1u);
    EXPECT_EQ(dispatcher.counters(0).dropped, 1u);
}

TEST_F(FanotifySourceTest, ExecOfSignedScriptIsDenied) {
    Status exec = ProbeFanotifyPermissionEvents(dir_.path(), FAN_OPEN_EXEC_PERM);
    if (!exec.ok()) GTEST_SKIP() << "exec is not intercepted on this kernel: " << exec.message();
    WriteExecutable("signed.sh", std::string("#!/bin/sh\n# ") + kSignature + "\nexit 7\n");
    WriteExecutable("clean.sh", "#!/bin/sh\nexit 7\n");
    // Exec only: the denial below can come from FAN_OPEN_EXEC_PERM alone.
    SourceConfig config = FileSource({FileEvent::kExec});
    RuleLink link(true);
    Dispatcher dispatcher({config.policy}, clock_, link);
    auto source = StartSource(config, dispatcher);
    ASSERT_NE(source, nullptr);
    LoopThread loop(*source, dispatcher, link);

    EXPECT_ACCESS(AccessResult::kDenied, ExecInChild(dir_.Sub("signed.sh")));
    EXPECT_ACCESS(AccessResult::kRan, ExecInChild(dir_.Sub("clean.sh")));
    // A plain open is not an exec: not intercepted by this source.
    EXPECT_ACCESS(AccessResult::kOk, OpenInChild(dir_.Sub("signed.sh")));
    loop.Stop();
    EXPECT_EQ(dispatcher.counters(0).submitted, 2u);
    EXPECT_EQ(dispatcher.counters(0).dropped, 1u);
    EXPECT_EQ(dispatcher.counters(0).passed, 1u);
}

TEST_F(FanotifySourceTest, ShutdownAnswersOutstandingEventsByPolicyExactlyOnce) {
    hvkit::testing::WriteTestFile(dir_.Sub("clean.txt"), kClean);
    SourceConfig config = FileSource();  // 10 s deadline: only Shutdown can answer in time
    RuleLink link(/*answers=*/false);
    Dispatcher dispatcher({config.policy}, clock_, link);
    auto source = StartSource(config, dispatcher);
    ASSERT_NE(source, nullptr);
    auto loop = std::make_unique<LoopThread>(*source, dispatcher, link);

    AccessResult result = AccessResult::kTimedOut;
    std::thread child([&] { result = OpenInChild(dir_.Sub("clean.txt")); });
    bool reached = WaitFor([&] { return loop->outstanding() == 1; });
    loop->Stop();
    source->Shutdown();  // on_guest_absent is fail-closed: FAN_DENY
    child.join();        // joined before any ASSERT can return
    ASSERT_TRUE(reached) << "the child's open never reached the source";
    EXPECT_ACCESS(AccessResult::kDenied, result);
    EXPECT_EQ(source->stats().answered_at_shutdown, 1u);
    EXPECT_EQ(source->stats().denied, 1u);
    EXPECT_EQ(source->fd(), -1);
    // The dispatcher still holds the item; its later answer finds the event
    // answered and writes nothing.
    EXPECT_EQ(dispatcher.pending(), 1u);
    dispatcher.OnGuestGone();
    EXPECT_EQ(source->stats().denied, 1u);
    EXPECT_EQ(source->stats().allowed, 0u);
    EXPECT_EQ(source->stats().response_errors, 0u);
}

TEST_F(FanotifySourceTest, OwnProcessAccessIsAllowedWithoutTheGuest) {
    hvkit::testing::WriteTestFile(dir_.Sub("infected.txt"), kInfected);
    SourceConfig config = FileSource();
    RuleLink link(true);
    Dispatcher dispatcher({config.policy}, clock_, link);
    auto source = StartSource(config, dispatcher);
    ASSERT_NE(source, nullptr);
    LoopThread loop(*source, dispatcher, link);

    // This thread is not the loop's: the loop answers the event at once.
    std::string read = hvkit::testing::ReadTestFile(dir_.Sub("infected.txt"));
    loop.Stop();
    EXPECT_EQ(read, kInfected);
    EXPECT_EQ(source->stats().own_process, 1u);
    EXPECT_EQ(dispatcher.counters(0).submitted, 0u);
}

TEST_F(FanotifySourceTest, StartRefusesAPathThatCannotBeWatched) {
    SourceConfig config = FileSource();
    config.file->paths = {dir_.Sub("missing")};
    RuleLink link(true);
    Dispatcher dispatcher({config.policy}, clock_, link);
    auto source = FanotifySource::Start(config, 0, dispatcher);
    ASSERT_FALSE(source.ok());
    EXPECT_NE(source.status().message().find("source 'uploads': file.paths[0] '" +
                                             dir_.Sub("missing") + "': cannot be watched"),
              std::string::npos)
        << source.status().message();
}

}  // namespace
}  // namespace hvkit::filterd::testing
