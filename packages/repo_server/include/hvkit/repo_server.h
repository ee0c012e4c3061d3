// The development repository server behind `hvrepo serve`: serves the files of
// a repository directory over HTTP (GET and HEAD, single byte ranges), so the
// agent's HttpFetcher can be tried against a real server. Production serves
// the same files statically from any web server or CDN; nothing here is needed
// there. See docs/http.md.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "hvkit/status.h"

namespace hvkit {

// One answered request, for logging.
struct RepoRequestLog {
    std::string remote;  // client address
    std::string method;  // "GET", "HEAD", ...
    std::string target;  // request target as sent (path and query, still percent-encoded)
    std::string range;   // the Range header, empty when there was none
    int status = 0;      // status of the answer
    int64_t bytes = 0;   // body bytes of the answer (0 for HEAD)
};

struct RepoServerOptions {
    // The directory served: "GET /targets/a.json" answers (root)/targets/a.json.
    // Nothing outside it is ever served, also not through symlinks.
    std::string root;
    // When not empty, only files inside these top-level directories of (root)
    // are served (e.g. {"metadata", "targets"}, so a repository's private keys
    // beside them can never be fetched); everything else is 404.
    std::vector<std::string> served_directories;
    // IPv4 address or host name to listen on (cpprestsdk's listener cannot
    // parse IPv6 literals). "0.0.0.0" listens on every interface.
    std::string bind_address = "127.0.0.1";
    // 0 picks a free port.
    uint16_t port = 0;
    // Called once per request when its answer is chosen, on a server thread;
    // calls never overlap. May be empty.
    std::function<void(const RepoRequestLog&)> request_log;
};

class RepoServer {
  public:
    // Starts serving (options.root) on (options.bind_address):(options.port).
    // kInvalidArgument for a root that is not a directory or an IPv6 address,
    // kConflict when the port is taken (or another RepoServer of this process
    // has it), kIo when listening fails otherwise.
    static Result<std::unique_ptr<RepoServer>> Start(const RepoServerOptions& options);

    // Stops the server (see Stop).
    ~RepoServer();
    RepoServer(const RepoServer&) = delete;
    RepoServer& operator=(const RepoServer&) = delete;

    // The port listened on (the one picked when options.port was 0).
    uint16_t port() const;

    // "http://(address):(port)" without a trailing slash; for a server bound to
    // 0.0.0.0 the address is 127.0.0.1.
    std::string base_url() const;

    // Stops answering and waits for requests in progress to end. cpprestsdk
    // closes the listening socket when the last listener of the process closes,
    // so while other RepoServers run, this port keeps accepting and answers
    // 404. Safe to call more than once.
    void Stop();

  private:
    struct Impl;
    explicit RepoServer(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace hvkit
