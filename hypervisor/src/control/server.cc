// The control server's thread: one poll() over the listening socket, the
// clients, the VM's stop eventfd and the server's own wake eventfd.
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <deque>

#include "control/control.h"
#include "hvkit/peer.h"

namespace hvkit::hvmm {

namespace {

// A client that leaves this much unread output is dropped.
constexpr size_t kMaxClientOutput = 1 << 20;
constexpr size_t kReadChunk = 4096;
constexpr size_t kMaxReplyFds = 3;  // filter-attach's
// The fds hvmm holds for one client's unsent answers: a client that asks
// for filter-attach again and again without reading could otherwise make
// hvmm hold thousands of fds (up to kMaxClientOutput of answers).
constexpr size_t kMaxClientPendingFds = 4 * kMaxReplyFds;

// A response waiting to be sent, and the fds that go with its first byte.
struct Pending {
    std::string bytes;
    std::vector<UniqueFd> fds;
};

struct Client {
    UniqueFd fd;
    ControlLineBuffer lines;
    std::deque<Pending> out;
    size_t out_bytes = 0;
    size_t out_fds = 0;  // fds in (out), not yet sent
    bool closed = false;
};

// Sends (bytes) on (fd) without blocking, with (fds) as SCM_RIGHTS when any.
ssize_t SendWithFds(int fd, const std::string& bytes, const std::vector<UniqueFd>& fds) {
    iovec iov{const_cast<char*>(bytes.data()), bytes.size()};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxReplyFds)];
    if (!fds.empty()) {
        msg.msg_control = control;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
        cmsghdr* c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
        int* out = reinterpret_cast<int*>(CMSG_DATA(c));
        for (size_t i = 0; i < fds.size(); ++i) out[i] = fds[i].get();
    }
    return sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
}

// Sends what (c) has pending without blocking; drops it on a write error.
// A response's fds travel with the first of its bytes that is sent.
void Flush(Client& c) {
    while (!c.out.empty()) {
        Pending& p = c.out.front();
        ssize_t n = SendWithFds(c.fd.get(), p.bytes, p.fds);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        if (n <= 0) {
            c.closed = true;  // the peer is gone
            return;
        }
        c.out_fds -= p.fds.size();
        p.fds.clear();  // delivered with these bytes; ours are closed
        p.bytes.erase(0, static_cast<size_t>(n));
        c.out_bytes -= static_cast<size_t>(n);
        if (p.bytes.empty()) c.out.pop_front();
    }
    if (c.out_bytes > kMaxClientOutput) c.closed = true;  // it does not read its answers
}

void Queue(Client& c, ControlReply reply) {
    if (c.out_fds + reply.fds.size() > kMaxClientPendingFds) {
        reply = ControlReply{
            ControlErrorResponse(std::to_string(c.out_fds) +
                                 " fds already wait for this client to read its answers (at most " +
                                 std::to_string(kMaxClientPendingFds) +
                                 "); read them before asking for more"),
            {}};  // the fds it would have carried are closed here
    }
    c.out_fds += reply.fds.size();
    reply.line += '\n';
    c.out_bytes += reply.line.size();
    c.out.push_back(Pending{std::move(reply.line), std::move(reply.fds)});
}

// Reads one chunk from (c) and answers every line it completes.
void ReadAndAnswer(Client& c, ControlTarget& target) {
    char buf[kReadChunk];
    ssize_t n = recv(c.fd.get(), buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) return;
    if (n <= 0) {
        // EOF (an unfinished line is dropped) or an error: answer what is
        // pending if the peer still reads, then let it go.
        Flush(c);
        c.closed = true;
        return;
    }
    for (auto& line : c.lines.Feed(std::string_view(buf, static_cast<size_t>(n)))) {
        if (line.too_long) {
            Queue(c, ControlReply{ControlErrorResponse("request line is longer than " +
                                                       std::to_string(kMaxControlLine) +
                                                       " bytes; it was skipped up to its newline"),
                                  {}});
        } else {
            Queue(c, HandleControlRequest(line.text, target));
        }
    }
    Flush(c);
}

}  // namespace

std::thread StartHostThread(std::function<void()> body) {
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);  // the new thread inherits this mask
    std::thread t(std::move(body));
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    return t;
}

Result<std::unique_ptr<ControlServer>> ControlServer::Start(const std::string& path,
                                                            ControlTarget& target, int stop_fd) {
    HVKIT_ASSIGN_OR_RETURN(ControlSocket socket, ListenControlSocket(path));
    return Launch(
        std::unique_ptr<ControlServer>(new ControlServer(std::move(socket), target, stop_fd)));
}

Result<std::unique_ptr<ControlServer>> ControlServer::Adopt(ControlSocket socket,
                                                            std::vector<UniqueFd> clients,
                                                            ControlTarget& target, int stop_fd) {
    std::unique_ptr<ControlServer> server(new ControlServer(std::move(socket), target, stop_fd));
    server->clients_ = std::move(clients);
    return Launch(std::move(server));
}

Result<std::unique_ptr<ControlServer>> ControlServer::Launch(
    std::unique_ptr<ControlServer> server) {
    server->wake_ = UniqueFd(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!server->wake_.valid()) {
        return Error(ErrorCode::kIo, "control socket " + server->socket_.path + ": eventfd failed");
    }
    server->thread_ = StartHostThread([s = server.get()] { s->Serve(); });
    return server;
}

ControlServer::Released ControlServer::Release() {
    releasing_ = true;
    uint64_t one = 1;
    [[maybe_unused]] ssize_t n = write(wake_.get(), &one, sizeof one);
    if (thread_.joinable()) thread_.join();
    // socket_.fd is empty now: the destructor removes no file.
    return Released{std::move(socket_), std::move(clients_)};
}

ControlServer::ControlServer(ControlSocket socket, ControlTarget& target, int stop_fd)
    : socket_(std::move(socket)), target_(target), stop_fd_(stop_fd) {}

ControlServer::~ControlServer() {
    uint64_t one = 1;
    [[maybe_unused]] ssize_t n = write(wake_.get(), &one, sizeof one);
    if (thread_.joinable()) thread_.join();
    CloseControlSocket(socket_);
}

void ControlServer::Serve() {
    std::vector<Client> clients;
    for (UniqueFd& fd : clients_) {
        clients.push_back(
            Client{.fd = std::move(fd), .lines = {}, .out = {}, .out_bytes = 0, .out_fds = 0});
    }
    clients_.clear();
    // Release(): the clients go on to the next owner, their queued answers
    // flushed as far as they read them.
    auto hand_back = [&] {
        if (!releasing_) return;
        for (Client& c : clients) {
            Flush(c);
            if (!c.closed) clients_.push_back(std::move(c.fd));
        }
    };
    std::vector<pollfd> fds;
    while (true) {
        fds.clear();
        fds.push_back({wake_.get(), POLLIN, 0});
        fds.push_back({stop_fd_, POLLIN, 0});  // poll() skips a negative fd
        fds.push_back({socket_.fd.get(), POLLIN, 0});
        for (const auto& c : clients) {
            fds.push_back(
                {c.fd.get(), static_cast<short>(POLLIN | (c.out.empty() ? 0 : POLLOUT)), 0});
        }
        if (poll(fds.data(), fds.size(), -1) < 0) {
            if (errno == EINTR) continue;
            return;  // cannot happen with valid fds; the VM runs on without control
        }
        if ((fds[0].revents & POLLIN) || (stop_fd_ >= 0 && (fds[1].revents & POLLIN))) {
            hand_back();
            return;
        }
        for (size_t i = 0; i < clients.size(); ++i) {
            short ev = fds[3 + i].revents;
            Client& c = clients[i];
            if (ev & POLLOUT) Flush(c);
            if (!c.closed && (ev & (POLLIN | POLLHUP | POLLERR))) ReadAndAnswer(c, target_);
            // A shutdown request ends the loop at the next poll; its answer
            // was sent (or queued) above.
        }
        std::erase_if(clients, [](const Client& c) { return c.closed; });
        if (fds[2].revents & POLLIN) {
            while (true) {
                UniqueFd fd(
                    accept4(socket_.fd.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
                if (!fd.valid()) break;  // EAGAIN, or a client that gave up
                if (Status peer = CheckPeerIsOwnUserOrRoot(fd.get()); !peer.ok()) {
                    std::string refusal = ControlErrorResponse("refused: " + peer.message()) + "\n";
                    [[maybe_unused]] ssize_t n =
                        send(fd.get(), refusal.data(), refusal.size(), MSG_NOSIGNAL);
                    continue;  // closed here
                }
                if (clients.size() >= kMaxControlClients) {
                    std::string refusal =
                        ControlErrorResponse("too many control clients (at most " +
                                             std::to_string(kMaxControlClients) +
                                             "); try again later") +
                        "\n";
                    [[maybe_unused]] ssize_t n =
                        send(fd.get(), refusal.data(), refusal.size(), MSG_NOSIGNAL);
                    continue;  // closed here
                }
                clients.push_back(Client{
                    .fd = std::move(fd), .lines = {}, .out = {}, .out_bytes = 0, .out_fds = 0});
            }
        }
    }
}

}  // namespace hvkit::hvmm
