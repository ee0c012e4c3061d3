// Starting the successor hvmm with its end of the handover socket as fd 3.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "takeover/takeover.h"

extern char** environ;

namespace hvkit::hvmm {

namespace {

constexpr int kSuccessorHandoverFd = 3;

}  // namespace

Result<SuccessorProcess> SpawnSuccessor(const std::string& binary) {
    struct stat st;
    if (stat(binary.c_str(), &st) != 0) {
        return Error(ErrorCode::kNotFound, "successor binary " + binary + ": " + strerror(errno));
    }
    if (!S_ISREG(st.st_mode) || access(binary.c_str(), X_OK) != 0) {
        return Error(ErrorCode::kRefused,
                     "successor binary " + binary + " is not an executable regular file");
    }
    int pair[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
        return Error(ErrorCode::kIo, std::string("handover socketpair: ") + strerror(errno));
    }
    UniqueFd ours(pair[0]);
    // dup2 onto fd 3 clears close-on-exec only when the numbers differ, so
    // make sure they do.
    UniqueFd theirs(fcntl(pair[1], F_DUPFD_CLOEXEC, kSuccessorHandoverFd + 1));
    close(pair[1]);
    if (!theirs.valid()) {
        return Error(ErrorCode::kIo, std::string("handover socket: dup: ") + strerror(errno));
    }
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_adddup2(&actions, theirs.get(), kSuccessorHandoverFd);
    // Our threads run with signals blocked; the successor needs its own mask
    // (SIGRTMIN kicks its vCPUs) and default dispositions.
    sigset_t empty, all;
    sigemptyset(&empty);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attr, &empty);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    std::string fd_text = std::to_string(kSuccessorHandoverFd);
    std::vector<char*> argv = {const_cast<char*>(binary.c_str()), const_cast<char*>("successor"),
                               const_cast<char*>("--handover-fd"), fd_text.data(), nullptr};
    pid_t pid = -1;
    int err = posix_spawn(&pid, binary.c_str(), &actions, &attr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    if (err != 0) {
        return Error(ErrorCode::kIo, "cannot start successor " + binary + ": " + strerror(err));
    }
    return SuccessorProcess{pid, std::move(ours)};
}

void KillSuccessor(pid_t pid) {
    if (pid <= 0) return;
    kill(pid, SIGKILL);
    while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
}

void ReapSuccessor(pid_t pid, std::chrono::milliseconds grace) {
    if (pid <= 0) return;
    auto until = std::chrono::steady_clock::now() + grace;
    while (std::chrono::steady_clock::now() < until) {
        pid_t r = waitpid(pid, nullptr, WNOHANG);
        if (r == pid || (r < 0 && errno != EINTR)) return;
        usleep(20000);
    }
    KillSuccessor(pid);
}

}  // namespace hvkit::hvmm
