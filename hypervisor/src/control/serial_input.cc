// Host input to the guest's serial port: a thread that copies a file
// descriptor (stdin) into the UART without dropping bytes, and the terminal's
// raw mode while it does.
#include <poll.h>
#include <sys/eventfd.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "control/control.h"

namespace hvkit::hvmm {

namespace {

// How often held-back input is offered again while the UART's FIFO is full:
// the guest does not tell when it reads, so this is a poll.
constexpr int kRetryMs = 5;

}  // namespace

TerminalRawMode::TerminalRawMode(int fd) : fd_(fd) {
    termios saved{};
    if (!isatty(fd) || tcgetattr(fd, &saved) != 0) return;
    termios raw = saved;
    raw.c_iflag &=
        ~static_cast<tcflag_t>(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
    raw.c_lflag &= ~static_cast<tcflag_t>(ECHO | ECHONL | ICANON | IEXTEN);
    raw.c_cc[VMIN] = 1;
    raw.c_cc[VTIME] = 0;
    if (tcsetattr(fd, TCSANOW, &raw) != 0) return;
    saved_.resize(sizeof saved);
    memcpy(saved_.data(), &saved, sizeof saved);
    active_ = true;
}

TerminalRawMode::~TerminalRawMode() {
    if (!active_) return;
    termios saved{};
    memcpy(&saved, saved_.data(), sizeof saved);
    tcsetattr(fd_, TCSANOW, &saved);
}

bool CanReadWithoutStopping(int fd) {
    if (!isatty(fd)) return true;
    return tcgetpgrp(fd) == getpgrp();
}

SerialInputPump::SerialInputPump(int fd, Serial8250& serial, int stop_fd)
    : fd_(fd), serial_(serial), stop_fd_(stop_fd), wake_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
    thread_ = StartHostThread([this] { Pump(); });
}

SerialInputPump::~SerialInputPump() {
    uint64_t one = 1;
    [[maybe_unused]] ssize_t n = write(wake_.get(), &one, sizeof one);
    thread_.join();
}

void SerialInputPump::Pump() {
    std::string held;  // read from (fd) but not yet taken by the UART
    while (true) {
        bool want_input = !finished_.load() && held.empty();
        pollfd fds[3] = {
            {wake_.get(), POLLIN, 0}, {stop_fd_, POLLIN, 0}, {want_input ? fd_ : -1, POLLIN, 0}};
        int timeout = held.empty() ? -1 : kRetryMs;
        if (!want_input && held.empty()) timeout = -1;  // EOF: wait only for the end
        int rc = poll(fds, 3, timeout);
        if (rc < 0 && errno != EINTR) return;
        if ((fds[0].revents & POLLIN) || (stop_fd_ >= 0 && (fds[1].revents & POLLIN))) return;
        if (want_input && (fds[2].revents & (POLLIN | POLLHUP | POLLERR))) {
            char buf[256];
            ssize_t n = read(fd_, buf, sizeof buf);
            if (n > 0) {
                held.assign(buf, static_cast<size_t>(n));
            } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
                finished_.store(true);  // EOF or a dead input: the VM runs on without it
            }
        }
        if (!held.empty()) {
            size_t taken = serial_.OfferInput(std::span<const uint8_t>(
                reinterpret_cast<const uint8_t*>(held.data()), held.size()));
            held.erase(0, taken);
        }
    }
}

}  // namespace hvkit::hvmm
