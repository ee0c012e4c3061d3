// The update agent: what `hvupdate` runs. It downloads a package through the
// guest's own network (TUF), verifies it against the guest's trust store,
// hands it to the hypervisor over hvchan, installs the guest's parts, and
// commits both; every step is journaled so an interrupted transaction is
// finished or undone by the next run (Recover).
//
// The order makes "never a mix" hold: the host commits first (its own switch
// is atomic); the guest's extensions switch after it. A transaction whose
// journal says "committing" is settled by asking the host which version it
// committed: if the new one, the guest switch is finished; if not, everything
// staged is dropped.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hvkit/agent/config.h"
#include "hvkit/agent/extensions.h"
#include "hvkit/agent/host_updater.h"
#include "hvkit/agent/journal.h"
#include "hvkit/package/trust_store.h"
#include "hvkit/semver.h"

namespace hvkit::agent {

using Progress = std::function<void(uint64_t done, uint64_t total)>;

// The hypervisor's side (HostUpdater over hvchan; a fake in tests).
class UpdateHost {
  public:
    virtual ~UpdateHost() = default;
    virtual Result<HostVersions> Versions() = 0;
    virtual Result<uint64_t> Send(const std::string& package, const Sha256Digest& package_sha256,
                                  const std::string& manifest, const Progress& progress) = 0;
    virtual Status End(uint64_t session) = 0;
    virtual Status Commit(uint64_t session) = 0;
    virtual Status Abort(uint64_t session) = 0;
    virtual Status Rollback() = 0;
    // The host's update state: its open or last session.
    virtual Result<hvchan_update_status> Report() = 0;
};

// Where packages come from (the TUF repository; a directory in tests).
class PackageSource {
  public:
    virtual ~PackageSource() = default;
    // Brings the trusted view of the repository up to date.
    virtual Status Refresh() = 0;
    // The versions offered, from the last Refresh.
    virtual Result<std::vector<SemVer>> Available() = 0;
    // Downloads (version)'s package to (dest), verified against the
    // repository's metadata; returns the file's SHA-256 as verified, so no
    // later step has to read the file again for it.
    virtual Result<Sha256Digest> Fetch(const SemVer& version, const std::string& dest,
                                       const Progress& progress) = 0;
};

// How the agent tells a person what it does (the CLI prints; tests record).
class Reporter {
  public:
    virtual ~Reporter() = default;
    virtual void Step(std::string_view what) = 0;
    virtual void Progress(std::string_view what, uint64_t done, uint64_t total) = 0;
};

struct CheckResult {
    std::string installed;  // the hypervisor's committed (else running) version
    std::vector<std::string> available;
    std::optional<std::string> newer;  // the newest available above installed
};

struct ApplyResult {
    bool changed = false;
    std::string from, to;
    int64_t transaction = 0;
};

class Agent {
  public:
    Agent(AgentConfig config, PackageTrustStore trust, Journal& journal, ExtensionStore& extensions,
          PackageSource& source, UpdateHost& host, Reporter& reporter);

    // Finishes or undoes the transaction an earlier run left unfinished.
    // Returns what it did ("" when nothing was pending).
    Result<std::string> Recover();
    Result<CheckResult> Check();
    // Applies (version), or the newest available; refuses a version not above
    // what is installed.
    Result<ApplyResult> Apply(std::optional<SemVer> version);
    // Back to the release committed before the current one, host and guest.
    Result<ApplyResult> Rollback();

  private:
    std::string DownloadPath(const SemVer& version) const;
    Status Settle(const Transaction& t);

    AgentConfig config_;
    PackageTrustStore trust_;
    Journal& journal_;
    ExtensionStore& extensions_;
    PackageSource& source_;
    UpdateHost& host_;
    Reporter& reporter_;
};

}  // namespace hvkit::agent
