// The split virtqueue against honest and hostile rings: chains come out as
// the driver built them, and every way a ring can lie breaks the queue
// instead of crashing, hanging or touching memory outside RAM.
#include <gtest/gtest.h>

#include "fake_virtio_driver.h"
#include "virtio/virtio.h"

namespace hvkit::hvmm {
namespace {

using testing::FakeRing;
using virtio::kDescIndirect;
using virtio::kDescNext;
using virtio::kDescWrite;

constexpr uint64_t kRam = 16ull << 20;

struct QueueFixture : ::testing::Test {
    QueueFixture()
        : memory(std::move(GuestMemory::Create(kRam).value())),
          queue(*memory, 8),
          ring(*memory, 8) {}
    void Expect(bool broken, const std::string& reason_part) {
        EXPECT_EQ(queue.broken(), broken);
        EXPECT_NE(queue.error().find(reason_part), std::string::npos) << queue.error();
    }
    std::unique_ptr<GuestMemory> memory;
    VirtQueue queue;
    FakeRing ring;
};

TEST_F(QueueFixture, ChainComesOutAsBuiltAndUsedIsPublished) {
    ring.Configure(queue);
    ring.SetDesc(3, FakeRing::kData, 16, kDescNext, 5);
    ring.SetDesc(5, FakeRing::kData + 0x1000, 100, kDescWrite, 0);
    ring.MakeAvailable(3);
    ASSERT_TRUE(queue.HasAvailable());
    auto chain = queue.Pop();
    ASSERT_TRUE(chain);
    EXPECT_EQ(chain->head, 3);
    ASSERT_EQ(chain->buffers.size(), 2u);
    EXPECT_EQ(chain->buffers[0].gpa, FakeRing::kData);
    EXPECT_FALSE(chain->buffers[0].writable);
    EXPECT_TRUE(chain->buffers[1].writable);
    EXPECT_EQ(chain->readable_bytes, 16u);
    EXPECT_EQ(chain->writable_bytes, 100u);
    EXPECT_FALSE(queue.Pop());  // nothing more
    queue.Push(3, 42);
    EXPECT_EQ(ring.UsedIdx(), 1);
    EXPECT_EQ(ring.Used(0), std::make_pair(3u, 42u));
    EXPECT_TRUE(queue.TakeInterrupt());
    EXPECT_FALSE(queue.TakeInterrupt());  // once per batch
    EXPECT_FALSE(queue.broken());
}

TEST_F(QueueFixture, NoInterruptFlagSuppressesTheInterrupt) {
    ring.Configure(queue);
    ring.SetDesc(0, FakeRing::kData, 8, 0, 0);
    ring.MakeAvailable(0);
    ring.SetAvailFlags(virtio::kAvailNoInterrupt);
    auto chain = queue.Pop();
    ASSERT_TRUE(chain);
    queue.Push(chain->head, 0);
    EXPECT_FALSE(queue.TakeInterrupt());
    EXPECT_EQ(ring.UsedIdx(), 1);
}

TEST_F(QueueFixture, UnpopGivesTheSameChainAgain) {
    ring.Configure(queue);
    ring.SetDesc(2, FakeRing::kData, 8, kDescWrite, 0);
    ring.MakeAvailable(2);
    auto first = queue.Pop();
    ASSERT_TRUE(first);
    queue.Unpop();
    auto again = queue.Pop();
    ASSERT_TRUE(again);
    EXPECT_EQ(again->head, 2);
}

TEST_F(QueueFixture, UsedIndexWrapsAroundTheRing) {
    ring.Configure(queue);
    ring.SetDesc(0, FakeRing::kData, 8, kDescWrite, 0);
    for (int i = 0; i < 20; ++i) {
        ring.MakeAvailable(0);
        auto chain = queue.Pop();
        ASSERT_TRUE(chain) << i;
        queue.Push(0, static_cast<uint32_t>(i));
    }
    EXPECT_EQ(ring.UsedIdx(), 20);
    EXPECT_EQ(ring.Used(19), std::make_pair(0u, 19u));
    EXPECT_FALSE(queue.broken());
}

TEST_F(QueueFixture, LoopingChainBreaksTheQueue) {
    ring.Configure(queue);
    ring.SetDesc(0, FakeRing::kData, 8, kDescNext, 1);
    ring.SetDesc(1, FakeRing::kData, 8, kDescNext, 0);
    ring.MakeAvailable(0);
    EXPECT_FALSE(queue.Pop());
    Expect(true, "loops");
    // Broken for good: even an honest chain now is not taken.
    ring.SetDesc(1, FakeRing::kData, 8, 0, 0);
    EXPECT_FALSE(queue.HasAvailable());
    EXPECT_FALSE(queue.Pop());
    queue.Reset();
    EXPECT_FALSE(queue.broken());
    EXPECT_TRUE(queue.error().empty());
}

TEST_F(QueueFixture, SelfLoopBreaksTheQueue) {
    ring.Configure(queue);
    ring.SetDesc(4, FakeRing::kData, 8, kDescNext, 4);
    ring.MakeAvailable(4);
    EXPECT_FALSE(queue.Pop());
    Expect(true, "loops");
}

TEST_F(QueueFixture, HeadIndexOutOfRangeBreaksTheQueue) {
    ring.Configure(queue);
    ring.MakeAvailable(8);  // the table has 0..7
    EXPECT_FALSE(queue.Pop());
    Expect(true, "out of range");
}

TEST_F(QueueFixture, NextIndexOutOfRangeBreaksTheQueue) {
    ring.Configure(queue);
    ring.SetDesc(0, FakeRing::kData, 8, kDescNext, 0xffff);
    ring.MakeAvailable(0);
    EXPECT_FALSE(queue.Pop());
    Expect(true, "out of range");
}

TEST_F(QueueFixture, BufferOutsideRamBreaksTheQueue) {
    ring.Configure(queue);
    ring.SetDesc(0, kRam - 4, 8, kDescWrite, 0);  // straddles the end
    ring.MakeAvailable(0);
    EXPECT_FALSE(queue.Pop());
    Expect(true, "outside guest RAM");
}

TEST_F(QueueFixture, HugeLengthBreaksTheQueue) {
    ring.Configure(queue);
    ring.SetDesc(0, FakeRing::kData, 0xffffffff, kDescWrite, 0);
    ring.MakeAvailable(0);
    EXPECT_FALSE(queue.Pop());
    Expect(true, "outside guest RAM");
}

TEST_F(QueueFixture, AddressThatOverflowsBreaksTheQueue) {
    ring.Configure(queue);
    ring.SetDesc(0, ~uint64_t{0} - 2, 16, 0, 0);
    ring.MakeAvailable(0);
    EXPECT_FALSE(queue.Pop());
    Expect(true, "outside guest RAM");
}

TEST_F(QueueFixture, AvailIndexRunningAheadBreaksTheQueue) {
    ring.Configure(queue);
    ring.SetAvailIdx(9);  // 9 new entries in a ring of 8
    EXPECT_FALSE(queue.HasAvailable());
    Expect(true, "ahead");
}

TEST_F(QueueFixture, RingsOutsideRamBreakTheQueue) {
    queue.state().size = 8;
    queue.state().desc = FakeRing::kDesc;
    queue.state().driver = kRam;  // the available ring past the end
    queue.state().device = FakeRing::kUsed;
    queue.Enable();
    EXPECT_FALSE(queue.Pop());
    Expect(true, "outside guest RAM");
}

TEST_F(QueueFixture, DescriptorTableOutsideRamBreaksTheQueue) {
    ring.Configure(queue);
    queue.state().desc = kRam - 16 * 4;  // entries 4..7 are past the end
    ring.MakeAvailable(6);
    EXPECT_FALSE(queue.Pop());
    Expect(true, "outside guest RAM");
}

TEST_F(QueueFixture, ReadableAfterWritableBreaksTheQueue) {
    ring.Configure(queue);
    ring.SetDesc(0, FakeRing::kData, 8, kDescWrite | kDescNext, 1);
    ring.SetDesc(1, FakeRing::kData, 8, 0, 0);
    ring.MakeAvailable(0);
    EXPECT_FALSE(queue.Pop());
    Expect(true, "follows");
}

TEST_F(QueueFixture, BadSizeOrAlignmentOnEnableBreaksTheQueue) {
    queue.state().size = 6;
    queue.Enable();
    Expect(true, "power of two");
    queue.Reset();
    queue.state().size = 16;  // above the maximum of 8
    queue.Enable();
    Expect(true, "power of two");
    queue.Reset();
    queue.state().desc = 8;
    queue.Enable();
    Expect(true, "misaligned");
}

TEST_F(QueueFixture, IndirectTableIsFollowedWhenNegotiated) {
    ring.Configure(queue, /*indirect=*/true);
    constexpr uint64_t kTable = 0x40000;
    ring.SetDesc(0, FakeRing::kData, 16, kDescNext, 1, kTable);
    ring.SetDesc(1, FakeRing::kData + 0x100, 512, kDescWrite | kDescNext, 2, kTable);
    ring.SetDesc(2, FakeRing::kData + 0x400, 1, kDescWrite, 0, kTable);
    ring.SetDesc(7, kTable, 3 * 16, kDescIndirect, 0);
    ring.MakeAvailable(7);
    auto chain = queue.Pop();
    ASSERT_TRUE(chain) << queue.error();
    EXPECT_EQ(chain->head, 7);
    ASSERT_EQ(chain->buffers.size(), 3u);
    EXPECT_EQ(chain->readable_bytes, 16u);
    EXPECT_EQ(chain->writable_bytes, 513u);
}

TEST_F(QueueFixture, IndirectWithoutNegotiationBreaksTheQueue) {
    ring.Configure(queue, /*indirect=*/false);
    ring.SetDesc(0, 0x40000, 16, kDescIndirect, 0);
    ring.MakeAvailable(0);
    EXPECT_FALSE(queue.Pop());
    Expect(true, "not negotiated");
}

TEST_F(QueueFixture, NestedIndirectBreaksTheQueue) {
    ring.Configure(queue, true);
    ring.SetDesc(0, 0x40000, 16, kDescIndirect, 0, 0x40000);  // points at itself
    ring.SetDesc(0, 0x40000, 16, kDescIndirect, 0);
    ring.MakeAvailable(0);
    EXPECT_FALSE(queue.Pop());
    Expect(true, "another indirect");
}

TEST_F(QueueFixture, IndirectLoopBreaksTheQueue) {
    ring.Configure(queue, true);
    ring.SetDesc(0, FakeRing::kData, 8, kDescNext, 1, 0x40000);
    ring.SetDesc(1, FakeRing::kData, 8, kDescNext, 0, 0x40000);
    ring.SetDesc(0, 0x40000, 32, kDescIndirect, 0);
    ring.MakeAvailable(0);
    EXPECT_FALSE(queue.Pop());
    Expect(true, "loops");
}

TEST_F(QueueFixture, IndirectTableOfBadLengthBreaksTheQueue) {
    ring.Configure(queue, true);
    ring.SetDesc(0, 0x40000, 24, kDescIndirect, 0);  // not a multiple of 16
    ring.MakeAvailable(0);
    EXPECT_FALSE(queue.Pop());
    Expect(true, "indirect table");
    queue.Reset();
    ring.Configure(queue, true);
    ring.SetDesc(0, 0x40000, 0xfffffff0, kDescIndirect, 0);  // far too many entries
    ring.MakeAvailable(0);
    EXPECT_FALSE(queue.Pop());
    Expect(true, "indirect table");
}

TEST_F(QueueFixture, ChainSpansCrossBuffersAndRefuseShortStreams) {
    ring.Configure(queue);
    ring.SetDesc(0, FakeRing::kData, 4, kDescNext, 1);
    ring.SetDesc(1, FakeRing::kData + 0x100, 4, kDescNext, 2);
    ring.SetDesc(2, FakeRing::kData + 0x200, 8, kDescWrite, 0);
    ring.MakeAvailable(0);
    auto chain = queue.Pop();
    ASSERT_TRUE(chain);
    const uint8_t bytes[] = {1, 2, 3, 4, 5, 6, 7, 8};
    ring.Put(FakeRing::kData, bytes, 4);
    ring.Put(FakeRing::kData + 0x100, bytes + 4, 4);
    uint8_t out[6] = {};
    ASSERT_TRUE(ReadFromChain(*memory, *chain, 2, out).ok());
    EXPECT_EQ(std::vector<uint8_t>(out, out + 6), std::vector<uint8_t>({3, 4, 5, 6, 7, 8}));
    EXPECT_FALSE(ReadFromChain(*memory, *chain, 4, out).ok());  // only 4 left
    ASSERT_TRUE(WriteToChain(*memory, *chain, 6, std::span<const uint8_t>(bytes, 2)).ok());
    EXPECT_EQ(ring.Get(FakeRing::kData + 0x206, 2), std::vector<uint8_t>({1, 2}));
    EXPECT_FALSE(WriteToChain(*memory, *chain, 7, std::span<const uint8_t>(bytes, 2)).ok());
}

}  // namespace
}  // namespace hvkit::hvmm
