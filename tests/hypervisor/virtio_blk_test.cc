// virtio-blk on a temporary image: requests reach the file exactly, never
// past its end; read-only images refuse writes; the image is locked.
#include <gtest/gtest.h>

#include <cstring>

#include "fake_virtio_driver.h"
#include "temp_dir.h"
#include "virtio/virtio.h"

namespace hvkit::hvmm {
namespace {

using hvkit::testing::ReadTestFile;
using hvkit::testing::TempDir;
using hvkit::testing::WriteTestFile;
using testing::FakeRing;
using virtio::kDescNext;
using virtio::kDescWrite;

constexpr uint32_t kIn = 0, kOut = 1, kFlush = 4, kGetId = 8;
constexpr uint8_t kOk = 0, kIoErr = 1, kUnsupp = 2;
constexpr uint64_t kHeader = FakeRing::kData;
constexpr uint64_t kBuffer = FakeRing::kData + 0x1000;
constexpr uint64_t kStatus = FakeRing::kData + 0x100;

struct BlkFixture : ::testing::Test {
    // An image of 8 sectors, sector i filled with byte 'a' + i.
    BlkFixture() : memory(std::move(GuestMemory::Create(16ull << 20).value())) {
        std::string contents;
        for (int i = 0; i < 8; ++i) contents += std::string(512, static_cast<char>('a' + i));
        path = dir.Sub("disk.img");
        WriteTestFile(path, contents);
    }
    void Open(bool read_only) {
        auto image = OpenDiskImage(path, read_only);
        ASSERT_TRUE(image.ok()) << image.status().message();
        blk = MakeVirtioBlk(std::move(*image));
        queue = std::make_unique<VirtQueue>(*memory, blk->queue_max_size());
        ring.Configure(*queue);
    }
    // Sends one request of (type) at (sector) with a (len)-byte data buffer
    // (device-writable for IN and GET_ID); returns its status byte and sets
    // (used_len).
    uint8_t Request(uint32_t type, uint64_t sector, uint32_t len) {
        uint8_t header[16] = {};
        std::memcpy(header, &type, 4);
        std::memcpy(header + 8, &sector, 8);
        ring.Put(kHeader, header, 16);
        uint8_t marker = 0xee;
        ring.Put(kStatus, &marker, 1);
        bool to_device = type == kOut;
        ring.SetDesc(0, kHeader, 16, kDescNext, len ? 1 : 2);
        ring.SetDesc(1, kBuffer, len,
                     static_cast<uint16_t>((to_device ? 0 : kDescWrite) | kDescNext), 2);
        ring.SetDesc(2, kStatus, 1, kDescWrite, 0);
        ring.MakeAvailable(0);
        uint16_t before = ring.UsedIdx();
        blk->QueueNotified(0, *queue, 0);
        EXPECT_EQ(ring.UsedIdx(), before + 1);
        used_len = ring.Used(before).second;
        return ring.Get(kStatus, 1)[0];
    }
    TempDir dir;
    std::string path;
    std::unique_ptr<GuestMemory> memory;
    std::unique_ptr<VirtioDevice> blk;
    std::unique_ptr<VirtQueue> queue;
    FakeRing ring{*memory, 16};
    uint32_t used_len = 0;
};

TEST_F(BlkFixture, ConfigHoldsCapacityAndFeatures) {
    Open(false);
    auto config = blk->config();
    uint64_t capacity;
    std::memcpy(&capacity, config.data(), 8);
    EXPECT_EQ(capacity, 8u);
    EXPECT_EQ(blk->device_type(), virtio::kTypeBlock);
    EXPECT_FALSE(blk->features() & (1ull << 5));  // not RO
    EXPECT_TRUE(blk->features() & (1ull << 9));   // FLUSH
}

TEST_F(BlkFixture, ReadReturnsTheSectors) {
    Open(false);
    EXPECT_EQ(Request(kIn, 2, 1024), kOk);
    EXPECT_EQ(used_len, 1025u);
    auto data = ring.Get(kBuffer, 1024);
    EXPECT_EQ(data[0], 'c');
    EXPECT_EQ(data[511], 'c');
    EXPECT_EQ(data[512], 'd');
    EXPECT_EQ(data[1023], 'd');
}

TEST_F(BlkFixture, WriteReachesTheFileAndReadsBack) {
    Open(false);
    std::vector<uint8_t> data(512, 'Z');
    ring.Put(kBuffer, data.data(), data.size());
    EXPECT_EQ(Request(kOut, 7, 512), kOk);
    EXPECT_EQ(used_len, 1u);
    EXPECT_EQ(Request(kFlush, 0, 0), kOk);
    std::string file = ReadTestFile(path);
    ASSERT_EQ(file.size(), 8u * 512);
    EXPECT_EQ(file.substr(7 * 512), std::string(512, 'Z'));
    EXPECT_EQ(file.substr(6 * 512, 512), std::string(512, 'g'));
}

TEST_F(BlkFixture, AccessesPastTheEndFailWithoutTouchingTheFile) {
    Open(false);
    std::vector<uint8_t> data(1024, 'X');
    ring.Put(kBuffer, data.data(), data.size());
    EXPECT_EQ(Request(kOut, 7, 1024), kIoErr);            // the second sector is past the end
    EXPECT_EQ(Request(kOut, ~uint64_t{0}, 512), kIoErr);  // sector + count overflows
    EXPECT_EQ(Request(kIn, 8, 512), kIoErr);
    EXPECT_EQ(used_len, 1u);  // only the status byte
    std::string file = ReadTestFile(path);
    EXPECT_EQ(file.size(), 8u * 512);
    EXPECT_EQ(file.find('X'), std::string::npos);
}

TEST_F(BlkFixture, LengthsThatAreNotWholeSectorsFail) {
    Open(false);
    EXPECT_EQ(Request(kIn, 0, 100), kIoErr);
    EXPECT_EQ(Request(kOut, 0, 513), kIoErr);
    EXPECT_EQ(ReadTestFile(path).substr(0, 512), std::string(512, 'a'));
}

TEST_F(BlkFixture, ReadOnlyImageRefusesWrites) {
    Open(true);
    EXPECT_TRUE(blk->features() & (1ull << 5));
    std::vector<uint8_t> data(512, 'W');
    ring.Put(kBuffer, data.data(), data.size());
    EXPECT_EQ(Request(kOut, 0, 512), kIoErr);
    EXPECT_EQ(ReadTestFile(path).substr(0, 512), std::string(512, 'a'));
    EXPECT_EQ(Request(kIn, 0, 512), kOk);  // reads still work
}

TEST_F(BlkFixture, GetIdAndUnsupportedTypes) {
    Open(false);
    EXPECT_EQ(Request(kGetId, 0, 20), kOk);
    EXPECT_EQ(used_len, 21u);
    auto id = ring.Get(kBuffer, 20);
    EXPECT_EQ(std::string(id.begin(), id.begin() + 8), "disk.img");
    EXPECT_EQ(id[8], 0);
    EXPECT_EQ(Request(99, 0, 0), kUnsupp);
}

TEST_F(BlkFixture, ShortHeaderIsAnIoError) {
    Open(false);
    uint8_t marker = 0xee;
    ring.Put(kStatus, &marker, 1);
    ring.SetDesc(0, kHeader, 8, kDescNext, 1);  // 8 of 16 header bytes
    ring.SetDesc(1, kStatus, 1, kDescWrite, 0);
    ring.MakeAvailable(0);
    blk->QueueNotified(0, *queue, 0);
    EXPECT_EQ(ring.UsedIdx(), 1);
    EXPECT_EQ(ring.Get(kStatus, 1)[0], kIoErr);
}

TEST_F(BlkFixture, ChainWithoutWritableBytesIsReturnedEmpty) {
    Open(false);
    ring.SetDesc(0, kHeader, 16, 0, 0);
    ring.MakeAvailable(0);
    blk->QueueNotified(0, *queue, 0);
    EXPECT_EQ(ring.UsedIdx(), 1);
    EXPECT_EQ(ring.Used(0).second, 0u);
}

TEST_F(BlkFixture, ImageIsLockedAgainstASecondWriter) {
    auto first = OpenDiskImage(path, false);
    ASSERT_TRUE(first.ok());
    auto second = OpenDiskImage(path, false);
    ASSERT_FALSE(second.ok());
    EXPECT_NE(
        second.status().message().find("disk " + path + " is in use by another process (flock)"),
        std::string::npos)
        << second.status().message();
    EXPECT_FALSE(OpenDiskImage(path, true).ok());  // no reader beside a writer
}

TEST_F(BlkFixture, ReadOnlyOpenersShareTheImage) {
    auto first = OpenDiskImage(path, true);
    auto second = OpenDiskImage(path, true);
    EXPECT_TRUE(first.ok());
    EXPECT_TRUE(second.ok());
    EXPECT_FALSE(OpenDiskImage(path, false).ok());
}

TEST_F(BlkFixture, BadImagesAreRefusedByName) {
    auto missing = OpenDiskImage(dir.Sub("nope.img"), false);
    ASSERT_FALSE(missing.ok());
    EXPECT_NE(missing.status().message().find("nope.img"), std::string::npos);
    WriteTestFile(dir.Sub("odd.img"), std::string(1000, 'x'));
    auto odd = OpenDiskImage(dir.Sub("odd.img"), false);
    ASSERT_FALSE(odd.ok());
    EXPECT_NE(odd.status().message().find("multiple of 512"), std::string::npos);
    WriteTestFile(dir.Sub("empty.img"), "");
    EXPECT_FALSE(OpenDiskImage(dir.Sub("empty.img"), false).ok());
}

}  // namespace
}  // namespace hvkit::hvmm
