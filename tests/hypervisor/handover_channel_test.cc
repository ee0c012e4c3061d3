// The handover socket's framing (takeover/channel.cc): messages with fds
// arrive whole and in order, a closed or dying peer reads as closed, and a
// broken frame or a refusal is an error naming it.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>

#include "takeover/takeover.h"

namespace hvkit::hvmm {
namespace {

using std::chrono::milliseconds;

struct Pair {
    Pair() {
        int fds[2];
        EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds), 0);
        a = std::make_unique<HandoverChannel>(UniqueFd(fds[0]));
        b = std::make_unique<HandoverChannel>(UniqueFd(fds[1]));
    }
    std::unique_ptr<HandoverChannel> a, b;
};

Json Message(const std::string& type) {
    Json m = Json::MakeObject();
    m["type"] = Json(type);
    return m;
}

TEST(HandoverChannel, AMessageArrivesWithItsFdsInOrder) {
    Pair p;
    int pipe_fds[2];
    ASSERT_EQ(pipe(pipe_fds), 0);
    UniqueFd read_end(pipe_fds[0]), write_end(pipe_fds[1]);
    Json offer = Message("offer");
    offer["big"] = Json(std::string(300000, 'x'));  // larger than a socket buffer
    std::thread sender([&] {
        EXPECT_TRUE(p.a->Send(offer, {read_end.get(), write_end.get()}).ok());
    });
    auto got = p.b->Receive(milliseconds(5000));
    sender.join();
    ASSERT_TRUE(got.ok()) << got.status().message();
    EXPECT_EQ(got->type(), "offer");
    EXPECT_EQ(got->body.Find("big")->as_string().size(), 300000u);
    ASSERT_EQ(got->fds.size(), 2u);
    // The received write end feeds our read end: the same pipe.
    ASSERT_EQ(write(got->fds[1].get(), "k", 1), 1);
    char c = 0;
    ASSERT_EQ(read(read_end.get(), &c, 1), 1);
    EXPECT_EQ(c, 'k');
    ASSERT_TRUE(p.a->Send(Message("second")).ok());
    EXPECT_EQ(p.b->Receive(milliseconds(5000))->type(), "second");
}

TEST(HandoverChannel, APeerThatClosesReadsAsClosed) {
    Pair p;
    p.a.reset();
    auto got = p.b->Receive(milliseconds(5000));
    EXPECT_FALSE(got.ok());
    EXPECT_TRUE(p.b->peer_closed());
    EXPECT_FALSE(p.b->Send(Message("x")).ok());
}

TEST(HandoverChannel, APeerThatDiesWithOurBytesUnreadReadsAsClosed) {
    Pair p;
    ASSERT_TRUE(p.b->Send(Message("unread")).ok());  // a never reads it
    p.a.reset();                                     // so its close resets
    auto got = p.b->Receive(milliseconds(5000));
    EXPECT_FALSE(got.ok());
    EXPECT_TRUE(p.b->peer_closed()) << got.status().message();
}

TEST(HandoverChannel, SilenceIsATimeoutNotAClose) {
    Pair p;
    auto got = p.b->Receive(milliseconds(50));
    ASSERT_FALSE(got.ok());
    EXPECT_FALSE(p.b->peer_closed());
    EXPECT_NE(got.status().message().find("did not answer in time"), std::string::npos);
}

TEST(HandoverChannel, ABrokenFrameIsRefused) {
    Pair p;
    const char garbage[12] = "not a frame";
    ASSERT_EQ(send(p.a->fd(), garbage, sizeof garbage, 0), 12);
    auto got = p.b->Receive(milliseconds(5000));
    ASSERT_FALSE(got.ok());
    EXPECT_EQ(got.status().code(), ErrorCode::kMalformed);
}

TEST(HandoverChannel, ARefusalCarriesThePeersReason) {
    Pair p;
    SendRefusal(*p.a, Error(ErrorCode::kMalformed, "the disk differs"));
    auto got = ReceiveExpected(*p.b, "ready", milliseconds(5000));
    ASSERT_FALSE(got.ok());
    EXPECT_EQ(got.status().code(), ErrorCode::kRefused);
    EXPECT_NE(got.status().message().find("the disk differs"), std::string::npos);
    ASSERT_TRUE(p.a->Send(Message("state")).ok());
    auto wrong = ReceiveExpected(*p.b, "ready", milliseconds(5000));
    ASSERT_FALSE(wrong.ok());
    EXPECT_NE(wrong.status().message().find("expected a \"ready\" message, got \"state\""),
              std::string::npos);
}

TEST(HandoverChannel, MoreFdsThanTheLimitAreRefusedBeforeSending) {
    Pair p;
    std::vector<int> many(HandoverChannel::kMaxFds + 1, STDIN_FILENO);
    EXPECT_EQ(p.a->Send(Message("x"), many).code(), ErrorCode::kTooLarge);
}

TEST(HandoverFds, EachNameOnceAndTakenOnce) {
    HandoverFds fds;
    ASSERT_TRUE(fds.Add("ram", UniqueFd(dup(STDIN_FILENO))).ok());
    EXPECT_FALSE(fds.Add("ram", UniqueFd(dup(STDIN_FILENO))).ok());
    ASSERT_TRUE(fds.Add("virtio-net.tap", UniqueFd(dup(STDIN_FILENO))).ok());
    EXPECT_TRUE(fds.Take("ram").ok());
    auto again = fds.Take("ram");
    ASSERT_FALSE(again.ok());
    EXPECT_NE(again.status().message().find("lacks fd \"ram\""), std::string::npos);
    EXPECT_EQ(fds.Untaken(), std::vector<std::string>{"virtio-net.tap"});
}

}  // namespace
}  // namespace hvkit::hvmm
