// The process that runs the module chains. The runtime forks it for each
// region format it attaches to; a module that crashes takes down only the
// worker, and the runtime starts another (runtime.h). The worker loads
// every chain's modules before it says hello, so a missing module or a
// module refusing its parameters is reported at start, by name.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hvkit/filter_chain_table.h"
#include "hvkit/filter_ring.h"
#include "hvkit/fs.h"
#include "hvkit/status.h"
#include "worker_messages.h"

namespace hvkit::filter_runtime {

struct WorkerOptions {
    // Where NAME.so is looked for, in order (the first that has it wins).
    std::vector<std::string> module_dirs;
    size_t max_item_bytes = 128 * 1024;     // the largest item the ring can carry
    size_t max_changed_bytes = 128 * 1024;  // the largest change the ring can carry back
    std::chrono::milliseconds hello_timeout{10000};
};

class ChainWorker {
  public:
    // Forks a worker for (chains) and waits for its hello. Errors carry the
    // worker's reason ("filter module signature (...): ...", "no module
    // NAME.so in DIR, DIR") or how it ended.
    static Result<std::unique_ptr<ChainWorker>> Start(
        const std::vector<filter_ring::ChainSpec>& chains, const WorkerOptions& options);
    // Kills the worker (SIGKILL) and reaps it.
    ~ChainWorker();
    ChainWorker(const ChainWorker&) = delete;
    ChainWorker& operator=(const ChainWorker&) = delete;

    int fd() const { return socket_.get(); }
    pid_t pid() const { return pid_; }

    // Hands (batch) (at most kMaxBatchItems) to the worker as one message
    // without blocking. kTooLarge: its socket is full, try later; kIo: it is
    // gone.
    Status Send(const std::vector<const filter_ring::FilterRequest*>& batch);
    // The replies to the next answered batch, in order, without blocking;
    // empty when none is waiting. Once the worker is gone (or it sent a
    // malformed message): kIo with how it ended ("killed by signal 11").
    Result<std::vector<WorkReply>> Receive();

  private:
    ChainWorker(pid_t pid, UniqueFd socket, size_t max_message)
        : pid_(pid), socket_(std::move(socket)), buffer_(max_message) {}
    // Waits for the worker to end; -> how it ended.
    std::string Reap();

    pid_t pid_;
    UniqueFd socket_;
    std::vector<uint8_t> buffer_;
    std::string ended_;  // set once reaped
};

// The worker's side: builds the chains, says hello on (fd), answers items
// until the runtime closes the socket. Never returns.
[[noreturn]] void RunChainWorker(int fd, const std::vector<filter_ring::ChainSpec>& chains,
                                 const WorkerOptions& options);

}  // namespace hvkit::filter_runtime
