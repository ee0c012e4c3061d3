// `hvfilterd stats`: the running daemon answers each connection to its
// stats socket with one JSON document and closes it; the client reads to
// the end. The daemon's side never blocks its event loop.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "hvkit/fs.h"
#include "hvkit/status.h"

namespace hvkit::filterd {

class StatsSocket {
  public:
    // Listens on (path), a Unix stream socket made mode 0600. A stale socket
    // file (nobody accepts on it) is replaced; a live one is refused, naming
    // the path: another hvfilterd serves it.
    static Result<std::unique_ptr<StatsSocket>> Listen(const std::string& path);

    // Closes the socket and removes its file.
    ~StatsSocket();
    StatsSocket(const StatsSocket&) = delete;
    StatsSocket& operator=(const StatsSocket&) = delete;

    // The listening socket to poll for POLLIN; non-blocking.
    int fd() const { return fd_.get(); }

    // Accepts every waiting client, sends each (document) without waiting
    // and closes it. A document larger than the socket buffer is cut short;
    // the stats are a few kilobytes.
    void Serve(const std::string& document);

  private:
    StatsSocket(UniqueFd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {}
    UniqueFd fd_;
    std::string path_;
};

// Connects to the stats socket at (path) and reads the document, waiting at
// most (timeout). Errors name the socket.
Result<std::string> FetchStats(const std::string& path,
                               std::chrono::milliseconds timeout = std::chrono::seconds(5));

}  // namespace hvkit::filterd
