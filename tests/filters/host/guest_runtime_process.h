// The real guest filter runtime (hvkit/filter_runtime/runtime.h) in a child
// process, over the memfd and eventfds a fake hvmm hands out: what
// `hvagent filters` does in a VM, minus uio. Tests pause it (a silent
// guest), kill it (a guest gone mid-stream) and read its status file.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "hvkit/json.h"

namespace hvkit::filterd::testing {

class GuestRuntimeProcess {
  public:
    // Forks the runtime; it maps (region_fd) of (region_size) bytes, kicks
    // (doorbell_fd), waits on (interrupt_fd), finds modules in (module_dirs)
    // and keeps its counters in (status_path).
    GuestRuntimeProcess(int region_fd, uint64_t region_size, int doorbell_fd, int interrupt_fd,
                        std::vector<std::string> module_dirs, std::string status_path);
    ~GuestRuntimeProcess();  // kills it
    GuestRuntimeProcess(const GuestRuntimeProcess&) = delete;
    GuestRuntimeProcess& operator=(const GuestRuntimeProcess&) = delete;

    pid_t pid() const { return pid_; }
    void Pause();   // SIGSTOP: it answers nothing until Resume
    void Resume();  // SIGCONT
    void Kill();    // SIGKILL and reap
    // Its status file's counters, or null before it wrote one.
    Json Status() const;
    // A counter from Status(), -1 when absent.
    int64_t Counter(const std::string& name) const;

  private:
    pid_t pid_ = -1;
    int stop_write_ = -1;
    std::string status_path_;
};

}  // namespace hvkit::filterd::testing
