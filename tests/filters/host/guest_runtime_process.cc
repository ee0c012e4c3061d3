#include "guest_runtime_process.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hvkit/filter_runtime/runtime.h"
#include "hvkit/fs.h"

namespace hvkit::filterd::testing {

GuestRuntimeProcess::GuestRuntimeProcess(int region_fd, uint64_t region_size, int doorbell_fd,
                                         int interrupt_fd, std::vector<std::string> module_dirs,
                                         std::string status_path)
    : status_path_(std::move(status_path)) {
    int stop[2];
    if (pipe(stop) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
        close(stop[1]);
        auto device = filter_runtime::OpenEventfdRegionDevice(UniqueFd(dup(region_fd)), region_size,
                                                              UniqueFd(dup(doorbell_fd)),
                                                              UniqueFd(dup(interrupt_fd)));
        if (!device.ok()) _exit(3);
        filter_runtime::RuntimeOptions options;
        options.module_dirs = std::move(module_dirs);
        options.status_path = status_path_;
        filter_runtime::FilterRuntime runtime(std::move(device).value(), options);
        _exit(runtime.Run(stop[0]).ok() ? 0 : 1);
    }
    close(stop[0]);
    stop_write_ = stop[1];
}

GuestRuntimeProcess::~GuestRuntimeProcess() {
    Kill();
    if (stop_write_ >= 0) close(stop_write_);
}

void GuestRuntimeProcess::Pause() {
    if (pid_ > 0) kill(pid_, SIGSTOP);
}

void GuestRuntimeProcess::Resume() {
    if (pid_ > 0) kill(pid_, SIGCONT);
}

void GuestRuntimeProcess::Kill() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
}

Json GuestRuntimeProcess::Status() const {
    Result<std::string> text = ReadFile(status_path_, 1 << 16);
    if (!text.ok()) return Json();
    Result<Json> parsed = ParseJson(*text, status_path_);
    return parsed.ok() ? *parsed : Json();
}

int64_t GuestRuntimeProcess::Counter(const std::string& name) const {
    Json status = Status();
    const Json* value = status.is_object() ? status.Find(name) : nullptr;
    return value != nullptr && value->is_int() ? value->as_int() : -1;
}

}  // namespace hvkit::filterd::testing
