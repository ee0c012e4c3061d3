// hvchan's update calls as a guest makes them (call block, input area, the
// call register), against a real release store: the whole path commits, and
// every wrong order, bad range, bad hash, unknown key, downgrade and garbage
// gets its error status and changes nothing the host had committed.
#include <gtest/gtest.h>

#include <cstring>

#include "hvchan/hvchan.h"
#include "hvkit/package/input.h"
#include "hvkit/package/verify.h"
#include "release_fixture.h"

namespace hvkit::hvmm {
namespace {

using testing::V;

class HvchanUpdateTest : public testing::ReleaseFixture {
  protected:
    void SetUp() override {
        ReleaseFixture::SetUp();
        ReleaseStoreOptions options;
        options.running_version = V("0.1.0");
        auto store = ReleaseStore::Open(store_dir(), options);
        ASSERT_TRUE(store.ok()) << store.status().message();
        update_ = std::make_shared<UpdateService>(std::move(*store), clock_);
        auto dev = HvchanDevice::Create(HvchanHostInfo{}, update_);
        ASSERT_TRUE(dev.ok());
        dev_ = *dev;
    }
    uint8_t* Bar2() { return dev_->BarMemory(2).data(); }
    uint8_t* In() { return Bar2() + HVCHAN_BAR2_CALL_IN_OFFSET; }
    hvchan_call_block Call(uint32_t number, std::array<uint64_t, 4> args = {}) {
        hvchan_call_block block{};
        memcpy(block.args, args.data(), sizeof block.args);
        memcpy(Bar2(), &block, sizeof block);
        uint8_t reg[4];
        memcpy(reg, &number, 4);
        dev_->BarWrite(0, HVCHAN_REG_CALL, reg);
        memcpy(&block, Bar2(), sizeof block);
        return block;
    }
    // The package's manifest.json bytes and the package bytes.
    struct Bytes {
        std::string manifest, package;
    };
    Bytes Load(const std::string& path) {
        Bytes b;
        b.package = *ReadFile(path, 1 << 26);
        auto input = PackageInput::FromBytes(b.package, path);
        auto info = InspectPackage(input, false);
        EXPECT_TRUE(info.ok()) << info.status().message();
        b.manifest = DumpJson(info->envelope.ToJson());
        return b;
    }
    hvchan_call_block Begin(const Bytes& b, uint64_t size_delta = 0, bool flip_hash = false) {
        hvchan_update_begin h{};
        h.package_size = b.package.size() + size_delta;
        Sha256Digest d = Sha256::Of(b.package);
        memcpy(h.package_sha256, d.data(), 32);
        if (flip_hash) h.package_sha256[0] ^= 1;
        h.manifest_size = static_cast<uint32_t>(b.manifest.size());
        memcpy(In(), &h, sizeof h);
        memcpy(In() + sizeof h, b.manifest.data(), b.manifest.size());
        return Call(HVCHAN_CALL_UPDATE_BEGIN, {0, sizeof h + b.manifest.size(), 0, 0});
    }
    hvchan_call_block Write(uint64_t session, const std::string& data, uint64_t offset,
                            bool bad_hash = false) {
        Sha256Digest d = Sha256::Of(data);
        if (bad_hash) d[5] ^= 0x40;
        memcpy(In(), d.data(), 32);
        memcpy(In() + 32, data.data(), data.size());
        return Call(HVCHAN_CALL_UPDATE_WRITE, {session, offset, 0, 32 + data.size()});
    }
    // Sends all of (b.package) in chunks; returns the status of the first
    // failing write, or OK.
    uint32_t SendAll(uint64_t session, const Bytes& b, size_t chunk = 4096, size_t from = 0) {
        for (size_t off = from; off < b.package.size(); off += chunk) {
            auto r = Write(session, b.package.substr(off, chunk), off);
            if (r.status != HVCHAN_OK) return r.status;
        }
        return HVCHAN_OK;
    }
    hvchan_update_status Status() {
        EXPECT_EQ(Call(HVCHAN_CALL_UPDATE_STATUS).status, HVCHAN_OK);
        hvchan_update_status s;
        memcpy(&s, Bar2() + HVCHAN_BAR2_CALL_OUT_OFFSET, sizeof s);
        return s;
    }

    ManualClock clock_;  // before update_, which holds it
    std::shared_ptr<UpdateService> update_;
    std::shared_ptr<HvchanDevice> dev_;
};

TEST_F(HvchanUpdateTest, TheWholePathCommits) {
    Bytes b = Load(Package("0.2.0"));
    auto begin = Begin(b);
    ASSERT_EQ(begin.status, HVCHAN_OK);
    uint64_t session = begin.rets[0];
    EXPECT_EQ(Status().state, HVCHAN_UPDATE_TRANSFERRING);
    ASSERT_EQ(SendAll(session, b), HVCHAN_OK);
    EXPECT_EQ(Status().received, b.package.size());
    ASSERT_EQ(Call(HVCHAN_CALL_UPDATE_END, {session}).status, HVCHAN_OK);
    EXPECT_EQ(Status().state, HVCHAN_UPDATE_STAGED);
    EXPECT_EQ(CurrentHvmm(), "") << "staged, not committed";
    ASSERT_EQ(Call(HVCHAN_CALL_UPDATE_COMMIT, {session}).status, HVCHAN_OK);
    EXPECT_EQ(CurrentHvmm(), "hvmm 0.2.0\n");
    hvchan_update_status s = Status();
    EXPECT_EQ(s.state, HVCHAN_UPDATE_COMMITTED);
    EXPECT_STREQ(s.committed_version, "0.2.0");
    // The info call reports it too.
    ASSERT_EQ(Call(HVCHAN_CALL_INFO).status, HVCHAN_OK);
    hvchan_info info;
    memcpy(&info, Bar2() + HVCHAN_BAR2_CALL_OUT_OFFSET, sizeof info);
    EXPECT_STREQ(info.committed_version_string, "0.2.0");
    EXPECT_EQ(info.update_permitted, 1u);
    EXPECT_EQ(info.host_features & HVCHAN_F_UPDATE, HVCHAN_F_UPDATE);
}

TEST_F(HvchanUpdateTest, ManifestsTheHostDoesNotTrustAreRefusedAtBegin) {
    EXPECT_EQ(Begin(Load(Package("0.2.0", &stranger_))).status, HVCHAN_E_BAD_SIGNATURE);
    EXPECT_EQ(Begin(Load(Package("0.0.9"))).status, HVCHAN_E_ROLLBACK) << "below the running 0.1.0";
    Bytes garbage{"{\"signed\": 7}", "x"};
    EXPECT_EQ(Begin(garbage).status, HVCHAN_E_MALFORMED);
    Bytes b = Load(Package("0.2.0"));
    // Header claims a manifest size that is not what follows.
    hvchan_update_begin h{};
    h.package_size = b.package.size();
    h.manifest_size = 99999;
    memcpy(In(), &h, sizeof h);
    EXPECT_EQ(Call(HVCHAN_CALL_UPDATE_BEGIN, {0, sizeof h + 10, 0, 0}).status, HVCHAN_E_INVALID);
    EXPECT_EQ(Call(HVCHAN_CALL_UPDATE_BEGIN, {HVCHAN_BAR2_CALL_IN_SIZE, 64, 0, 0}).status,
              HVCHAN_E_RANGE);
    EXPECT_EQ(Call(HVCHAN_CALL_UPDATE_BEGIN, {0, 8, 0, 0}).status, HVCHAN_E_INVALID);
    // A manifest over the limit that still fits the input area.
    h.manifest_size = HVCHAN_UPDATE_MAX_MANIFEST + 1;
    memcpy(In(), &h, sizeof h);
    memset(In() + sizeof h, '{', h.manifest_size);
    EXPECT_EQ(Call(HVCHAN_CALL_UPDATE_BEGIN, {0, sizeof h + h.manifest_size, 0, 0}).status,
              HVCHAN_E_TOO_LARGE);
    EXPECT_EQ(Status().state, HVCHAN_UPDATE_IDLE) << "no session was opened";
}

TEST_F(HvchanUpdateTest, ChunksOutOfOrderOrWithBadHashesAreRefused) {
    Bytes b = Load(Package("0.2.0", nullptr, "0.0.0", 40000));
    ASSERT_GT(b.package.size(), 20000u);
    uint64_t session = Begin(b).rets[0];
    std::string first = b.package.substr(0, 1000);
    EXPECT_EQ(Write(session, first, 10).status, HVCHAN_E_INVALID) << "a gap";
    EXPECT_EQ(Write(session, first, 0, /*bad_hash=*/true).status, HVCHAN_E_HASH_MISMATCH);
    EXPECT_EQ(Write(session + 1, first, 0).status, HVCHAN_E_STATE) << "not the session";
    ASSERT_EQ(Write(session, first, 0).status, HVCHAN_OK);
    EXPECT_EQ(Write(session, first, 0).status, HVCHAN_E_INVALID) << "an overlap";
    EXPECT_EQ(
        Call(HVCHAN_CALL_UPDATE_WRITE, {session, 1000, HVCHAN_BAR2_CALL_IN_SIZE - 10, 100}).status,
        HVCHAN_E_RANGE);
    EXPECT_EQ(Call(HVCHAN_CALL_UPDATE_WRITE, {session, 1000, 0, 32}).status, HVCHAN_E_INVALID)
        << "no data after the hash";
    EXPECT_EQ(
        Call(HVCHAN_CALL_UPDATE_WRITE, {session, 1000, 0, 32 + HVCHAN_UPDATE_MAX_CHUNK + 1}).status,
        HVCHAN_E_TOO_LARGE);
    EXPECT_EQ(Call(HVCHAN_CALL_UPDATE_END, {session}).status, HVCHAN_E_STATE) << "incomplete";
    EXPECT_EQ(Call(HVCHAN_CALL_UPDATE_COMMIT, {session}).status, HVCHAN_E_STATE)
        << "commit before end";
    // The session survives refusals: the rest completes it.
    ASSERT_EQ(SendAll(session, b, 4096, 1000), HVCHAN_OK);
    ASSERT_EQ(Call(HVCHAN_CALL_UPDATE_END, {session}).status, HVCHAN_OK);
    ASSERT_EQ(Call(HVCHAN_CALL_UPDATE_COMMIT, {session}).status, HVCHAN_OK);
    EXPECT_EQ(CurrentHvmm(), "hvmm 0.2.0\n");
}

TEST_F(HvchanUpdateTest, AWholePackageHashMismatchFailsTheSession) {
    Bytes b = Load(Package("0.2.0"));
    uint64_t session = Begin(b, 0, /*flip_hash=*/true).rets[0];
    ASSERT_EQ(SendAll(session, b), HVCHAN_OK);
    EXPECT_EQ(Call(HVCHAN_CALL_UPDATE_END, {session}).status, HVCHAN_E_HASH_MISMATCH);
    EXPECT_EQ(Status().state, HVCHAN_UPDATE_FAILED);
    EXPECT_EQ(CurrentHvmm(), "");
}

TEST_F(HvchanUpdateTest, APackageOtherThanTheAnnouncedOneIsRefusedAtEnd) {
    Bytes announced = Load(Package("0.2.0"));
    Bytes other = Load(Package("0.3.0"));
    // BEGIN announces 0.2.0's manifest but the size and hash of 0.3.0's package.
    hvchan_update_begin h{};
    h.package_size = other.package.size();
    Sha256Digest d = Sha256::Of(other.package);
    memcpy(h.package_sha256, d.data(), 32);
    h.manifest_size = static_cast<uint32_t>(announced.manifest.size());
    memcpy(In(), &h, sizeof h);
    memcpy(In() + sizeof h, announced.manifest.data(), announced.manifest.size());
    auto begin = Call(HVCHAN_CALL_UPDATE_BEGIN, {0, sizeof h + announced.manifest.size(), 0, 0});
    ASSERT_EQ(begin.status, HVCHAN_OK);
    ASSERT_EQ(SendAll(begin.rets[0], other), HVCHAN_OK);
    EXPECT_EQ(Call(HVCHAN_CALL_UPDATE_END, {begin.rets[0]}).status, HVCHAN_E_REFUSED);
    EXPECT_EQ(CurrentHvmm(), "");
    hvchan_update_status report = update_->Report();
    EXPECT_EQ(report.last_status, HVCHAN_E_REFUSED);
    EXPECT_NE(std::string(report.message).find("announced at BEGIN"), std::string::npos)
        << "hvmm keeps its reason for the guest: " << report.message;
    EXPECT_FALSE(update_->Report().state == HVCHAN_UPDATE_STAGED);
}

TEST_F(HvchanUpdateTest, OneSessionAtATimeUntilItExpires) {
    Bytes b = Load(Package("0.2.0"));
    uint64_t first = Begin(b).rets[0];
    EXPECT_EQ(Begin(b).status, HVCHAN_E_STATE) << "busy";
    clock_.Advance(std::chrono::seconds(HVCHAN_UPDATE_SESSION_TIMEOUT_S));
    auto second = Begin(b);
    ASSERT_EQ(second.status, HVCHAN_OK) << "the idle session expired";
    EXPECT_NE(second.rets[0], first);
    EXPECT_EQ(Write(first, b.package.substr(0, 100), 0).status, HVCHAN_E_STATE);
    ASSERT_EQ(Call(HVCHAN_CALL_UPDATE_ABORT, {second.rets[0]}).status, HVCHAN_OK);
    EXPECT_EQ(Status().state, HVCHAN_UPDATE_FAILED);
    ASSERT_EQ(Begin(b).status, HVCHAN_OK) << "after an abort a new session starts";
}

TEST_F(HvchanUpdateTest, RollbackSwitchesBackToThePreviousRelease) {
    for (const char* version : {"0.2.0", "0.3.0"}) {
        Bytes b = Load(Package(version));
        uint64_t session = Begin(b).rets[0];
        ASSERT_EQ(SendAll(session, b), HVCHAN_OK);
        ASSERT_EQ(Call(HVCHAN_CALL_UPDATE_END, {session}).status, HVCHAN_OK);
        ASSERT_EQ(Call(HVCHAN_CALL_UPDATE_COMMIT, {session}).status, HVCHAN_OK);
    }
    auto r = Call(HVCHAN_CALL_UPDATE_ROLLBACK);
    ASSERT_EQ(r.status, HVCHAN_OK);
    hvchan_update_status s;
    memcpy(&s, Bar2() + HVCHAN_BAR2_CALL_OUT_OFFSET, sizeof s);
    EXPECT_STREQ(s.committed_version, "0.2.0");
    EXPECT_EQ(CurrentHvmm(), "hvmm 0.2.0\n");
    EXPECT_EQ(Call(HVCHAN_CALL_UPDATE_ROLLBACK).status, HVCHAN_E_ROLLBACK) << "only one step back";
    EXPECT_EQ(Begin(Load(Package("0.1.5"))).status, HVCHAN_E_ROLLBACK) << "below the floor";
}

TEST(HvchanUpdateDenied, AVmWithoutThePermissionIsRefused) {
    auto dev = HvchanDevice::Create(HvchanHostInfo{});
    ASSERT_TRUE(dev.ok());
    for (uint32_t call :
         {HVCHAN_CALL_UPDATE_BEGIN, HVCHAN_CALL_UPDATE_WRITE, HVCHAN_CALL_UPDATE_END,
          HVCHAN_CALL_UPDATE_COMMIT, HVCHAN_CALL_UPDATE_ABORT, HVCHAN_CALL_UPDATE_STATUS}) {
        uint8_t reg[4];
        memcpy(reg, &call, 4);
        (*dev)->BarWrite(0, HVCHAN_REG_CALL, reg);
        hvchan_call_block block;
        memcpy(&block, (*dev)->BarMemory(2).data(), sizeof block);
        EXPECT_EQ(block.status, HVCHAN_E_DENIED) << call;
    }
}

}  // namespace
}  // namespace hvkit::hvmm

namespace hvkit::hvmm {
namespace {

// The announced size's bounds, and the write quota (issue 13 item 6): the
// whole announced size is charged at BEGIN, the window is an hour of the
// service's clock.
class UpdateServiceLimitsTest : public HvchanUpdateTest {
  protected:
    std::unique_ptr<UpdateService> Service(uint64_t quota) {
        ReleaseStoreOptions options;
        options.running_version = V("0.1.0");
        auto store = ReleaseStore::Open(store_dir(), options);
        EXPECT_TRUE(store.ok());
        return std::make_unique<UpdateService>(std::move(*store), clock_, quota);
    }
    UpdateService::Begin BeginFor(const Bytes& b, uint64_t size) {
        return UpdateService::Begin{size, Sha256::Of(b.package), b.manifest};
    }
};

TEST_F(UpdateServiceLimitsTest, APackageOfZeroBytesOrOverOneGibIsRefused) {
    Bytes b = Load(Package("0.2.0"));
    auto service = Service(UpdateService::kDefaultWriteQuotaPerHour);
    EXPECT_EQ(service->BeginSession(BeginFor(b, 0)).status().code(), ErrorCode::kTooLarge);
    EXPECT_EQ(service->BeginSession(BeginFor(b, (uint64_t{1} << 30) + 1)).status().code(),
              ErrorCode::kTooLarge);
    auto one_gib = service->BeginSession(BeginFor(b, uint64_t{1} << 30));
    EXPECT_TRUE(one_gib.ok()) << "1 GiB itself is allowed: " << one_gib.status().message();
}

TEST_F(UpdateServiceLimitsTest, AChunkPastTheAnnouncedSizeIsRefused) {
    Bytes b = Load(Package("0.2.0"));
    auto service = Service(UpdateService::kDefaultWriteQuotaPerHour);
    auto session = service->BeginSession(BeginFor(b, 10));
    ASSERT_TRUE(session.ok());
    std::string eleven(11, 'x');
    auto w = service->Write(*session, 0, {reinterpret_cast<const uint8_t*>(eleven.data()), 11},
                            Sha256::Of(eleven));
    ASSERT_FALSE(w.ok());
    EXPECT_EQ(w.status().code(), ErrorCode::kInvalidArgument);
    EXPECT_NE(w.status().message().find("past the announced size"), std::string::npos)
        << w.status().message();
}

TEST_F(UpdateServiceLimitsTest, TheWriteQuotaChargesEveryBeginForAnHour) {
    Bytes b = Load(Package("0.2.0"));
    uint64_t size = b.package.size();
    auto service = Service(3 * size);
    for (int i = 0; i < 3; ++i) {
        auto s = service->BeginSession(BeginFor(b, size));
        ASSERT_TRUE(s.ok()) << i << ": " << s.status().message();
        ASSERT_TRUE(service->Abort(*s).ok());
    }
    auto fourth = service->BeginSession(BeginFor(b, size));
    ASSERT_FALSE(fourth.ok()) << "announce and abort is not free";
    EXPECT_EQ(fourth.status().code(), ErrorCode::kConflict);
    EXPECT_NE(fourth.status().message().find("write quota"), std::string::npos)
        << fourth.status().message();
    clock_.Advance(std::chrono::minutes(59));
    EXPECT_FALSE(service->BeginSession(BeginFor(b, size)).ok()) << "still inside the hour";
    clock_.Advance(std::chrono::minutes(1));
    EXPECT_TRUE(service->BeginSession(BeginFor(b, size)).ok())
        << "the first charge left the window";
}

}  // namespace
}  // namespace hvkit::hvmm
