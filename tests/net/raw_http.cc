#include "raw_http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <random>

namespace hvkit::testing {

namespace {

constexpr int kPollMs = 20;

// Waits for (events) on (fd); false when the server is stopping.
bool WaitFor(int fd, short events, const std::atomic<bool>* stopping, short* revents) {
    while (!stopping->load()) {
        pollfd p{fd, events, 0};
        int rc = poll(&p, 1, kPollMs);
        if (rc < 0 && errno != EINTR) return false;
        if (rc > 0) {
            *revents = p.revents;
            return true;
        }
    }
    return false;
}

std::string Lower(std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

}  // namespace

std::string RawConnection::ReadRequest() {
    std::string head;
    char c;
    while (head.size() < 65536) {
        short revents = 0;
        if (!WaitFor(fd_, POLLIN, stopping_, &revents)) return "";
        ssize_t n = recv(fd_, &c, 1, 0);
        if (n <= 0) return "";
        head.push_back(c);
        if (head.size() >= 4 && head.compare(head.size() - 4, 4, "\r\n\r\n") == 0) break;
    }
    server_->Record(head);
    return head;
}

bool RawConnection::Send(std::string_view data) {
    while (!data.empty()) {
        short revents = 0;
        if (!WaitFor(fd_, POLLOUT, stopping_, &revents)) return false;
        if (revents & (POLLERR | POLLHUP)) return false;
        ssize_t n = send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN) continue;
            return false;
        }
        data.remove_prefix(static_cast<size_t>(n));
    }
    return true;
}

void RawConnection::SendForever(std::string_view data) {
    while (Send(data)) {
    }
}

void RawConnection::Stall() {
    char buf[4096];
    for (;;) {
        short revents = 0;
        if (!WaitFor(fd_, POLLIN, stopping_, &revents)) return;
        ssize_t n = recv(fd_, buf, sizeof buf, 0);
        if (n <= 0) return;  // the peer closed (or reset) the connection
    }
}

RawHttpServer::RawHttpServer(Script script) : script_(std::move(script)) {
    listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    if (listen_fd_ < 0 || bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        listen(listen_fd_, 16) != 0 ||
        getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        ADD_FAILURE() << "raw test server: cannot listen: " << strerror(errno);
        abort();
    }
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Run(); });
}

RawHttpServer::~RawHttpServer() {
    stopping_ = true;
    thread_.join();
    close(listen_fd_);
}

std::string RawHttpServer::Url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
}

std::vector<std::string> RawHttpServer::requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
}

void RawHttpServer::Record(const std::string& head) {
    std::lock_guard<std::mutex> lock(mu_);
    requests_.push_back(head);
}

void RawHttpServer::Run() {
    while (!stopping_) {
        short revents = 0;
        if (!WaitFor(listen_fd_, POLLIN, &stopping_, &revents)) return;
        int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) continue;
        int index = connections_++;
        RawConnection connection(fd, &stopping_, this);
        script_(connection, index);
        shutdown(fd, SHUT_RDWR);
        close(fd);
    }
}

std::string HeaderValue(const std::string& head, const std::string& name) {
    std::string wanted = Lower(name) + ":";
    size_t pos = 0;
    while (pos < head.size()) {
        size_t end = head.find("\r\n", pos);
        if (end == std::string::npos) end = head.size();
        std::string line = head.substr(pos, end - pos);
        if (Lower(line.substr(0, wanted.size())) == wanted) {
            std::string value = line.substr(wanted.size());
            while (!value.empty() && value.front() == ' ') value.erase(0, 1);
            while (!value.empty() && value.back() == ' ') value.pop_back();
            return value;
        }
        pos = end + 2;
    }
    return "";
}

RawResponse RawExchange(uint16_t port, const std::string& request) {
    RawResponse out;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        ADD_FAILURE() << "raw test client: cannot connect to port " << port;
        if (fd >= 0) close(fd);
        return out;
    }
    std::string_view rest = request;
    while (!rest.empty()) {
        ssize_t n = send(fd, rest.data(), rest.size(), MSG_NOSIGNAL);
        if (n <= 0) break;
        rest.remove_prefix(static_cast<size_t>(n));
    }
    std::string all;
    char buf[65536];
    for (;;) {
        pollfd p{fd, POLLIN, 0};
        if (poll(&p, 1, 10000) <= 0) {
            ADD_FAILURE() << "raw test client: no answer within 10 s";
            break;
        }
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        all.append(buf, static_cast<size_t>(n));
    }
    close(fd);
    size_t blank = all.find("\r\n\r\n");
    if (blank == std::string::npos) {
        out.head = all;
        return out;
    }
    out.head = all.substr(0, blank + 2);
    out.body = all.substr(blank + 4);
    if (out.head.rfind("HTTP/1.", 0) == 0 && out.head.size() > 12) {
        out.status = std::atoi(out.head.c_str() + 9);
    }
    return out;
}

std::string RandomBytes(size_t size, uint32_t seed) {
    std::mt19937 gen(seed);
    std::string out(size, '\0');
    for (auto& c : out) c = static_cast<char>(gen() & 0xff);
    return out;
}

std::string ResponseHead(const std::string& status_line, const std::vector<std::string>& headers) {
    std::string head = status_line + "\r\n";
    for (const auto& h : headers) head += h + "\r\n";
    return head + "\r\n";
}

}  // namespace hvkit::testing
