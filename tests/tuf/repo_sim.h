// An in-memory TUF repository for client tests, in the manner of
// python-tuf's RepositorySimulator: tests change metadata, keys and
// signatures freely (including maliciously) and the client fetches from it
// through SimFetcher. Only a test double; real repositories come from hvrepo.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "hvkit/crypto.h"
#include "hvkit/net/fetcher.h"
#include "hvkit/tuf/metadata.h"

namespace hvkit::testing {

inline constexpr int64_t kSimNow = 1'900'000'000;  // the reference time tests run at

class RepoSim {
  public:
    RepoSim();

    // Publishes the current root as the next "N.root.json" (call after
    // changing root; signed by (extra_signers) too, e.g. the previous root keys).
    void PublishRoot(const std::vector<PrivateKey>& extra_signers = {});
    // Re-signs and publishes targets, snapshot and timestamp as they are now
    // (versions are the caller's: bump them first for a new release).
    void PublishTargets();
    void PublishSnapshot();
    void PublishTimestamp();
    // Bumps and publishes targets, snapshot and timestamp: a normal release.
    void Release();

    // Adds a target file (published by the next Release()).
    void AddTarget(const std::string& path, const std::string& content);

    // Replaces (role)'s keys with (count) fresh keys and threshold.
    void RotateKeys(const std::string& role, int count = 1, int64_t threshold = 1);

    std::string RootBytes(int64_t version) const {
        return files.at(std::to_string(version) + ".root.json");
    }
    std::string Sign(const Json& body, const std::vector<PrivateKey>& keys) const;

    tuf::RootMeta root;
    tuf::TargetsMeta targets;
    tuf::SnapshotMeta snapshot;
    tuf::TimestampMeta timestamp;
    std::map<std::string, std::vector<PrivateKey>> signers;  // role -> keys that sign it
    std::map<std::string, std::string> files;                // metadata file name -> bytes
    std::map<std::string, std::string> target_files;         // target file name -> bytes
    // Names of delegated roles published by PublishTargets(): name -> meta.
    std::map<std::string, tuf::TargetsMeta> delegated;
};

// Serves RepoSim files under "http://sim/metadata/" and "http://sim/targets/",
// enforcing the caller's size cap as a real fetcher does, and recording what
// was asked.
class SimFetcher final : public Fetcher {
  public:
    explicit SimFetcher(const RepoSim& sim) : sim_(sim) {}

    Result<std::string> Fetch(const std::string& url, const FetchOptions& options) override;
    Status FetchToFile(const std::string& url, const std::string& path,
                       const FetchOptions& options) override;

    std::vector<std::string> requests;
    std::map<std::string, int64_t> caps;  // url -> max_bytes the client passed

  private:
    Result<std::string> Lookup(const std::string& url) const;
    const RepoSim& sim_;
};

}  // namespace hvkit::testing
