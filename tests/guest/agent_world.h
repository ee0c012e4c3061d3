// The agent's world for tests: hvmm's real update service and release store
// behind a loopback UpdateHost (in place of hvchan), packages from a
// directory (in place of TUF), the journal and guest extensions on real
// files, and a reporter that records steps and can "kill" the agent at one.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "hvkit/agent/agent.h"
#include "hvkit/agent/apply_ops.h"
#include "hvkit/package/input.h"
#include "release_fixture.h"
#include "update/update_service.h"

namespace hvkit::agent::test_world {

using hvmm::testing::V;

// The hypervisor's side, called directly instead of through hvchan.
class LoopbackHost final : public UpdateHost {
  public:
    explicit LoopbackHost(hvmm::UpdateService& service) : service_(service) {}
    Result<HostVersions> Versions() override {
        return HostVersions{"0.1.0", service_.committed_version(), permitted};
    }
    bool permitted = true;  // hvmm's --allow-hypervisor-update
    Result<uint64_t> Send(const std::string& package, const Sha256Digest& package_sha256,
                          const std::string& manifest, const Progress& progress) override {
        HVKIT_ASSIGN_OR_RETURN(std::string bytes, ReadFile(package, 1 << 26));
        hvmm::UpdateService::Begin begin{bytes.size(), package_sha256, manifest};
        HVKIT_ASSIGN_OR_RETURN(uint64_t session, service_.BeginSession(begin));
        for (size_t off = 0; off < bytes.size(); off += 65536) {
            std::string chunk = bytes.substr(off, 65536);
            auto w = service_.Write(session, off,
                                    {reinterpret_cast<const uint8_t*>(chunk.data()), chunk.size()},
                                    Sha256::Of(chunk));
            if (!w.ok()) return w.status();
            if (progress) progress(off + chunk.size(), bytes.size());
        }
        return session;
    }
    Status End(uint64_t s) override { return service_.End(s); }
    Status Commit(uint64_t s) override { return service_.Commit(s); }
    Status Abort(uint64_t s) override { return service_.Abort(s); }
    Status Rollback() override { return service_.Rollback(); }
    Result<hvchan_update_status> Report() override { return service_.Report(); }

  private:
    hvmm::UpdateService& service_;
};

class DirectorySource final : public PackageSource {
  public:
    std::map<std::string, std::string> packages;  // version -> file
    int fetches = 0;
    FileSystem* file_system = &RealFileSystem();  // where a download is written
    Status Refresh() override { return Status::Ok(); }
    Result<std::vector<SemVer>> Available() override {
        std::vector<SemVer> out;
        for (const auto& [v, path] : packages) out.push_back(V(v.c_str()));
        return out;
    }
    Result<Sha256Digest> Fetch(const SemVer& version, const std::string& dest,
                               const Progress&) override {
        ++fetches;
        auto it = packages.find(version.ToString());
        if (it == packages.end()) return Error(ErrorCode::kNotFound, "no such version");
        HVKIT_ASSIGN_OR_RETURN(std::string bytes, ReadFile(it->second, 1 << 26));
        HVKIT_RETURN_IF_ERROR(WriteFileAtomic(dest, bytes, 0644, *file_system));
        return Sha256::Of(bytes);
    }
};

// Thrown by the reporter: the agent "dies" there, the host lives on.
struct Killed {};

class RecordingReporter final : public Reporter {
  public:
    std::optional<UpdateStep> kill_at;  // the agent dies as this step begins
    bool kill_in_progress = false;      // the first progress report throws Killed
    std::vector<UpdateStep> steps;
    std::vector<std::string> lines;
    void Step(UpdateStep step, std::string_view what) override {
        steps.push_back(step);
        lines.emplace_back(what);
        if (kill_at == step) throw Killed{};
    }
    void Progress(UpdateStep, uint64_t, uint64_t) override {
        if (kill_in_progress) throw Killed{};
    }
};

class AgentTest : public hvmm::testing::ReleaseFixture {
  protected:
    void SetUp() override {
        ReleaseFixture::SetUp();
        hvmm::ReleaseStoreOptions options;
        options.running_version = V("0.1.0");
        auto store = hvmm::ReleaseStore::Open(store_dir(), options);
        ASSERT_TRUE(store.ok()) << store.status().message();
        service_ = std::make_unique<hvmm::UpdateService>(std::move(*store), clock_);
        host_ = std::make_unique<LoopbackHost>(*service_);
        config_.state_dir = tmp_.Sub("guest-state");
        config_.extensions_dir = tmp_.Sub("guest-ext");
        ASSERT_TRUE(MakeDirectories(config_.state_dir).ok());
        auto journal = Journal::Open(config_.state_dir + "/agent.sqlite");
        ASSERT_TRUE(journal.ok());
        journal_ = std::move(*journal);
        extensions_ = std::make_unique<ExtensionStore>(config_.extensions_dir);
        source_.packages["0.2.0"] = Package("0.2.0");
        source_.packages["0.3.0"] = Package("0.3.0");
    }
    // The guest's trust store: the same keys as the host's.
    PackageTrustStore Trust() { return *PackageTrustStore::Load(store_dir() + "/trust.json"); }
    Agent MakeAgent() {
        return Agent(config_, Trust(), *journal_, *extensions_, source_, *host_, reporter_);
    }
    // What the apply ops act on, the guest trusting the host's keys.
    ApplyWorld& World() {
        if (!world_) {
            guest_trust_.emplace(Trust());
            world_.emplace(ApplyWorld{config_, *guest_trust_, *journal_, *extensions_, source_,
                                      *host_, reporter_});
        }
        return *world_;
    }
    // An apply from 0.1.0 to (to), journaled as Agent::Apply begins one.
    ApplyTransaction BeginApply(const char* to) {
        ApplyTransaction t;
        auto id = journal_->Begin(TxKind::kApply, "0.1.0", to, TxState::kDownloading);
        EXPECT_TRUE(id.ok()) << id.status().message();
        t.id = id.ok() ? *id : 0;
        t.installed = V("0.1.0");
        t.target = V(to);
        return t;
    }
    // The journaled state of (id).
    std::optional<TxState> JournalState(int64_t id) {
        auto history = journal_->History();
        if (!history.ok()) return std::nullopt;
        for (const auto& t : *history) {
            if (t.id == id) return t.state;
        }
        return std::nullopt;
    }
    std::string GuestCurrent() {
        auto c = extensions_->Current();
        return c.ok() && *c ? **c : "";
    }
    std::string HostCommitted() { return service_->committed_version(); }

    ManualClock clock_;  // before service_, which holds it
    AgentConfig config_;
    std::unique_ptr<hvmm::UpdateService> service_;
    std::unique_ptr<LoopbackHost> host_;
    std::unique_ptr<Journal> journal_;
    std::unique_ptr<ExtensionStore> extensions_;
    DirectorySource source_;
    RecordingReporter reporter_;
    std::optional<PackageTrustStore> guest_trust_;
    std::optional<ApplyWorld> world_;
};

}  // namespace hvkit::agent::test_world
