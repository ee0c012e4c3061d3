// Buses route whole accesses to exactly one device.
#include <gtest/gtest.h>

#include "hvmm.h"

namespace hvkit::hvmm {
namespace {

class Recorder final : public Device {
  public:
    std::string_view name() const override { return "recorder"; }
    void Read(uint64_t offset, std::span<uint8_t> data) override {
        for (auto& b : data) b = static_cast<uint8_t>(offset);
        last_offset = offset;
    }
    void Write(uint64_t offset, std::span<const uint8_t> data) override {
        last_offset = offset;
        written.assign(data.begin(), data.end());
    }
    Json Save() const override { return Json::MakeObject(); }
    Status Restore(const Json&) override { return Status::Ok(); }
    void Reset() override {}
    uint64_t last_offset = ~0ull;
    std::vector<uint8_t> written;
};

TEST(Bus, RoutesByRangeWithOffsets) {
    Bus bus("test");
    auto dev = std::make_shared<Recorder>();
    ASSERT_TRUE(bus.Insert(0x100, 0x10, dev).ok());
    uint8_t in[2] = {7, 8};
    EXPECT_TRUE(bus.Write(0x104, in));
    EXPECT_EQ(dev->last_offset, 4u);
    EXPECT_EQ(dev->written, (std::vector<uint8_t>{7, 8}));
    uint8_t out[1];
    EXPECT_TRUE(bus.Read(0x10f, out));
    EXPECT_EQ(out[0], 0xf);
}

TEST(Bus, RefusesOverlapsEmptyAndWrappingRanges) {
    Bus bus("test");
    auto dev = std::make_shared<Recorder>();
    ASSERT_TRUE(bus.Insert(0x100, 0x10, dev).ok());
    EXPECT_FALSE(bus.Insert(0x10f, 1, dev).ok());
    EXPECT_FALSE(bus.Insert(0xf0, 0x11, dev).ok());
    EXPECT_FALSE(bus.Insert(0x80, 0x100, dev).ok());
    EXPECT_TRUE(bus.Insert(0x110, 1, dev).ok());
    EXPECT_TRUE(bus.Insert(0xff, 1, dev).ok());
    EXPECT_FALSE(bus.Insert(0x200, 0, dev).ok());
    EXPECT_FALSE(bus.Insert(~0ull - 1, 4, dev).ok());
}

TEST(Bus, UnclaimedAndStraddlingAccessesReachNoDevice) {
    Bus bus("test");
    auto dev = std::make_shared<Recorder>();
    ASSERT_TRUE(bus.Insert(0x100, 0x10, dev).ok());
    uint8_t out[4] = {1, 2, 3, 4};
    EXPECT_FALSE(bus.Read(0x50, out));
    EXPECT_EQ(out[0], 0xff);
    EXPECT_EQ(out[3], 0xff);
    EXPECT_FALSE(bus.Read(0x10e, out));  // last two bytes past the device
    EXPECT_FALSE(bus.Write(0x10e, out));
    EXPECT_FALSE(bus.Write(~0ull - 1, out));
    EXPECT_EQ(dev->last_offset, ~0ull);
}

}  // namespace
}  // namespace hvkit::hvmm
