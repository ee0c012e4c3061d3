// The private keys of a repository's roles: KEYS/ROLE/KEYID.json, mode 0600
// in directories of mode 0700. Root keys can live elsewhere (offline) and be
// brought in with --keys only for root changes.
#pragma once

#include <string>
#include <vector>

#include "hvkit/crypto.h"
#include "hvkit/status.h"

namespace hvkit::repo {

class KeyStore {
  public:
    explicit KeyStore(std::string dir) : dir_(std::move(dir)) {}

    const std::string& dir() const { return dir_; }
    // Where (role)'s key (keyid) is kept.
    std::string PathOf(const std::string& role, const std::string& keyid) const;
    bool Has(const std::string& role, const std::string& keyid) const;

    // Loads every key of (keyids) present for (role); absent ones are skipped
    // (the caller decides whether enough remain).
    Result<std::vector<PrivateKey>> LoadAvailable(const std::string& role,
                                                  const std::vector<std::string>& keyids) const;

    // Stores (key) as one of (role)'s keys.
    Status Save(const std::string& role, const PrivateKey& key) const;

    // Moves (role)'s key (keyid) to KEYS/retired/, out of use but not lost.
    Status Retire(const std::string& role, const std::string& keyid) const;

  private:
    std::string dir_;
};

}  // namespace hvkit::repo
