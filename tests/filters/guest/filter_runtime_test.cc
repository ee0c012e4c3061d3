// The guest runtime's parts on their own: the worker's message framing
// (a broken worker's message is refused, never over-read), module lookup,
// and the forked chain worker with real modules (a refusal at start named,
// a batch answered in order, a crash reported with its signal).
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "chain_worker.h"
#include "hvkit/filter_runtime/chain_builder.h"
#include "worker_messages.h"

namespace hvkit::filter_runtime {
namespace {

namespace ring = filter_ring;

std::vector<uint8_t> Bytes(const std::string& text) {
    return std::vector<uint8_t>(text.begin(), text.end());
}

TEST(WorkerMessages, RecordsComeBackInOrderWithTheirBytes) {
    MessageBuilder builder;
    for (uint64_t id : {1, 2, 3}) {
        std::vector<uint8_t> bytes = Bytes(std::string(id, 'x'));
        WorkItemHeader header{id, 0, HVFILTER_SOURCE_NETWORK, static_cast<uint32_t>(bytes.size())};
        builder.Add(&header, sizeof header, bytes.data(), bytes.size());
    }
    const std::vector<uint8_t>& message = builder.Finish();
    std::vector<std::pair<uint64_t, size_t>> seen;
    Status walked = ForEachRecord<WorkItemHeader>(
        message, [&](const WorkItemHeader& h, std::span<const uint8_t> b) {
            seen.emplace_back(h.item_id, b.size());
        });
    ASSERT_TRUE(walked.ok()) << walked.message();
    EXPECT_EQ(seen, (std::vector<std::pair<uint64_t, size_t>>{{1, 1}, {2, 2}, {3, 3}}));
}

TEST(WorkerMessages, ABrokenMessageIsRefusedNotOverRead) {
    MessageBuilder builder;
    WorkItemHeader header{7, 0, HVFILTER_SOURCE_FILE, 4};
    std::vector<uint8_t> bytes = Bytes("abcd");
    builder.Add(&header, sizeof header, bytes.data(), bytes.size());
    std::vector<uint8_t> good = builder.Finish();
    auto walk = [](std::vector<uint8_t> message) {
        return ForEachRecord<WorkItemHeader>(
            message, [](const WorkItemHeader&, std::span<const uint8_t>) {});
    };
    ASSERT_TRUE(walk(good).ok());
    EXPECT_FALSE(walk({1, 0}).ok()) << "shorter than its count";
    std::vector<uint8_t> more = good;
    more[0] = 2;  // claims a second record
    EXPECT_NE(walk(more).message().find("record 1 is cut short"), std::string::npos);
    std::vector<uint8_t> cut(good.begin(), good.end() - 1);
    EXPECT_NE(walk(cut).message().find("bytes are cut short"), std::string::npos);
    std::vector<uint8_t> tail = good;
    tail.push_back(0);
    EXPECT_NE(walk(tail).message().find("bytes after its records"), std::string::npos);
}

TEST(ChainBuilder, TheFirstDirectoryWithTheModuleWinsAndPathsAreAbsolute) {
    Result<std::string> found =
        FindModule("redact", {"/nonexistent", FILTER_MODULES_DIR, FAKE_MODULES_DIR});
    ASSERT_TRUE(found.ok()) << found.status().message();
    EXPECT_EQ(*found, std::string(FILTER_MODULES_DIR) + "/redact.so");
    Result<std::string> missing = FindModule("nosuch", {"/a", "/b"});
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.status().message(), "no module nosuch.so in /a, /b");
    EXPECT_FALSE(FindModule("redact", {}).ok());
}

ring::ChainSpec Chain(std::vector<ring::ChainModule> modules) {
    ring::ChainSpec spec;
    spec.source = "test";
    spec.modules = std::move(modules);
    return spec;
}

WorkerOptions Options() {
    WorkerOptions options;
    options.module_dirs = {FILTER_MODULES_DIR, FAKE_MODULES_DIR};
    return options;
}

ring::ChainModule Redact() {
    ring::ChainModule step{"redact", Json::MakeObject()};
    step.params["pattern"] = "secret";
    step.params["replacement_byte"] = "*";
    return step;
}

ring::ChainModule Crasher() {
    ring::ChainModule step{"unruly", Json::MakeObject()};
    step.params["mode"] = "crash";
    return step;
}

// Waits (bounded) for the worker's replies to one batch.
Result<std::vector<WorkReply>> AwaitReplies(ChainWorker& worker) {
    for (int i = 0; i < 1000; ++i) {
        Result<std::vector<WorkReply>> replies = worker.Receive();
        if (!replies.ok() || !replies->empty()) return replies;
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return Error(ErrorCode::kIo, "no reply within 5 s");
}

TEST(ChainWorkerProcess, AModuleRefusingItsParamsIsNamedAtStart) {
    ring::ChainModule bad{"redact", Json::MakeObject()};  // no pattern
    Result<std::unique_ptr<ChainWorker>> worker = ChainWorker::Start({Chain({bad})}, Options());
    ASSERT_FALSE(worker.ok());
    EXPECT_NE(worker.status().message().find("filter module redact"), std::string::npos)
        << worker.status().message();
    Result<std::unique_ptr<ChainWorker>> missing =
        ChainWorker::Start({Chain({ring::ChainModule{"nosuch", Json::MakeObject()}})}, Options());
    ASSERT_FALSE(missing.ok());
    EXPECT_NE(missing.status().message().find("no module nosuch.so in"), std::string::npos);
}

TEST(ChainWorkerProcess, ABatchIsAnsweredInOrder) {
    Result<std::unique_ptr<ChainWorker>> worker =
        ChainWorker::Start({Chain({Redact()})}, Options());
    ASSERT_TRUE(worker.ok()) << worker.status().message();
    ring::FilterRequest a, b, c;
    // File items: redact reads a packet's transport payload, a file whole.
    a.item_id = 10;
    a.source = ring::ItemSource::kFile;
    a.bytes = Bytes("my secret");
    b.item_id = 11;
    b.source = ring::ItemSource::kFile;
    b.bytes = Bytes("plain");
    c.item_id = 12;
    c.chain = 5;  // no such chain: undecided, with the reason
    c.bytes = Bytes("x");
    ASSERT_TRUE((*worker)->Send({&a, &b, &c}).ok());
    Result<std::vector<WorkReply>> replies = AwaitReplies(**worker);
    ASSERT_TRUE(replies.ok()) << replies.status().message();
    ASSERT_EQ(replies->size(), 3u);
    EXPECT_EQ((*replies)[0].item_id, 10u);
    EXPECT_EQ((*replies)[0].outcome, WorkOutcome::kChanged);
    EXPECT_EQ((*replies)[0].bytes, Bytes("my ******"));
    EXPECT_EQ((*replies)[1].outcome, WorkOutcome::kPass);
    EXPECT_EQ((*replies)[2].outcome, WorkOutcome::kUndecided);
    EXPECT_EQ(std::string((*replies)[2].bytes.begin(), (*replies)[2].bytes.end()),
              "no chain 5 in the chain table");
}

TEST(ChainWorkerProcess, ACrashIsReportedWithItsSignal) {
    Result<std::unique_ptr<ChainWorker>> worker =
        ChainWorker::Start({Chain({Crasher(), Redact()})}, Options());
    ASSERT_TRUE(worker.ok()) << worker.status().message();
    ring::FilterRequest fine, fatal;
    fine.item_id = 1;
    fine.source = ring::ItemSource::kFile;
    fine.bytes = Bytes("a secret");
    ASSERT_TRUE((*worker)->Send({&fine}).ok());
    Result<std::vector<WorkReply>> replies = AwaitReplies(**worker);
    ASSERT_TRUE(replies.ok() && replies->size() == 1);
    fatal.item_id = 2;
    fatal.bytes = Bytes("HVKIT-CRASH");
    ASSERT_TRUE((*worker)->Send({&fatal}).ok());
    Result<std::vector<WorkReply>> gone = AwaitReplies(**worker);
    ASSERT_FALSE(gone.ok());
    EXPECT_NE(gone.status().message().find("killed by signal 6"), std::string::npos)
        << gone.status().message();
}

}  // namespace
}  // namespace hvkit::filter_runtime
