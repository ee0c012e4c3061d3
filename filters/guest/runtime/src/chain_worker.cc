// The chain worker: forked by the runtime, talking over a SOCK_SEQPACKET pair.
#include "chain_worker.h"

#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "hvkit/filter_chain.h"
#include "hvkit/filter_runtime/chain_builder.h"

namespace hvkit::filter_runtime {

namespace {

namespace ring = filter_ring;

constexpr char kReady[] = "ready";
constexpr char kErrorPrefix[] = "error: ";
constexpr int kMinSocketBuffer = 4 << 20;

// Room for a few messages in flight each way; SO_SNDBUFFORCE as root lifts
// the net.core limits, plain SO_SNDBUF is the fallback.
void SizeBuffers(int fd, size_t max_message) {
    int bytes = std::max<int>(kMinSocketBuffer, static_cast<int>(4 * max_message));
    if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &bytes, sizeof bytes) != 0) {
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof bytes);
    }
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof bytes) != 0) {
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
    }
}

std::string DescribeExit(int status) {
    if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
    if (WIFSIGNALED(status)) {
        return "killed by signal " + std::to_string(WTERMSIG(status)) + " (" +
               strsignal(WTERMSIG(status)) + ")";
    }
    return "ended (wait status " + std::to_string(status) + ")";
}

// --- the worker's side ---

Result<std::vector<filters::Chain>> BuildChains(const std::vector<ring::ChainSpec>& specs,
                                                const WorkerOptions& options) {
    filters::ChainLimits limits;
    limits.max_changed_bytes = std::max(options.max_changed_bytes, options.max_item_bytes);
    std::vector<filters::Chain> chains;
    for (const ring::ChainSpec& spec : specs) {
        HVKIT_ASSIGN_OR_RETURN(filters::Chain chain, BuildChain(spec, options.module_dirs, limits));
        chains.push_back(std::move(chain));
    }
    return chains;
}

void SendBlocking(int fd, const std::vector<uint8_t>& message) {
    for (;;) {
        Status sent = SendMessage(fd, message);
        if (sent.ok()) return;
        if (sent.code() != ErrorCode::kTooLarge) _exit(0);  // the runtime is gone
        pollfd p{fd, POLLOUT, 0};
        poll(&p, 1, -1);
    }
}

void AddText(MessageBuilder& replies, WorkVerdictHeader header, const std::string& text) {
    header.length = static_cast<uint32_t>(text.size());
    replies.Add(&header, sizeof header, reinterpret_cast<const uint8_t*>(text.data()), text.size());
}

void Answer(std::vector<filters::Chain>& chains, const WorkItemHeader& item,
            std::span<const uint8_t> bytes, MessageBuilder& replies) {
    WorkVerdictHeader header{item.item_id, static_cast<uint16_t>(WorkOutcome::kUndecided),
                             HVFILTER_MODULE_NONE, 0};
    if (item.chain >= chains.size()) {
        AddText(replies, header, "no chain " + std::to_string(item.chain) + " in the chain table");
        return;
    }
    filters::FilterItem input;
    input.source = item.source == HVFILTER_SOURCE_FILE ? HVFILTER_ITEM_FILE : HVFILTER_ITEM_NETWORK;
    input.bytes = bytes;
    Result<filters::FilterOutcome> outcome = chains[item.chain].Run(input);
    if (!outcome.ok()) {
        AddText(replies, header, outcome.status().message());
        return;
    }
    switch (outcome->verdict) {
        case filters::FilterVerdict::kPass:
            header.outcome = static_cast<uint16_t>(WorkOutcome::kPass);
            break;
        case filters::FilterVerdict::kDrop:
            header.outcome = static_cast<uint16_t>(WorkOutcome::kDrop);
            header.module = static_cast<uint16_t>(outcome->dropped_at);
            break;
        case filters::FilterVerdict::kChanged:
            header.outcome = static_cast<uint16_t>(WorkOutcome::kChanged);
            header.length = static_cast<uint32_t>(outcome->changed.size());
            break;
    }
    replies.Add(&header, sizeof header, outcome->changed.data(), header.length);
}

}  // namespace

[[noreturn]] void RunChainWorker(int fd, const std::vector<ring::ChainSpec>& specs,
                                 const WorkerOptions& options) {
    Result<std::vector<filters::Chain>> chains = BuildChains(specs, options);
    const std::string hello =
        chains.ok() ? std::string(kReady) : kErrorPrefix + chains.status().message();
    if (send(fd, hello.data(), hello.size(), MSG_NOSIGNAL) < 0 || !chains.ok()) _exit(1);
    std::vector<uint8_t> buffer(
        MaxMessageBytes(std::max(options.max_item_bytes, options.max_changed_bytes)));
    for (;;) {
        ssize_t n = recv(fd, buffer.data(), buffer.size(), 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) _exit(0);  // the runtime closed the socket
        MessageBuilder replies;
        Status walked = ForEachRecord<WorkItemHeader>(
            std::span<const uint8_t>(buffer.data(), static_cast<size_t>(n)),
            [&](const WorkItemHeader& item, std::span<const uint8_t> bytes) {
                Answer(*chains, item, bytes, replies);
            });
        if (!walked.ok()) _exit(2);
        SendBlocking(fd, replies.Finish());
    }
}

// --- the runtime's side ---

Result<std::unique_ptr<ChainWorker>> ChainWorker::Start(const std::vector<ring::ChainSpec>& chains,
                                                        const WorkerOptions& options) {
    int pair[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0) {
        return Error(ErrorCode::kIo, std::string("chain worker: socketpair: ") + strerror(errno));
    }
    UniqueFd ours(pair[0]);
    UniqueFd theirs(pair[1]);
    const size_t max_message =
        MaxMessageBytes(std::max(options.max_item_bytes, options.max_changed_bytes));
    SizeBuffers(ours.get(), max_message);
    SizeBuffers(theirs.get(), max_message);
    const pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0)
        return Error(ErrorCode::kIo, std::string("chain worker: fork: ") + strerror(errno));
    if (pid == 0) {
        // The worker ends with the runtime, whatever kills it.
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(1);
        signal(SIGTERM, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        ours = UniqueFd();
        RunChainWorker(theirs.get(), chains, options);
    }
    theirs = UniqueFd();
    std::unique_ptr<ChainWorker> worker(new ChainWorker(pid, std::move(ours), max_message));
    pollfd p{worker->fd(), POLLIN, 0};
    int ready = poll(&p, 1, static_cast<int>(options.hello_timeout.count()));
    if (ready <= 0) {
        return Error(ErrorCode::kIo, "chain worker " + std::to_string(pid) + ": no hello within " +
                                         std::to_string(options.hello_timeout.count()) + " ms");
    }
    char hello[4096];
    ssize_t n = recv(worker->fd(), hello, sizeof hello, 0);
    if (n <= 0) {
        return Error(ErrorCode::kIo, "chain worker " + std::to_string(pid) +
                                         " ended before its hello: " + worker->Reap());
    }
    std::string text(hello, static_cast<size_t>(n));
    if (text != kReady) {
        if (text.rfind(kErrorPrefix, 0) == 0) text = text.substr(sizeof kErrorPrefix - 1);
        return Error(ErrorCode::kRefused, "chain worker: " + text);
    }
    return worker;
}

ChainWorker::~ChainWorker() {
    if (ended_.empty()) {
        kill(pid_, SIGKILL);
        Reap();
    }
}

std::string ChainWorker::Reap() {
    if (!ended_.empty()) return ended_;
    int status = 0;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    ended_ = DescribeExit(status);
    return ended_;
}

Status ChainWorker::Send(const std::vector<const ring::FilterRequest*>& batch) {
    MessageBuilder message;
    for (const ring::FilterRequest* request : batch) {
        WorkItemHeader header{request->item_id, request->chain,
                              static_cast<uint16_t>(request->source),
                              static_cast<uint32_t>(request->bytes.size())};
        message.Add(&header, sizeof header, request->bytes.data(), request->bytes.size());
    }
    return SendMessage(fd(), message.Finish());
}

Result<std::vector<WorkReply>> ChainWorker::Receive() {
    std::vector<WorkReply> replies;
    ssize_t n = recv(fd(), buffer_.data(), buffer_.size(), MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return replies;
    Status walked = n <= 0
                        ? Error(ErrorCode::kIo, "closed")
                        : ForEachRecord<WorkVerdictHeader>(
                              std::span<const uint8_t>(buffer_.data(), static_cast<size_t>(n)),
                              [&](const WorkVerdictHeader& header, std::span<const uint8_t> bytes) {
                                  WorkReply reply;
                                  reply.item_id = header.item_id;
                                  reply.outcome = static_cast<WorkOutcome>(header.outcome);
                                  reply.module = header.module;
                                  reply.bytes.assign(bytes.begin(), bytes.end());
                                  replies.push_back(std::move(reply));
                              });
    if (!walked.ok()) {
        kill(pid_, SIGKILL);  // a malformed message is a broken worker too
        return Error(ErrorCode::kIo, "chain worker " + std::to_string(pid_) + " " + Reap());
    }
    return replies;
}

}  // namespace hvkit::filter_runtime
