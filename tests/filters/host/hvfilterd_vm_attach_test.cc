// AttachToVm against a fake hvmm control socket: the good answer gives the
// region's three fds in order, and every way the answer can be wrong is an
// error naming the socket and the rule.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <string>

#include "fake_hvmm_control.h"
#include "hvkit/fs.h"
#include "vm_attach.h"

namespace hvkit::filterd {
namespace {

using testing::AttachReply;
using testing::FakeHvmmControl;

class VmAttachTest : public ::testing::Test {
  protected:
    void SetUp() override {
        Result<std::string> dir = MakeTempDirectory("/tmp", "hvfilterd-attach-");
        ASSERT_TRUE(dir.ok());
        dir_ = *dir;
        socket_ = dir_ + "/vm.sock";
    }
    void TearDown() override { (void)RemoveTree(dir_); }

    std::string dir_, socket_;
};

// The inode of (fd), to tell which file an fd names.
ino_t Inode(int fd) {
    struct stat st {};
    fstat(fd, &st);
    return st.st_ino;
}

TEST_F(VmAttachTest, GoodAnswerPassesTheThreeFdsInOrder) {
    FakeHvmmControl hvmm(socket_, 0x86000);
    ASSERT_TRUE(hvmm.ok());
    Result<RegionFds> fds = AttachToVm(socket_);
    ASSERT_TRUE(fds.ok()) << fds.status().message();
    EXPECT_EQ(fds->region_size, 0x86000u);
    EXPECT_EQ(Inode(fds->region.get()), Inode(hvmm.region_fd()));
    EXPECT_EQ(Inode(fds->doorbell.get()), Inode(hvmm.doorbell_fd()));
    EXPECT_EQ(Inode(fds->interrupt.get()), Inode(hvmm.interrupt_fd()));
    EXPECT_EQ(hvmm.attaches(), 1);
}

TEST_F(VmAttachTest, RefusalCarriesHvmmsText) {
    FakeHvmmControl hvmm(socket_, 0x86000, AttachReply::kRefuse);
    Result<RegionFds> fds = AttachToVm(socket_);
    ASSERT_FALSE(fds.ok());
    EXPECT_NE(fds.status().message().find(socket_), std::string::npos);
    EXPECT_NE(fds.status().message().find("filter rings are not enabled for this VM"),
              std::string::npos)
        << fds.status().message();
}

TEST_F(VmAttachTest, NoFdsIsRefused) {
    FakeHvmmControl hvmm(socket_, 0x86000, AttachReply::kNoFds);
    Result<RegionFds> fds = AttachToVm(socket_);
    ASSERT_FALSE(fds.ok());
    EXPECT_NE(fds.status().message().find("passed 0 fds"), std::string::npos)
        << fds.status().message();
    EXPECT_NE(fds.status().message().find("exactly 3"), std::string::npos);
}

TEST_F(VmAttachTest, WrongFdCountIsRefused) {
    FakeHvmmControl hvmm(socket_, 0x86000, AttachReply::kTwoFds);
    Result<RegionFds> fds = AttachToVm(socket_);
    ASSERT_FALSE(fds.ok());
    EXPECT_NE(fds.status().message().find("passed 2 fds"), std::string::npos)
        << fds.status().message();
}

// hvmm's fds are checked before anything maps or polls them (issue 13,
// item 7): each wrong kind is refused naming the fd and the rule.
TEST_F(VmAttachTest, FdsOfTheWrongKindAreRefused) {
    struct Case {
        AttachReply reply;
        const char* rule;
    };
    for (Case c : {Case{AttachReply::kUnsealedRegion, "not sealed against shrinking"},
                   Case{AttachReply::kDoorbellNotEventfd, "doorbell fd is not an eventfd"},
                   Case{AttachReply::kInterruptNotEventfd, "interrupt fd is not an eventfd"}}) {
        SCOPED_TRACE(c.rule);
        unlink(socket_.c_str());
        FakeHvmmControl hvmm(socket_, 0x86000, c.reply);
        ASSERT_TRUE(hvmm.ok());
        Result<RegionFds> fds = AttachToVm(socket_);
        ASSERT_FALSE(fds.ok()) << "attached to a wrong fd";
        EXPECT_EQ(fds.status().code(), ErrorCode::kRefused);
        EXPECT_NE(fds.status().message().find(c.rule), std::string::npos) << fds.status().message();
    }
}

TEST_F(VmAttachTest, OtherAbiMajorIsRefused) {
    FakeHvmmControl hvmm(socket_, 0x86000, AttachReply::kWrongMajor);
    Result<RegionFds> fds = AttachToVm(socket_);
    ASSERT_FALSE(fds.ok());
    EXPECT_NE(fds.status().message().find("ABI 7.1"), std::string::npos) << fds.status().message();
    EXPECT_NE(fds.status().message().find("major versions must match"), std::string::npos);
}

TEST_F(VmAttachTest, AbsentSocketIsNotFound) {
    Result<RegionFds> fds = AttachToVm(socket_);
    ASSERT_FALSE(fds.ok());
    EXPECT_EQ(fds.status().code(), ErrorCode::kNotFound);
    EXPECT_NE(fds.status().message().find(socket_), std::string::npos);
}

TEST(AttachResponse, MalformedLinesAreRefused) {
    EXPECT_FALSE(ParseAttachResponse("not json", "/s").ok());
    EXPECT_FALSE(ParseAttachResponse("[1]", "/s").ok());
    EXPECT_FALSE(ParseAttachResponse("{\"ok\":true,\"abi_major\":0,\"abi_minor\":1}", "/s").ok());
    EXPECT_FALSE(
        ParseAttachResponse("{\"ok\":true,\"region_size\":0,\"abi_major\":0,\"abi_minor\":1}", "/s")
            .ok());
    Result<uint64_t> size = ParseAttachResponse(
        "{\"ok\":true,\"region_size\":4096,\"abi_major\":0,\"abi_minor\":9}", "/s");
    ASSERT_TRUE(size.ok()) << size.status().message();
    EXPECT_EQ(*size, 4096u) << "a newer minor of the same major is accepted";
}

}  // namespace
}  // namespace hvkit::filterd
