// A Fetcher that serves URLs below a prefix from a directory, so hvkit's TUF
// client can read a repository straight from disk in tests.
#pragma once

#include <map>
#include <string>

#include "hvkit/net/fetcher.h"

namespace hvkit::testing {

class DirectoryFetcher : public Fetcher {
  public:
    // Serves "(url_prefix)PATH" from "(dir)/PATH".
    void Map(const std::string& url_prefix, const std::string& dir) { mounts_[url_prefix] = dir; }

    // kNotFound for unmapped URLs and missing files; kTooLarge past max_bytes.
    Result<std::string> Fetch(const std::string& url, const FetchOptions& options) override;
    // Writes the whole file to (path) (no resume needed for local files).
    Status FetchToFile(const std::string& url, const std::string& path,
                       const FetchOptions& options) override;

    int fetches() const { return fetches_; }

  private:
    std::map<std::string, std::string> mounts_;
    int fetches_ = 0;
};

}  // namespace hvkit::testing
