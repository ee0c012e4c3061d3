// Downloads, behind an interface so the TUF client and the agent can be tested
// against a fake network and run against real HTTP (HttpFetcher).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "hvkit/status.h"

namespace hvkit {

// Called as bytes arrive: (done) bytes so far, (total) expected or -1 if unknown.
using ProgressCallback = std::function<void(int64_t done, int64_t total)>;

struct FetchOptions {
    // Hard cap: a response that would exceed it is cut off with kTooLarge
    // ("endless data" defence). Always set by the caller.
    int64_t max_bytes = 0;
    // Gives up when no byte arrives for this long.
    std::chrono::milliseconds idle_timeout{30000};
    // Reconnection attempts after a dropped connection (file downloads resume
    // with a Range request from the bytes already on disk).
    int retries = 3;
    ProgressCallback progress;
};

class Fetcher {
  public:
    virtual ~Fetcher() = default;

    // The body of (url), at most (options.max_bytes) bytes. kNotFound for a
    // 404/403/410 so callers can tell "absent" from "failed".
    virtual Result<std::string> Fetch(const std::string& url, const FetchOptions& options) = 0;

    // Downloads (url) into (path). If (path) already holds a prefix (an
    // interrupted download), continues from its end with a Range request.
    // The file is left in place on failure so a later call can resume it.
    virtual Status FetchToFile(const std::string& url, const std::string& path,
                               const FetchOptions& options) = 0;
};

// HTTP/HTTPS through cpprestsdk.
std::unique_ptr<Fetcher> MakeHttpFetcher();

}  // namespace hvkit
