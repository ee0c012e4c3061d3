// Raw-socket HTTP peers for the network tests: a scripted server that can
// misbehave on purpose (endless bodies, stalls, dropped connections) and a
// client that sends a request exactly as written, so no library normalises the
// path before the server sees it.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace hvkit::testing {

class RawHttpServer;

// One accepted connection, handed to the server's script.
class RawConnection {
  public:
    RawConnection(int fd, const std::atomic<bool>* stopping, RawHttpServer* server)
        : fd_(fd), stopping_(stopping), server_(server) {}

    // Reads a request head (through the blank line); "" if the peer closed or
    // the server is stopping first.
    std::string ReadRequest();

    // Sends all of (data); false once the peer is gone or the server stops.
    bool Send(std::string_view data);

    // Sends (data) forever, for an "endless" body; returns when the peer is
    // gone or the server stops.
    void SendForever(std::string_view data);

    // Holds the connection open and silent until the peer closes it or the
    // server stops.
    void Stall();

    bool stopping() const { return stopping_->load(); }

  private:
    int fd_;
    const std::atomic<bool>* stopping_;
    RawHttpServer* server_;
};

// Listens on 127.0.0.1 (a free port) and runs (script) for each accepted
// connection, one connection at a time, with its index (0 for the first).
// Each request head the script reads is recorded.
class RawHttpServer {
  public:
    using Script = std::function<void(RawConnection& connection, int index)>;

    explicit RawHttpServer(Script script);
    ~RawHttpServer();  // stops scripts in progress and joins
    RawHttpServer(const RawHttpServer&) = delete;
    RawHttpServer& operator=(const RawHttpServer&) = delete;

    uint16_t port() const { return port_; }
    // "http://127.0.0.1:(port)(path)"
    std::string Url(const std::string& path) const;
    // The request heads read so far, in order.
    std::vector<std::string> requests() const;
    int connections() const { return connections_.load(); }

  private:
    friend class RawConnection;
    void Run();
    void Record(const std::string& head);

    Script script_;
    int listen_fd_ = -1;
    uint16_t port_ = 0;
    std::atomic<bool> stopping_{false};
    std::atomic<int> connections_{0};
    mutable std::mutex mu_;
    std::vector<std::string> requests_;
    std::thread thread_;
};

// The value of header (name) in a request or response head, "" if absent
// (name compared case-insensitively).
std::string HeaderValue(const std::string& head, const std::string& name);

struct RawResponse {
    int status = 0;
    std::string head;  // status line and headers
    std::string body;  // everything after the blank line
};

// Connects to 127.0.0.1:(port), sends (request) verbatim and reads until the
// server closes the connection (send "Connection: close").
RawResponse RawExchange(uint16_t port, const std::string& request);

// (size) pseudo-random bytes, the same for the same (seed).
std::string RandomBytes(size_t size, uint32_t seed);

// A minimal response head: status line, the given header lines, blank line.
std::string ResponseHead(const std::string& status_line, const std::vector<std::string>& headers);

}  // namespace hvkit::testing
