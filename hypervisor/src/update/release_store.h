// The host's installed hypervisor releases: two slots, a pointer switched
// atomically, a journal, the anti-rollback floor and the release keys. hvmm's
// update calls (the hvchan update family) stage and commit through this; the
// next hvmm start runs what `current` points to.
//
//   DIR/trust.json        release keys and threshold (hvpkg trust format);
//                         installed by the operator, never by a guest; read
//                         again by every transaction, so a revoked key is
//                         refused from the next one on
//   DIR/journal.sqlite    every transaction's state, the floor, and what
//                         each slot holds
//   DIR/store.lock        flock(2): every operation of every hvmm on this
//                         directory runs under it and re-reads the state
//   DIR/stage.lock        flock(2): held by the one process that has a
//                         release staging or staged, until it commits or
//                         aborts; recovery leaves a live owner's work alone
//   DIR/slots/a, slots/b  a release's hypervisor files (manifest install paths)
//   DIR/current           symlink to slots/a or slots/b, replaced by rename(2)
//
// A transaction moves staging -> staged -> committing -> committed, or ends
// failed (refused) or undone (aborted by the guest, or interrupted and
// recovered backwards): the shared vocabulary of hvkit/transaction_state.h.
// A rollback is a transaction that starts at committing. Each state is
// journaled (SQLite, synchronous=FULL) after the file system work it names
// is durable, so Open() after a crash at any point finds the old or the new
// release and finishes (committing) or undoes (staging, staged) what was in
// flight. See docs/hypervisor-update.md.
//
// The trial (docs/live-takeover.md): a staged release may be put on trial
// (BeginTrial) while its hvmm takes over the running guest from the staged
// slot. `current` and the floor stay until the trial passes (Commit); a
// failed trial (FailTrial) empties the slot. The trial's owner holds
// stage.lock throughout, so a host that restarts mid-trial still starts the
// previous release from `current`, and the next Open records the trial
// interrupted. Trials live in their own table (journal.sqlite `trials`),
// additive to schema 1: an older hvmm reads the journal unchanged.
#pragma once

#include <array>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "hvkit/fs.h"
#include "hvkit/package/trust_store.h"
#include "hvkit/package/verify.h"
#include "hvkit/semver.h"
#include "hvkit/status.h"
#include "hvkit/store/sqlite.h"
#include "hvkit/transaction_state.h"

namespace hvkit::hvmm {

// A release in a slot.
struct Release {
    char slot = 'a';  // 'a' or 'b'
    SemVer version;
};

// What a staged transaction holds.
struct StagedRelease {
    int64_t transaction = 0;
    Release release;
    Manifest manifest;
    std::vector<std::string> signer_key_ids;
};

// The release store's durable steps, in order (after_step names them).
namespace release_step {
inline constexpr std::string_view kStaging = "staging";
inline constexpr std::string_view kSlotEmptied = "slot-emptied";
inline constexpr std::string_view kExtracted = "extracted";
inline constexpr std::string_view kStaged = "staged";
inline constexpr std::string_view kCommitting = "committing";
inline constexpr std::string_view kSwitched = "switched";
inline constexpr std::string_view kCommitted = "committed";
inline constexpr std::array<std::string_view, 7> kAll = {
    kStaging, kSlotEmptied, kExtracted, kStaged, kCommitting, kSwitched, kCommitted};
}  // namespace release_step

// A release's trial, as journaled.
enum class TrialOutcome { kOnTrial, kPassed, kFailed };
std::string_view TrialOutcomeName(TrialOutcome outcome);  // "on-trial", "passed", "failed"

struct Trial {
    int64_t transaction = 0;
    SemVer version;
    TrialOutcome outcome = TrialOutcome::kOnTrial;
    std::string detail;      // why it failed; empty otherwise
    int64_t started_at = 0;  // Unix seconds
    int64_t ended_at = 0;    // 0 while on trial
};

struct ReleaseStoreOptions {
    // The version of the hvmm using the store: the floor for a fresh store
    // (no release committed yet) and what a package must upgrade from.
    SemVer running_version;
    // Test hook: called with the name of each step (release_step::kAll)
    // right after it is durable. Crash tests _exit() the process there.
    std::function<void(std::string_view step)> after_step;
    // Every change the store makes to its directory, the journal's included,
    // goes through it (tests pass a fault-injecting one); it must outlive
    // the store.
    FileSystem* file_system = &RealFileSystem();
};

// The variable that names a step for CrashHookFromEnvironment.
inline constexpr const char* kCrashAfterVariable = "HVMM_TEST_CRASH_AFTER";

// For system tests: an after_step hook that kills this process (SIGKILL)
// right after the step HVMM_TEST_CRASH_AFTER names; none when it is unset;
// kInvalidArgument naming the variable and the steps for any other value.
Result<std::function<void(std::string_view)>> CrashHookFromEnvironment();

class ReleaseStore {
  public:
    // Opens (dir), creating its layout when missing, loads DIR/trust.json
    // (kNotFound, saying how to install keys, when absent), and recovers a
    // transaction an earlier process left unfinished.
    static Result<std::unique_ptr<ReleaseStore>> Open(const std::string& dir,
                                                      ReleaseStoreOptions options);
    ~ReleaseStore();
    // The committed release of the store at (dir) without opening it for
    // updates (no keys needed, no recovery): none when (dir) has no journal
    // or nothing is committed. For `hvmm --version`.
    static Result<std::optional<Release>> Peek(const std::string& dir);
    // The last trial at (dir), read the same way; none when there was none.
    static Result<std::optional<Trial>> PeekTrial(const std::string& dir);

    // The release `current` points to; none on a fresh store.
    std::optional<Release> committed() const { return committed_; }
    // The oldest version that may run again: the release the last commit
    // replaced (so one step back stays possible), or the running version on
    // a fresh store. It only rises.
    const SemVer& floor() const { return floor_; }
    // The staged transaction, if any.
    const std::optional<StagedRelease>& staged() const { return staged_; }
    // What a package must upgrade from: the committed version, or the
    // running one on a fresh store.
    SemVer installed() const { return committed_ ? committed_->version : options_.running_version; }
    // The release keys, read now from DIR/trust.json (kNotFound or
    // kMalformed naming the file and how to install keys).
    Result<PackageTrustStore> ReleaseKeys() const;
    // Re-reads the committed release and the floor under the store lock:
    // another hvmm on the same directory may have moved them.
    Status Reload();
    // Reload, after recovering what a dead hvmm left in flight (as Open
    // does): for a successor whose predecessor died holding its trial.
    Status RecoverInterrupted();

    // Verifies the package at (package_path) against the release keys and
    // the floor (its version must be above it and its min_installed_version
    // not above what runs), then extracts its hypervisor files into the slot
    // `current` does not point to. One transaction at a time on the whole
    // directory, whichever hvmm holds it (kConflict naming the owner).
    Result<StagedRelease> Stage(const std::string& package_path);
    // Switches `current` to the staged slot and raises the floor; passes
    // the staged release's trial, if it is on one.
    Status Commit();
    // Drops the staged release (its slot is emptied). kConflict while it is
    // on trial: the trial ends by Commit or FailTrial.
    Status Abort();
    // Puts the staged release on trial: journaled, nothing else moves.
    // kConflict without a staged release or when it is already on trial.
    Result<Trial> BeginTrial();
    // Ends the staged release's trial as failed for (why): the slot is
    // emptied, the transaction ends failed ("trial failed: WHY"), `current`
    // and the floor never moved.
    Status FailTrial(std::string_view why);
    // The last trial (the one running, or the last decided); none if none.
    Result<std::optional<Trial>> LastTrial() const;
    // Switches `current` back to the other slot when it holds the release
    // committed before this one and that is not below the floor. Journaled
    // and recovered like a commit; the floor stays.
    Result<Release> Rollback();

    const std::string& dir() const { return dir_; }
    std::string SlotPath(char slot) const;

  private:
    ReleaseStore() = default;
    // The store lock, held for one operation; the state re-read under it.
    Result<UniqueFd> LockAndReload();
    Status Recover();
    // Removes slots/.incoming and extraction staging directories a failed
    // or cut stage left. Only under the store lock.
    Status RemoveStagingLeftovers();
    // The version slot (slot) holds as far as the journal can name it; none
    // when it is empty or was being replaced.
    Result<std::optional<SemVer>> SlotVersion(char slot);
    Status SetSlotVersion(char slot, const std::optional<SemVer>& version);
    Status Step(std::string_view step);
    // Creates the journal's tables, or migrates an older schema (kConflict
    // for a newer one).
    Status OpenSchema();
    Status SetState(int64_t id, TxState state, std::string_view detail = "");
    // Marks (id) committed, records (release) as its slot's, and raises the
    // floor to (floor_after) (recorded with the transaction: the release an
    // update replaces, so one step back stays possible; the floor itself for
    // a rollback), in one SQLite transaction.
    Status MarkCommitted(int64_t id, const Release& release, const SemVer& floor_after);
    Status SwitchCurrent(char slot);
    Result<std::optional<char>> ReadCurrent() const;
    Status LoadFloor();
    Status LoadCommitted();
    // Creates the trials table (additive to schema 1) when missing.
    Status OpenTrials();
    // Ends (transaction)'s trial, if on trial, with (outcome) and (detail);
    // inside the caller's SQLite transaction.
    Status EndTrial(int64_t transaction, TrialOutcome outcome, std::string_view detail);
    FileSystem& fs() const { return *options_.file_system; }

    std::string dir_;
    ReleaseStoreOptions options_;
    std::unique_ptr<Database> db_;
    UniqueFd stage_owner_;  // DIR/stage.lock, while this process has a release staged
    std::optional<Release> committed_;
    SemVer floor_;
    std::optional<StagedRelease> staged_;
};

}  // namespace hvkit::hvmm
