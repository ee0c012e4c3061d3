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

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hvkit/agent/config.h"
#include "hvkit/agent/extensions.h"
#include "hvkit/agent/host_updater.h"
#include "hvkit/agent/journal.h"
#include "hvkit/agent/update_host.h"
#include "hvkit/agent/update_step.h"
#include "hvkit/package/trust_store.h"
#include "hvkit/semver.h"

namespace hvkit::agent {

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
