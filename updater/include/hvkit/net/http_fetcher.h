// The real-network Fetcher: HTTP and HTTPS through cpprestsdk, with hvkit's
// rules on top (size caps, idle timeout, resume, retries). See docs/http.md.
// No cpprestsdk type appears here; the library is confined to hvnet's sources.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "hvkit/net/fetcher.h"

namespace hvkit {

// Settings that hold for every request of one HttpFetcher.
struct HttpFetcherConfig {
    // Bytes read from the network per step. cpprestsdk restarts its idle timer
    // after each whole step, so a link must deliver this much within
    // FetchOptions::idle_timeout; a dropped connection also loses at most the
    // one partial step (FetchToFile fetches it again when it resumes).
    size_t read_chunk_bytes = 16 * 1024;
    // Pause before the first reconnection; it doubles for each further one,
    // up to 5 seconds.
    std::chrono::milliseconds retry_backoff{250};
    // Redirects (301, 302, 303, 307, 308) followed per request. A redirect
    // from https to http is refused.
    int max_redirects = 5;
    std::string user_agent = "hvkit-updater/0.1";
};

// An HttpFetcher with the settings in (config). MakeHttpFetcher() in fetcher.h
// is this with the defaults. The fetcher is safe to use from several threads.
std::unique_ptr<Fetcher> MakeHttpFetcher(const HttpFetcherConfig& config);

}  // namespace hvkit
