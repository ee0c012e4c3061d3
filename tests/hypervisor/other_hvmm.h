// A second hvmm process for tests of a state directory several hvmm share:
// a real fork that runs a first part, waits for the test's go, runs a second.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>

namespace hvkit::hvmm::testing {

// A child process that runs (first), then waits for the parent's go on a
// pipe, then runs (then); its exit status says whether both succeeded.
class OtherHvmm {
  public:
    OtherHvmm(std::function<bool()> first, std::function<bool()> then) {
        int ready[2], go[2];
        EXPECT_EQ(pipe(ready), 0);
        EXPECT_EQ(pipe(go), 0);
        pid_ = fork();
        if (pid_ == 0) {
            close(ready[0]);
            close(go[1]);
            bool ok = first();
            char c = ok ? 'y' : 'n';
            (void)!write(ready[1], &c, 1);
            if (!ok) _exit(1);
            (void)!read(go[0], &c, 1);
            _exit(then() ? 0 : 2);
        }
        close(ready[1]);
        close(go[0]);
        go_ = go[1];
        char c = 'n';
        first_ok_ = read(ready[0], &c, 1) == 1 && c == 'y';
        close(ready[0]);
    }
    bool first_ok() const { return first_ok_; }
    // Lets the child go on; its exit status.
    int Finish() {
        char c = 'g';
        (void)!write(go_, &c, 1);
        close(go_);
        int status = 0;
        waitpid(pid_, &status, 0);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 100;
    }

  private:
    pid_t pid_ = -1;
    int go_ = -1;
    bool first_ok_ = false;
};

}  // namespace hvkit::hvmm::testing
