// The host side of hvchan's update calls: one session at a time receives a
// package in ordered, hashed chunks into a staging file, then hands it to the
// release store. Nothing the guest says is trusted: the manifest announced at
// BEGIN is verified against the host's release keys and floor before a byte
// of payload is accepted, every chunk is hashed after it was copied out of
// shared memory, and END verifies the whole package again (signature, every
// file) and requires it to carry the manifest BEGIN announced.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <utility>

#include "hvkit/clock.h"
#include "hvkit/crypto.h"
#include "hvkit/fs.h"
#include "hvkit/hvchan_abi.h"
#include "update/release_store.h"

namespace hvkit::hvmm {

class UpdateService {
  public:
    // How many package bytes the guest may make the host write in any hour:
    // three packages of the largest size a session accepts (1 GiB).
    static constexpr uint64_t kDefaultWriteQuotaPerHour = uint64_t{3} << 30;

    // Takes (store); the staging file lives in the store's directory. Session
    // timeouts and the write quota read (clock)'s monotonic time (tests pass
    // a ManualClock).
    explicit UpdateService(std::unique_ptr<ReleaseStore> store, const Clock& clock = RealClock(),
                           uint64_t write_quota_per_hour = kDefaultWriteQuotaPerHour);
    ~UpdateService();

    struct Begin {
        uint64_t package_size = 0;
        Sha256Digest package_sha256{};
        std::string manifest;  // manifest.json bytes (a signed envelope)
    };
    // Verifies the manifest (signature, schema, floor, min_installed_version)
    // and opens a session; returns its id. kConflict while another session
    // is active and not yet expired, or while the announced size would take
    // the last hour's writes past the quota (the whole size is charged at
    // BEGIN, so a guest cannot announce, abort and announce again for free).
    Result<uint64_t> BeginSession(const Begin& begin);
    // Appends (chunk) at (offset), which must equal the bytes received so far;
    // (sha256) must be the chunk's. Returns the bytes received.
    Result<uint64_t> Write(uint64_t session, uint64_t offset, std::span<const uint8_t> chunk,
                           const Sha256Digest& sha256);
    // All bytes there and the whole hash right: verify and stage.
    Status End(uint64_t session);
    Status Commit(uint64_t session);
    Status Abort(uint64_t session);
    // ReleaseStore::Rollback, refused while a session is active.
    Status Rollback();
    // The state for UPDATE_STATUS and the control socket.
    hvchan_update_status Report() const;
    // Records the hvchan (status) of the call just made for the report and,
    // for a failure, hvmm's reason (message), which the guest reads back to
    // name the rule in its error.
    void RecordLastCall(uint32_t status, std::string_view message);

    // The committed release's version ("" when none), for hvchan info.
    std::string committed_version() const;
    // Live takeover: kConflict while a session is open (its staging file and
    // hash state are this process's; the guest retries after it ends).
    Status CanHandOver() const;

    // The trial (docs/live-takeover.md). With a starter set, COMMIT puts the
    // staged release on trial (ReleaseStore::BeginTrial) and calls the
    // starter with the release's hvmm binary, which hands the running guest
    // to it; the verdict comes back as PassTrial or FailTrial. Without one,
    // COMMIT commits at once. The starter runs without this service's lock
    // and must not wait for the takeover.
    using TrialStarter = std::function<Status(const std::string& binary)>;
    void SetTrialStarter(TrialStarter starter);
    // The trial passed: commit the release (`current`, the floor).
    Status PassTrial();
    // The trial failed for (why): the release is dropped and the previous
    // one runs on (ReleaseStore::FailTrial); the guest reads (why).
    void FailTrial(const std::string& why);
    // In the new hvmm: it runs the guest on trial for (version) until
    // SuccessorTrialPassed(), and UPDATE_STATUS says so.
    void SuccessorOnTrial(const std::string& version);
    void SuccessorTrialPassed();
    // The predecessor died before it decided the trial: the store's
    // recovery does (a commit it had journaled is finished; else the trial
    // ends interrupted and the previous release stays committed), and the
    // guest reads which.
    void SuccessorTrialOrphaned();
    // The version on trial ("" when none): for `status`.
    std::string trial_version() const;

  private:
    struct Session {
        uint64_t id = 0;
        Begin begin;
        Manifest manifest;
        uint64_t received = 0;
        Sha256 whole;
        UniqueFd file;
        bool staged = false;
        MonoTime last_activity;
    };
    Status CheckSession(uint64_t session) const;
    void EndSession(uint32_t state, std::string message);
    Status Fail(Status why);  // ends the session with (why), returns it

    // The package bytes charged in the last hour (the quota's window).
    uint64_t ChargedInTheLastHour(MonoTime now);

    mutable std::mutex mu_;
    std::unique_ptr<ReleaseStore> store_;
    const Clock& clock_;
    uint64_t write_quota_per_hour_;
    std::deque<std::pair<MonoTime, uint64_t>> charges_;
    std::string incoming_path_;
    std::unique_ptr<Session> session_;
    uint64_t next_id_ = 1;
    // The last session's outcome, for Report().
    uint32_t last_state_ = HVCHAN_UPDATE_IDLE;
    uint32_t last_status_ = HVCHAN_OK;
    uint64_t last_session_ = 0;
    std::string last_version_;
    std::string last_message_;
    TrialStarter trial_starter_;
    std::string trial_version_;  // on trial, "" otherwise
};

}  // namespace hvkit::hvmm
