// hvchan update sessions: BEGIN, ordered hashed chunks, END, COMMIT, ABORT.
#include "update/update_service.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <vector>

#include "hvkit/json.h"
#include "hvkit/signed.h"

namespace hvkit::hvmm {

namespace {

template <size_t N>
void CopyString(char (&field)[N], const std::string& text) {
    size_t n = std::min(text.size(), N - 1);
    memcpy(field, text.data(), n);
    memset(field + n, 0, N - n);
}

// Package files of sessions whose hvmm is gone (DIR/incoming-PID.hvpkg; and
// the single shared name hvmm 0.1.0 used).
void RemoveOrphanedIncoming(const std::string& dir) {
    unlink((dir + "/incoming.hvpkg").c_str());
    DIR* d = opendir(dir.c_str());
    if (d == nullptr) return;
    std::vector<std::string> orphans;
    while (dirent* e = readdir(d)) {
        unsigned long pid = 0;
        char tail[8] = {};
        if (sscanf(e->d_name, "incoming-%lu.hvpk%1s", &pid, tail) == 2 && strcmp(tail, "g") == 0 &&
            kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) {
            orphans.push_back(dir + "/" + e->d_name);
        }
    }
    closedir(d);
    for (const auto& path : orphans) unlink(path.c_str());
}

}  // namespace

UpdateService::UpdateService(std::unique_ptr<ReleaseStore> store, const Clock& clock,
                             uint64_t write_quota_per_hour)
    : store_(std::move(store)),
      clock_(clock),
      write_quota_per_hour_(write_quota_per_hour),
      // One file per hvmm: several may share the state directory.
      incoming_path_(store_->dir() + "/incoming-" + std::to_string(getpid()) + ".hvpkg") {
    RemoveOrphanedIncoming(store_->dir());
}

UpdateService::~UpdateService() {
    // A session that ends with the process: its staging file goes too. A
    // staged release is expired by the next Open of the store.
    if (session_) unlink(incoming_path_.c_str());
}

std::string UpdateService::committed_version() const {
    std::lock_guard lock(mu_);
    (void)store_->Reload();  // another hvmm may have committed since
    auto c = store_->committed();
    return c ? c->version.ToString() : "";
}

void UpdateService::EndSession(uint32_t state, std::string message) {
    if (session_) {
        last_session_ = session_->id;
        last_version_ = session_->manifest.version.ToString();
    }
    session_.reset();
    unlink(incoming_path_.c_str());
    last_state_ = state;
    last_message_ = std::move(message);
}

Status UpdateService::Fail(Status why) {
    if (session_ && session_->staged) (void)store_->Abort();
    EndSession(HVCHAN_UPDATE_FAILED, why.message());
    return why;
}

Status UpdateService::CheckSession(uint64_t session) const {
    if (!session_ || session_->id != session) {
        return Error(ErrorCode::kConflict,
                     "update session " + std::to_string(session) + " is not the active one");
    }
    return Status::Ok();
}

Result<uint64_t> UpdateService::BeginSession(const Begin& begin) {
    std::lock_guard lock(mu_);
    MonoTime now = clock_.Now();
    if (session_) {
        if (now - session_->last_activity < std::chrono::seconds(HVCHAN_UPDATE_SESSION_TIMEOUT_S)) {
            return Error(ErrorCode::kConflict,
                         "another update session (" + std::to_string(session_->id) + ") is active");
        }
        // Expired: it goes, with anything it staged.
        (void)Fail(Error(ErrorCode::kConflict, "session expired"));
    }
    if (begin.manifest.size() > HVCHAN_UPDATE_MAX_MANIFEST) {
        return Error(ErrorCode::kTooLarge, "manifest of " + std::to_string(begin.manifest.size()) +
                                               " bytes is larger than the limit");
    }
    if (begin.package_size == 0 || begin.package_size > (uint64_t{1} << 30)) {
        return Error(ErrorCode::kTooLarge,
                     "package size " + std::to_string(begin.package_size) + " is not 1..1 GiB");
    }
    uint64_t charged = ChargedInTheLastHour(now);
    if (begin.package_size > write_quota_per_hour_ - std::min(charged, write_quota_per_hour_)) {
        return Error(ErrorCode::kConflict,
                     "a package of " + std::to_string(begin.package_size) +
                         " bytes would take this VM past the host's write quota (" +
                         std::to_string(charged) + " of " + std::to_string(write_quota_per_hour_) +
                         " bytes in the last hour); retry later");
    }
    HVKIT_ASSIGN_OR_RETURN(Json doc, ParseJson(begin.manifest, "manifest from the guest"));
    HVKIT_ASSIGN_OR_RETURN(SignedEnvelope envelope,
                           SignedEnvelope::FromJson(doc, "manifest from the guest"));
    // The state and the keys as they are now: another hvmm may have moved
    // them, and the operator may have revoked a key since the last session.
    HVKIT_RETURN_IF_ERROR(store_->Reload());
    HVKIT_ASSIGN_OR_RETURN(PackageTrustStore keys, store_->ReleaseKeys());
    HVKIT_RETURN_IF_ERROR(keys.Verify(envelope, "manifest from the guest").status());
    HVKIT_ASSIGN_OR_RETURN(Manifest manifest,
                           Manifest::FromJson(envelope.signed_body, "manifest from the guest"));
    HVKIT_RETURN_IF_ERROR(CheckUpgradeFrom(manifest, store_->installed()));
    if (!(manifest.version > store_->floor())) {
        return Error(ErrorCode::kRollback, "version " + manifest.version.ToString() +
                                               " is not above the anti-rollback floor " +
                                               store_->floor().ToString());
    }
    auto s = std::make_unique<Session>();
    s->id = next_id_++;
    s->begin = begin;
    s->manifest = std::move(manifest);
    s->last_activity = now;
    s->file =
        UniqueFd(open(incoming_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (!s->file.valid()) {
        return Error(ErrorCode::kIo, "creating " + incoming_path_ + ": " + strerror(errno));
    }
    charges_.emplace_back(now, begin.package_size);
    session_ = std::move(s);
    last_state_ = HVCHAN_UPDATE_TRANSFERRING;
    last_session_ = session_->id;
    last_version_ = session_->manifest.version.ToString();
    last_message_ = "transferring";
    return session_->id;
}

Result<uint64_t> UpdateService::Write(uint64_t session, uint64_t offset,
                                      std::span<const uint8_t> chunk, const Sha256Digest& sha256) {
    std::lock_guard lock(mu_);
    HVKIT_RETURN_IF_ERROR(CheckSession(session));
    Session& s = *session_;
    if (s.staged) return Error(ErrorCode::kConflict, "the package is complete and staged");
    if (offset != s.received) {
        return Error(ErrorCode::kInvalidArgument,
                     "chunk at offset " + std::to_string(offset) + ": expected offset " +
                         std::to_string(s.received) +
                         " (chunks come in order, no gaps or overlaps)");
    }
    if (chunk.empty() || chunk.size() > HVCHAN_UPDATE_MAX_CHUNK ||
        chunk.size() > s.begin.package_size - s.received) {
        return Error(ErrorCode::kInvalidArgument,
                     "chunk of " + std::to_string(chunk.size()) +
                         " bytes: empty, over the chunk limit or past the announced size");
    }
    // (chunk) is the host's copy (the caller copied it out of shared memory).
    if (Sha256::Of({reinterpret_cast<const char*>(chunk.data()), chunk.size()}) != sha256) {
        return Error(ErrorCode::kHashMismatch,
                     "chunk at offset " + std::to_string(offset) + " does not match its SHA-256");
    }
    size_t done = 0;
    while (done < chunk.size()) {
        ssize_t n = pwrite(s.file.get(), chunk.data() + done, chunk.size() - done,
                           static_cast<off_t>(offset + done));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            return Fail(
                Error(ErrorCode::kIo, "writing " + incoming_path_ + ": " + strerror(errno)));
        }
        done += static_cast<size_t>(n);
    }
    s.whole.Update(chunk.data(), chunk.size());
    s.received += chunk.size();
    s.last_activity = clock_.Now();
    return s.received;
}

Status UpdateService::End(uint64_t session) {
    std::lock_guard lock(mu_);
    HVKIT_RETURN_IF_ERROR(CheckSession(session));
    Session& s = *session_;
    if (s.staged) return Error(ErrorCode::kConflict, "the package is already staged");
    if (s.received != s.begin.package_size) {
        return Error(ErrorCode::kConflict, "received " + std::to_string(s.received) + " of " +
                                               std::to_string(s.begin.package_size) + " bytes");
    }
    if (s.whole.Final() != s.begin.package_sha256) {
        return Fail(Error(ErrorCode::kHashMismatch,
                          "the package does not match the SHA-256 announced at BEGIN"));
    }
    if (fsync(s.file.get()) != 0) {
        return Fail(Error(ErrorCode::kIo, "syncing " + incoming_path_ + ": " + strerror(errno)));
    }
    auto staged = store_->Stage(incoming_path_);
    if (!staged.ok()) return Fail(staged.status());
    s.staged = true;
    if (!(staged->manifest.ToJson() == s.manifest.ToJson())) {
        return Fail(
            Error(ErrorCode::kRefused, "the package's manifest is not the one announced at BEGIN"));
    }
    s.last_activity = clock_.Now();
    last_state_ = HVCHAN_UPDATE_STAGED;
    last_message_ = "staged in slot " + std::string(1, staged->release.slot);
    return Status::Ok();
}

Status UpdateService::Commit(uint64_t session) {
    TrialStarter starter;
    std::string binary, version;
    {
        std::lock_guard lock(mu_);
        HVKIT_RETURN_IF_ERROR(CheckSession(session));
        if (!session_->staged)
            return Error(ErrorCode::kConflict, "nothing staged: END comes first");
        version = session_->manifest.version.ToString();
        if (!trial_starter_) {
            Status st = store_->Commit();
            if (!st.ok()) return Fail(st);
            session_->staged = false;  // committed: nothing for Fail to abort
            EndSession(HVCHAN_UPDATE_COMMITTED, "committed " + version);
            return Status::Ok();
        }
        auto trial = store_->BeginTrial();
        if (!trial.ok()) return Fail(trial.status());
        session_->staged = false;  // the trial decides now, not Fail
        binary = store_->SlotPath(store_->staged()->release.slot) + "/hypervisor/bin/hvmm";
        trial_version_ = version;
        EndSession(HVCHAN_UPDATE_TRIAL, "on trial: hvmm " + version + " takes the guest over");
        starter = trial_starter_;
    }
    Status started = starter(binary);
    if (!started.ok()) {
        FailTrial("its takeover did not start: " + started.message());
        return started;
    }
    return Status::Ok();
}

Status UpdateService::Abort(uint64_t session) {
    std::lock_guard lock(mu_);
    HVKIT_RETURN_IF_ERROR(CheckSession(session));
    (void)Fail(Error(ErrorCode::kConflict, "aborted by the guest"));
    return Status::Ok();
}

Status UpdateService::Rollback() {
    std::lock_guard lock(mu_);
    if (session_) {
        return Error(ErrorCode::kConflict, "update session " + std::to_string(session_->id) +
                                               " is active; abort it first");
    }
    auto back = store_->Rollback();
    if (!back.ok()) return back.status();
    last_state_ = HVCHAN_UPDATE_COMMITTED;
    last_version_ = back->version.ToString();
    last_message_ = "rolled back to " + last_version_;
    return Status::Ok();
}

uint64_t UpdateService::ChargedInTheLastHour(MonoTime now) {
    while (!charges_.empty() && now - charges_.front().first >= std::chrono::hours(1)) {
        charges_.pop_front();
    }
    uint64_t sum = 0;
    for (const auto& [when, bytes] : charges_) sum += bytes;
    return sum;
}

void UpdateService::RecordLastCall(uint32_t status, std::string_view message) {
    std::lock_guard lock(mu_);
    last_status_ = status;
    if (status != HVCHAN_OK) last_message_ = message;
}

hvchan_update_status UpdateService::Report() const {
    std::lock_guard lock(mu_);
    hvchan_update_status r{};
    r.state = last_state_;
    r.last_status = last_status_;
    r.session = session_ ? session_->id : last_session_;
    r.received = session_ ? session_->received : 0;
    r.total = session_ ? session_->begin.package_size : 0;
    CopyString(r.version, session_ ? session_->manifest.version.ToString() : last_version_);
    auto c = store_->committed();
    CopyString(r.committed_version, c ? c->version.ToString() : "");
    CopyString(r.message, last_message_);
    return r;
}

Status UpdateService::CanHandOver() const {
    std::lock_guard lock(mu_);
    if (!session_) return Status::Ok();
    return Error(ErrorCode::kConflict, "hvchan: update session " + std::to_string(session_->id) +
                                           " is open; take over after it ends");
}

}  // namespace hvkit::hvmm
