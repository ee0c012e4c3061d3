// hvfilterd's fd budget (fd_budget.h).
#include "fd_budget.h"

#include <sys/resource.h>

#include <cerrno>
#include <cstring>
#include <string>

namespace hvkit::filterd {

uint64_t FdsNeeded(const FilterConfig& config) {
    uint64_t events = 0;
    for (const SourceConfig& s : config.sources) {
        if (s.kind == SourceKind::kFile) events += s.policy.max_pending;
    }
    return events + kFdsBesidesEvents;
}

Result<uint64_t> SoftLimitFor(uint64_t needed, uint64_t soft, uint64_t hard) {
    if (soft >= needed) return soft;
    if (hard >= needed) return needed;
    return Error(ErrorCode::kInvalidArgument,
                 "the file sources' max_pending with " + std::to_string(kFdsBesidesEvents) +
                     " fds for the rest need " + std::to_string(needed) +
                     " open files, but RLIMIT_NOFILE allows at most " + std::to_string(hard) +
                     ": lower max_pending, or raise the limit (LimitNOFILE= in the service "
                     "unit, ulimit -Hn)");
}

Status ReserveFds(const FilterConfig& config) {
    rlimit lim{};
    if (getrlimit(RLIMIT_NOFILE, &lim) != 0) {
        return Error(ErrorCode::kIo, std::string("getrlimit(RLIMIT_NOFILE): ") + strerror(errno));
    }
    HVKIT_ASSIGN_OR_RETURN(uint64_t soft,
                           SoftLimitFor(FdsNeeded(config), lim.rlim_cur, lim.rlim_max));
    if (soft == lim.rlim_cur) return Status::Ok();
    lim.rlim_cur = soft;
    if (setrlimit(RLIMIT_NOFILE, &lim) != 0) {
        return Error(ErrorCode::kIo,
                     "raising RLIMIT_NOFILE to " + std::to_string(soft) + ": " + strerror(errno));
    }
    return Status::Ok();
}

}  // namespace hvkit::filterd
