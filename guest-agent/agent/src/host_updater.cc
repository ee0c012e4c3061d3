// Sending a package to the hypervisor over hvchan.
#include "hvkit/agent/host_updater.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "hvkit/crypto.h"
#include "hvkit/fs.h"

namespace hvkit::agent {

namespace {

std::string Version(uint32_t v) {
    return std::to_string(v >> 16) + "." + std::to_string((v >> 8) & 0xff) + "." +
           std::to_string(v & 0xff);
}

}  // namespace

Status HostUpdater::Refused(const char* call, uint32_t status) const {
    std::string why;
    if (status == HVCHAN_E_DENIED) {
        why = " (this VM was not started with --allow-hypervisor-update)";
    } else if (status != HVCHAN_E_BUSY) {
        // hvmm keeps its reason with the session (UPDATE_STATUS); without it
        // the guest could name the kind of refusal but not the rule.
        hvchan::CallResult r = ch_.Call(HVCHAN_CALL_UPDATE_STATUS);
        hvchan_update_status report{};
        if (r.ok()) memcpy(&report, ch_.out_area().data(), sizeof report);
        report.message[sizeof report.message - 1] = '\0';
        if (r.ok() && report.last_status == status && report.message[0] != '\0') {
            why = std::string(": ") + report.message;
        }
    }
    return Error(hvchan::ErrorForStatus(status), std::string("the hypervisor refused ") + call +
                                                     ": " + hvchan::StatusName(status) + why);
}

Result<HostVersions> HostUpdater::Versions() {
    HVKIT_ASSIGN_OR_RETURN(hvchan_info info, ch_.Info());
    HostVersions v;
    v.running = info.hv_version_string[0] ? info.hv_version_string : Version(info.hv_version);
    v.committed = info.committed_version_string;
    v.update_permitted = info.update_permitted != 0;
    return v;
}

Result<uint64_t> HostUpdater::Send(const std::string& package, const Sha256Digest& package_sha256,
                                   const std::string& manifest, const Progress& progress) {
    if (sizeof(hvchan_update_begin) + manifest.size() > HVCHAN_BAR2_CALL_IN_SIZE) {
        return Error(ErrorCode::kTooLarge, "the manifest does not fit the hvchan input area");
    }
    UniqueFd fd(open(package.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) return Error(ErrorCode::kIo, "opening " + package + ": " + strerror(errno));
    struct stat st;
    if (fstat(fd.get(), &st) != 0) {
        return Error(ErrorCode::kIo, "stat " + package + ": " + strerror(errno));
    }
    uint64_t size = static_cast<uint64_t>(st.st_size);
    hvchan_update_begin header{};
    header.package_size = size;
    memcpy(header.package_sha256, package_sha256.data(), package_sha256.size());
    header.manifest_size = static_cast<uint32_t>(manifest.size());
    auto in = ch_.in_area();
    memcpy(in.data(), &header, sizeof header);
    memcpy(in.data() + sizeof header, manifest.data(), manifest.size());
    hvchan::CallResult begin =
        ch_.Call(HVCHAN_CALL_UPDATE_BEGIN, {0, sizeof header + manifest.size(), 0, 0});
    if (!begin.ok()) return Refused("UPDATE_BEGIN", begin.status);
    uint64_t session = begin.rets[0];

    uint64_t offset = 0;
    while (offset < size) {
        ssize_t n = pread(fd.get(), in.data() + sizeof(hvchan_update_chunk), kChunk,
                          static_cast<off_t>(offset));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            (void)Abort(session);
            return Error(ErrorCode::kIo, "reading " + package + " at " + std::to_string(offset) +
                                             (n == 0 ? ": the file shrank" : ": ") +
                                             (n == 0 ? "" : strerror(errno)));
        }
        Sha256Digest chunk =
            Sha256::Of({reinterpret_cast<const char*>(in.data() + sizeof(hvchan_update_chunk)),
                        static_cast<size_t>(n)});
        memcpy(in.data(), chunk.data(), chunk.size());
        hvchan::CallResult w =
            ch_.Call(HVCHAN_CALL_UPDATE_WRITE,
                     {session, offset, 0, sizeof(hvchan_update_chunk) + static_cast<uint64_t>(n)});
        if (!w.ok()) return Refused("UPDATE_WRITE", w.status);
        offset += static_cast<uint64_t>(n);
        if (progress) progress(offset, size);
    }
    return session;
}

Status HostUpdater::End(uint64_t session) {
    hvchan::CallResult r = ch_.Call(HVCHAN_CALL_UPDATE_END, {session});
    return r.ok() ? Status::Ok() : Refused("UPDATE_END", r.status);
}

Status HostUpdater::Commit(uint64_t session) {
    hvchan::CallResult r = ch_.Call(HVCHAN_CALL_UPDATE_COMMIT, {session});
    return r.ok() ? Status::Ok() : Refused("UPDATE_COMMIT", r.status);
}

Status HostUpdater::Abort(uint64_t session) {
    hvchan::CallResult r = ch_.Call(HVCHAN_CALL_UPDATE_ABORT, {session});
    return r.ok() ? Status::Ok() : Refused("UPDATE_ABORT", r.status);
}

Status HostUpdater::Rollback() {
    hvchan::CallResult r = ch_.Call(HVCHAN_CALL_UPDATE_ROLLBACK);
    return r.ok() ? Status::Ok() : Refused("UPDATE_ROLLBACK", r.status);
}

Result<hvchan_update_status> HostUpdater::Report() {
    hvchan::CallResult r = ch_.Call(HVCHAN_CALL_UPDATE_STATUS);
    if (!r.ok()) return Refused("UPDATE_STATUS", r.status);
    hvchan_update_status s{};
    memcpy(&s, ch_.out_area().data(), sizeof s);
    s.message[sizeof s.message - 1] = '\0';
    s.version[sizeof s.version - 1] = '\0';
    s.committed_version[sizeof s.committed_version - 1] = '\0';
    return s;
}

}  // namespace hvkit::agent
