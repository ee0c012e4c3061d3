// hvchan discovery against a fake sysfs tree: the device is found by its IDs,
// the lowest address wins, and a VM without it gets a message saying why.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdio>

#include "hvkit/hvchan_guest.h"
#include "temp_dir.h"

namespace hvkit::hvchan {
namespace {

void FakeDevice(const std::string& root, const std::string& address, unsigned vendor,
                unsigned device) {
    std::string dir = root + "/" + address;
    ASSERT_EQ(mkdir(dir.c_str(), 0755), 0);
    char text[16];
    snprintf(text, sizeof text, "0x%04x\n", vendor);
    hvkit::testing::WriteTestFile(dir + "/vendor", text);
    snprintf(text, sizeof text, "0x%04x\n", device);
    hvkit::testing::WriteTestFile(dir + "/device", text);
}

TEST(HvchanDiscovery, FindsTheDeviceByItsIds) {
    hvkit::testing::TempDir tmp;
    FakeDevice(tmp.path(), "0000:00:00.0", HVCHAN_PCI_VENDOR_ID, 0x11bf);
    FakeDevice(tmp.path(), "0000:00:03.0", 0x1af4, 0x1042);
    FakeDevice(tmp.path(), "0000:00:05.0", HVCHAN_PCI_VENDOR_ID, HVCHAN_PCI_DEVICE_ID);
    FakeDevice(tmp.path(), "0000:00:02.0", HVCHAN_PCI_VENDOR_ID, HVCHAN_PCI_DEVICE_ID);
    auto dir = FindHvchanDevice(tmp.path());
    ASSERT_TRUE(dir.ok()) << dir.status().message();
    EXPECT_EQ(dir->address, "0000:00:02.0");
    EXPECT_EQ(dir->path, tmp.path() + "/0000:00:02.0");
}

TEST(HvchanDiscovery, SaysWhyWhenThereIsNone) {
    hvkit::testing::TempDir tmp;
    FakeDevice(tmp.path(), "0000:00:00.0", 0x8086, 0x1237);
    auto dir = FindHvchanDevice(tmp.path());
    ASSERT_FALSE(dir.ok());
    EXPECT_EQ(dir.status().code(), ErrorCode::kNotFound);
    EXPECT_NE(dir.status().message().find("--hvchan"), std::string::npos) << dir.status().message();
    auto unlisted = FindHvchanDevice(tmp.path() + "/missing");
    ASSERT_FALSE(unlisted.ok());
    EXPECT_NE(unlisted.status().message().find("is sysfs mounted?"), std::string::npos)
        << "a tree that cannot be listed is not a VM without hvchan: "
        << unlisted.status().message();
}

TEST(HvchanDiscovery, OpenRefusesADeviceWhoseBarsCannotBeMapped) {
    hvkit::testing::TempDir tmp;
    FakeDevice(tmp.path(), "0000:00:02.0", HVCHAN_PCI_VENDOR_ID, HVCHAN_PCI_DEVICE_ID);
    // A config space with memory decoding on, but no resource files.
    std::string config(64, '\0');
    config[4] = 0x02;
    hvkit::testing::WriteTestFile(tmp.path() + "/0000:00:02.0/config", config);
    auto ch = Channel::OpenFirst(tmp.path());
    ASSERT_FALSE(ch.ok());
    EXPECT_NE(ch.status().message().find("resource0"), std::string::npos) << ch.status().message();
}

TEST(HvchanStatus, NamesKnownAndUnknownCodes) {
    EXPECT_EQ(StatusName(HVCHAN_E_RANGE), "HVCHAN_E_RANGE");
    EXPECT_EQ(StatusName(999), "status 999");
}

}  // namespace
}  // namespace hvkit::hvchan
