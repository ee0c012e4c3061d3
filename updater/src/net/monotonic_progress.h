// Forwards download progress to the caller's callback so that (done) never
// goes down, even when a download starts over (a server ignored Range, Fetch
// retried from the start): the report then holds still until the new transfer
// passes the old mark.
#pragma once

#include <algorithm>
#include <cstdint>
#include <exception>
#include <string>

#include "hvkit/net/fetcher.h"

namespace hvkit::net {

class MonotonicProgress {
  public:
    MonotonicProgress(ProgressCallback callback, std::string url)
        : callback_(std::move(callback)), url_(std::move(url)) {}

    // Reports (done) of (total) bytes (-1: unknown). An exception from the
    // callback becomes an error that stops the download.
    Status Report(int64_t done, int64_t total) {
        if (!callback_) return Status::Ok();
        done = std::max(done, high_);
        if (done == high_ && total == last_total_) return Status::Ok();
        high_ = done;
        last_total_ = total;
        try {
            callback_(done, total);
        } catch (const std::exception& e) {
            return Error(ErrorCode::kInvalidArgument,
                         "progress callback for " + url_ + " threw: " + e.what());
        } catch (...) {
            return Error(ErrorCode::kInvalidArgument, "progress callback for " + url_ + " threw");
        }
        return Status::Ok();
    }

  private:
    ProgressCallback callback_;
    std::string url_;
    int64_t high_ = -1;
    int64_t last_total_ = -2;
};

}  // namespace hvkit::net
