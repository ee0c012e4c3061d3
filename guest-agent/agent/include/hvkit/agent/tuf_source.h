// Packages from the TUF repository the agent's configuration names: targets
// "<package_name>-<version>.hvpkg", metadata trusted from the configured root
// and kept in STATE_DIR/tuf.sqlite, downloads over HTTP through the guest's
// own network.
#pragma once

#include <memory>

#include "hvkit/agent/agent.h"
#include "hvkit/net/fetcher.h"
#include "hvkit/tuf/client.h"
#include "hvkit/tuf/trusted_store.h"

namespace hvkit::agent {

class TufPackageSource final : public PackageSource {
  public:
    // Opens the trusted store, trusting (config.root_path) on first use.
    static Result<std::unique_ptr<TufPackageSource>> Open(const AgentConfig& config);

    Status Refresh() override;
    Result<std::vector<SemVer>> Available() override;
    Result<Sha256Digest> Fetch(const SemVer& version, const std::string& dest,
                               const Progress& progress) override;

  private:
    TufPackageSource() = default;
    std::string TargetName(const SemVer& version) const;
    AgentConfig config_;
    std::unique_ptr<Fetcher> fetcher_;
    std::unique_ptr<tuf::TrustedStore> store_;
    std::unique_ptr<tuf::Client> client_;
    bool refreshed_ = false;
};

}  // namespace hvkit::agent
