// The A/B release store: staging, committing and aborting hypervisor releases.
#include "update/release_store.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include "hvkit/clock.h"
#include "hvkit/fs.h"
#include "hvkit/package/extract.h"

namespace hvkit::hvmm {

namespace {

// The journal's tables. Version 1 (PRAGMA user_version) speaks the shared
// transaction vocabulary (hvkit/transaction_state.h); version 0 said
// "aborted" for both failed and undone transactions and "update" for apply,
// and is migrated on open.
constexpr int kSchemaVersion = 1;

std::string TransactionsTable(std::string_view name) {
    return "CREATE TABLE IF NOT EXISTS " + std::string(name) +
           "("
           "id INTEGER PRIMARY KEY AUTOINCREMENT,"
           "version TEXT NOT NULL,"
           "slot TEXT NOT NULL CHECK (slot IN ('a', 'b')),"
           "state TEXT NOT NULL CHECK (state IN (" +
           TxStateSqlList({TxState::kStaging, TxState::kStaged, TxState::kCommitting,
                           TxState::kCommitted, TxState::kFailed, TxState::kUndone}) +
           ")),"
           "signers TEXT NOT NULL DEFAULT '',"
           "kind TEXT NOT NULL DEFAULT 'apply' CHECK (kind IN ('apply', 'rollback')),"
           "floor_after TEXT NOT NULL DEFAULT '',"
           "detail TEXT NOT NULL DEFAULT '',"
           "started_at INTEGER NOT NULL,"
           "updated_at INTEGER NOT NULL);";
}

constexpr const char* kFloorTable =
    "CREATE TABLE IF NOT EXISTS floor(id INTEGER PRIMARY KEY CHECK (id = 1), "
    "version TEXT NOT NULL);";

// What each slot holds as far as the journal can name it: a version, or
// NULL (no row) when it is empty or its release was being replaced. Stage
// clears a slot's row before it touches the slot's files, so no crash can
// leave a slot holding one release under another's name.
constexpr const char* kSlotsTable =
    "CREATE TABLE IF NOT EXISTS slots(slot TEXT PRIMARY KEY CHECK (slot IN ('a', 'b')), "
    "version TEXT NOT NULL);";

// Version 0's rows in version 1's words: an "aborted" row whose detail says
// it was interrupted, expired or aborted by the guest was undone; any other
// was a refusal or failure.
constexpr const char* kMigrateFrom0 =
    "INSERT INTO transactions(id, version, slot, state, signers, kind, floor_after, detail, "
    "started_at, updated_at) SELECT id, version, slot, CASE WHEN state <> 'aborted' THEN state "
    "WHEN detail LIKE 'interrupted%' OR detail LIKE '%expired%' OR detail = 'aborted' THEN "
    "'undone' ELSE 'failed' END, signers, CASE kind WHEN 'update' THEN 'apply' ELSE kind END, "
    "floor_after, detail, started_at, updated_at FROM transactions_v0;"
    "DROP TABLE transactions_v0;"
    "INSERT INTO slots(slot, version) SELECT slot, version FROM transactions t WHERE state = "
    "'committed' AND id = (SELECT MAX(id) FROM transactions u WHERE u.slot = t.slot AND "
    "u.state = 'committed');";

// The version last committed in slot (?1).
const std::string kCommittedInSlot =
    "SELECT version FROM transactions WHERE state = " + TxStateSqlList({TxState::kCommitted}) +
    " AND slot = ? ORDER BY id DESC LIMIT 1";

constexpr const char* kIncoming = ".incoming";
constexpr const char* kStoreLock = "/store.lock";
constexpr const char* kStageLock = "/stage.lock";

int64_t Now() {
    return RealClock().UnixSeconds();
}

char Other(char slot) {
    return slot == 'a' ? 'b' : 'a';
}

}  // namespace

ReleaseStore::~ReleaseStore() = default;

std::string ReleaseStore::SlotPath(char slot) const {
    return dir_ + "/slots/" + std::string(1, slot);
}

Result<std::unique_ptr<ReleaseStore>> ReleaseStore::Open(const std::string& dir,
                                                         ReleaseStoreOptions options) {
    std::unique_ptr<ReleaseStore> store(new ReleaseStore());
    store->dir_ = dir;
    store->options_ = std::move(options);
    HVKIT_RETURN_IF_ERROR(MakeDirectories(dir + "/slots", *store->options_.file_system));
    HVKIT_RETURN_IF_ERROR(store->ReleaseKeys().status());
    HVKIT_ASSIGN_OR_RETURN(UniqueFd lock, LockFile(dir + kStoreLock, /*wait=*/true));
    HVKIT_ASSIGN_OR_RETURN(store->db_,
                           Database::Open(dir + "/journal.sqlite", *store->options_.file_system));
    HVKIT_RETURN_IF_ERROR(store->OpenSchema());
    HVKIT_RETURN_IF_ERROR(store->OpenTrials());
    HVKIT_RETURN_IF_ERROR(store->LoadFloor());
    HVKIT_RETURN_IF_ERROR(store->Recover());
    HVKIT_RETURN_IF_ERROR(store->LoadCommitted());
    return store;
}

Result<PackageTrustStore> ReleaseStore::ReleaseKeys() const {
    std::string path = dir_ + "/trust.json";
    auto trust = PackageTrustStore::Load(path);
    if (!trust.ok()) {
        return Error(trust.status().code(),
                     "hypervisor release keys " + path + ": " + trust.status().message() +
                         " (install them with `hvpkg trust`; docs/hypervisor-update.md)");
    }
    return trust;
}

Result<UniqueFd> ReleaseStore::LockAndReload() {
    HVKIT_ASSIGN_OR_RETURN(UniqueFd lock, LockFile(dir_ + kStoreLock, /*wait=*/true));
    HVKIT_RETURN_IF_ERROR(LoadFloor());
    HVKIT_RETURN_IF_ERROR(LoadCommitted());
    return lock;
}

Status ReleaseStore::Reload() {
    return LockAndReload().status();
}

Status ReleaseStore::RecoverInterrupted() {
    HVKIT_ASSIGN_OR_RETURN(UniqueFd lock, LockFile(dir_ + kStoreLock, /*wait=*/true));
    HVKIT_RETURN_IF_ERROR(Recover());
    HVKIT_RETURN_IF_ERROR(LoadFloor());
    return LoadCommitted();
}

Result<std::optional<SemVer>> ReleaseStore::SlotVersion(char slot) {
    HVKIT_ASSIGN_OR_RETURN(Statement st, db_->Prepare("SELECT version FROM slots WHERE slot = ?"));
    st.Bind(1, std::string_view(&slot, 1));
    HVKIT_ASSIGN_OR_RETURN(bool found, st.Step());
    if (!found) return std::optional<SemVer>();
    HVKIT_ASSIGN_OR_RETURN(SemVer v, SemVer::Parse(st.ColumnText(0), "journal slot version"));
    return std::optional<SemVer>(v);
}

Status ReleaseStore::SetSlotVersion(char slot, const std::optional<SemVer>& version) {
    if (!version) {
        HVKIT_ASSIGN_OR_RETURN(Statement st, db_->Prepare("DELETE FROM slots WHERE slot = ?"));
        return st.Bind(1, std::string_view(&slot, 1)).Run();
    }
    HVKIT_ASSIGN_OR_RETURN(Statement st,
                           db_->Prepare("INSERT INTO slots(slot, version) VALUES (?, ?) ON "
                                        "CONFLICT(slot) DO UPDATE SET version = excluded.version"));
    return st.Bind(1, std::string_view(&slot, 1)).Bind(2, version->ToString()).Run();
}

Result<std::optional<Release>> ReleaseStore::Peek(const std::string& dir) {
    if (access((dir + "/journal.sqlite").c_str(), F_OK) != 0) return std::optional<Release>();
    std::unique_ptr<ReleaseStore> store(new ReleaseStore());
    store->dir_ = dir;
    HVKIT_ASSIGN_OR_RETURN(store->db_, Database::Open(dir + "/journal.sqlite"));
    // Read only (no migration, no recovery): the committed rows read the
    // same in every schema.
    HVKIT_RETURN_IF_ERROR(store->LoadCommitted());
    return store->committed_;
}

Status ReleaseStore::OpenSchema() {
    int64_t found = 0;
    {  // finalized before the schema changes (a live statement locks its tables)
        HVKIT_ASSIGN_OR_RETURN(Statement version, db_->Prepare("PRAGMA user_version"));
        HVKIT_ASSIGN_OR_RETURN(bool row, version.Step());
        if (row) found = version.ColumnInt(0);
    }
    if (found > kSchemaVersion) {
        return Error(ErrorCode::kConflict, dir_ + "/journal.sqlite has schema version " +
                                               std::to_string(found) + ", newer than this hvmm's " +
                                               std::to_string(kSchemaVersion) +
                                               "; run the hvmm that wrote it");
    }
    if (found == kSchemaVersion) return Status::Ok();
    return db_->Transaction([&]() -> Status {
        bool has_v0 = false;
        {
            HVKIT_ASSIGN_OR_RETURN(Statement old,
                                   db_->Prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' "
                                                "AND name = 'transactions'"));
            HVKIT_ASSIGN_OR_RETURN(has_v0, old.Step());
        }
        if (has_v0) {
            HVKIT_RETURN_IF_ERROR(db_->Exec("ALTER TABLE transactions RENAME TO transactions_v0"));
        }
        HVKIT_RETURN_IF_ERROR(db_->Exec(TransactionsTable("transactions")));
        HVKIT_RETURN_IF_ERROR(db_->Exec(kFloorTable));
        HVKIT_RETURN_IF_ERROR(db_->Exec(kSlotsTable));
        if (has_v0) HVKIT_RETURN_IF_ERROR(db_->Exec(kMigrateFrom0));
        return db_->Exec("PRAGMA user_version = " + std::to_string(kSchemaVersion));
    });
}

Status ReleaseStore::Step(std::string_view step) {
    if (options_.after_step) options_.after_step(step);
    return Status::Ok();
}

Status ReleaseStore::SetState(int64_t id, TxState state, std::string_view detail) {
    HVKIT_ASSIGN_OR_RETURN(
        Statement st,
        db_->Prepare("UPDATE transactions SET state = ?, detail = ?, updated_at = ? WHERE id = ?"));
    return st.Bind(1, TxStateName(state)).Bind(2, detail).Bind(3, Now()).Bind(4, id).Run();
}

Status ReleaseStore::MarkCommitted(int64_t id, const Release& release, const SemVer& floor_after) {
    SemVer floor = floor_after > floor_ ? floor_after : floor_;
    HVKIT_RETURN_IF_ERROR(db_->Transaction([&]() -> Status {
        HVKIT_RETURN_IF_ERROR(SetState(id, TxState::kCommitted));
        HVKIT_RETURN_IF_ERROR(SetSlotVersion(release.slot, release.version));
        HVKIT_RETURN_IF_ERROR(EndTrial(id, TrialOutcome::kPassed, ""));
        HVKIT_ASSIGN_OR_RETURN(
            Statement st, db_->Prepare("INSERT INTO floor(id, version) VALUES (1, ?) "
                                       "ON CONFLICT(id) DO UPDATE SET version = excluded.version"));
        return st.Bind(1, floor.ToString()).Run();
    }));
    floor_ = floor;
    return Status::Ok();
}

Result<std::optional<char>> ReleaseStore::ReadCurrent() const {
    std::string link = dir_ + "/current";
    HVKIT_ASSIGN_OR_RETURN(std::optional<std::string> target, ReadSymlink(link));
    if (!target) return std::optional<char>();
    if (*target != "slots/a" && *target != "slots/b") {
        return Error(ErrorCode::kMalformed,
                     link + " points to \"" + *target + "\", not slots/a or slots/b");
    }
    return std::optional<char>(target->back());
}

Status ReleaseStore::SwitchCurrent(char slot) {
    return ReplaceSymlink(dir_ + "/current", "slots/" + std::string(1, slot), fs());
}

Status ReleaseStore::LoadFloor() {
    HVKIT_ASSIGN_OR_RETURN(Statement floor, db_->Prepare("SELECT version FROM floor WHERE id = 1"));
    HVKIT_ASSIGN_OR_RETURN(bool has_floor, floor.Step());
    floor_ = options_.running_version;
    if (has_floor) {
        HVKIT_ASSIGN_OR_RETURN(floor_, SemVer::Parse(floor.ColumnText(0), "journal floor"));
    }
    return Status::Ok();
}

Status ReleaseStore::LoadCommitted() {
    HVKIT_ASSIGN_OR_RETURN(std::optional<char> current, ReadCurrent());
    committed_.reset();
    if (!current) return Status::Ok();
    HVKIT_ASSIGN_OR_RETURN(Statement st, db_->Prepare(kCommittedInSlot));
    st.Bind(1, std::string_view(&*current, 1));
    HVKIT_ASSIGN_OR_RETURN(bool found, st.Step());
    if (!found) {
        return Error(ErrorCode::kMalformed, dir_ + "/current points to slot " +
                                                std::string(1, *current) +
                                                ", which the journal never committed");
    }
    HVKIT_ASSIGN_OR_RETURN(SemVer version, SemVer::Parse(st.ColumnText(0), "journal version"));
    committed_ = Release{*current, version};
    return Status::Ok();
}

Result<StagedRelease> ReleaseStore::Stage(const std::string& package_path) {
    HVKIT_ASSIGN_OR_RETURN(UniqueFd lock, LockAndReload());
    if (staged_) {
        return Error(ErrorCode::kConflict, "release " + staged_->release.version.ToString() +
                                               " is already staged; commit or abort it first");
    }
    auto owner = LockFile(dir_ + kStageLock, /*wait=*/false);
    if (!owner.ok()) {
        return Error(ErrorCode::kConflict,
                     "another hvmm on " + dir_ +
                         " has a release staging or staged; one transaction at a time");
    }
    HVKIT_ASSIGN_OR_RETURN(PackageTrustStore keys, ReleaseKeys());
    SemVer installed = this->installed();
    char slot = committed_ ? Other(committed_->slot) : 'a';
    std::string incoming = dir_ + "/slots/" + kIncoming;

    HVKIT_ASSIGN_OR_RETURN(
        Statement insert,
        db_->Prepare("INSERT INTO transactions(version, slot, state, floor_after, started_at, "
                     "updated_at) VALUES ('', ?, " +
                     TxStateSqlList({TxState::kStaging}) + ", ?, ?, ?)"));
    HVKIT_RETURN_IF_ERROR(insert.Bind(1, std::string_view(&slot, 1))
                              .Bind(2, installed.ToString())
                              .Bind(3, Now())
                              .Bind(4, Now())
                              .Run());
    int64_t id = db_->LastInsertRowId();
    HVKIT_RETURN_IF_ERROR(Step(release_step::kStaging));

    bool slot_released = false;  // the journal no longer names the slot's release
    // Best effort, durable before the journal says failed: a cut before
    // that leaves the row staging, and recovery finishes the clean-up.
    auto fail = [&](const Status& why) -> Status {
        (void)RemoveTree(incoming, fs());
        if (slot_released) (void)RemoveTree(SlotPath(slot), fs());
        (void)SyncDirectory(dir_ + "/slots", fs());
        (void)SetState(id, TxState::kFailed, why.message());
        return why;
    };
    HVKIT_RETURN_IF_ERROR(RemoveTree(incoming, fs()));
    ExtractOptions extract;
    extract.file_system = &fs();
    extract.components = {Component::kHypervisor};
    extract.policy.installed_version = installed;
    auto info = ExtractPackageFile(package_path, keys, incoming, extract);
    if (!info.ok()) return fail(info.status());
    const SemVer& version = info->manifest.version;
    if (!(version > floor_)) {
        return fail(Error(ErrorCode::kRollback,
                          "package " + package_path + " version " + version.ToString() +
                              " is not above the anti-rollback floor " + floor_.ToString()));
    }
    // The new release replaces the one before the committed one. The journal
    // stops naming that one first, so a crash below leaves a slot the
    // journal calls empty (recovery empties it), never a misnamed release.
    Status moved = SetSlotVersion(slot, std::nullopt);
    slot_released = moved.ok();
    if (moved.ok()) moved = RemoveTree(SlotPath(slot), fs());
    if (moved.ok()) moved = Step(release_step::kSlotEmptied);
    if (moved.ok() &&
        fs().RenameAt(AT_FDCWD, incoming.c_str(), AT_FDCWD, SlotPath(slot).c_str()) != 0) {
        moved = Error(ErrorCode::kIo,
                      "moving the staged release into " + SlotPath(slot) + ": " + strerror(errno));
    }
    if (moved.ok()) moved = SyncDirectory(dir_ + "/slots", fs());
    if (!moved.ok()) return fail(moved);
    HVKIT_RETURN_IF_ERROR(Step(release_step::kExtracted));

    std::string signers;
    for (const auto& k : info->signer_key_ids) signers += (signers.empty() ? "" : ",") + k;
    HVKIT_ASSIGN_OR_RETURN(Statement staged,
                           db_->Prepare("UPDATE transactions SET version = ?, state = " +
                                        TxStateSqlList({TxState::kStaged}) +
                                        ", signers = ?, updated_at = ? WHERE id = ?"));
    HVKIT_RETURN_IF_ERROR(
        staged.Bind(1, version.ToString()).Bind(2, signers).Bind(3, Now()).Bind(4, id).Run());
    staged_ = StagedRelease{id, Release{slot, version}, info->manifest, info->signer_key_ids};
    stage_owner_ = std::move(*owner);
    HVKIT_RETURN_IF_ERROR(Step(release_step::kStaged));
    return *staged_;
}

Status ReleaseStore::Commit() {
    HVKIT_ASSIGN_OR_RETURN(UniqueFd lock, LockAndReload());
    if (!staged_) return Error(ErrorCode::kConflict, "no staged release to commit");
    StagedRelease s = *staged_;
    SemVer replaced = installed();
    HVKIT_RETURN_IF_ERROR(SetState(s.transaction, TxState::kCommitting));
    HVKIT_RETURN_IF_ERROR(Step(release_step::kCommitting));
    HVKIT_RETURN_IF_ERROR(SwitchCurrent(s.release.slot));
    HVKIT_RETURN_IF_ERROR(Step(release_step::kSwitched));
    HVKIT_RETURN_IF_ERROR(MarkCommitted(s.transaction, s.release, replaced));
    committed_ = s.release;
    staged_.reset();
    stage_owner_ = UniqueFd();
    return Step(release_step::kCommitted);
}

Status ReleaseStore::Abort() {
    HVKIT_ASSIGN_OR_RETURN(UniqueFd lock, LockAndReload());
    if (!staged_) return Error(ErrorCode::kConflict, "no staged release to abort");
    HVKIT_ASSIGN_OR_RETURN(std::optional<Trial> trial, LastTrial());
    if (trial && trial->transaction == staged_->transaction &&
        trial->outcome == TrialOutcome::kOnTrial) {
        return Error(ErrorCode::kConflict, "release " + staged_->release.version.ToString() +
                                               " is on trial; its trial decides");
    }
    HVKIT_RETURN_IF_ERROR(RemoveTree(SlotPath(staged_->release.slot), fs()));
    HVKIT_RETURN_IF_ERROR(SyncDirectory(dir_ + "/slots", fs()));
    HVKIT_RETURN_IF_ERROR(SetState(staged_->transaction, TxState::kUndone, "aborted"));
    staged_.reset();
    stage_owner_ = UniqueFd();
    return Status::Ok();
}

Result<Release> ReleaseStore::Rollback() {
    HVKIT_ASSIGN_OR_RETURN(UniqueFd lock, LockAndReload());
    if (staged_) return Error(ErrorCode::kConflict, "a release is staged; abort it first");
    if (!committed_) return Error(ErrorCode::kConflict, "no release is committed");
    auto owner = LockFile(dir_ + kStageLock, /*wait=*/false);
    if (!owner.ok()) {
        return Error(ErrorCode::kConflict, "another hvmm on " + dir_ +
                                               " has a release staging or staged; abort it first");
    }
    char slot = Other(committed_->slot);
    HVKIT_ASSIGN_OR_RETURN(std::optional<SemVer> held, SlotVersion(slot));
    if (!held || access(SlotPath(slot).c_str(), F_OK) != 0) {
        return Error(ErrorCode::kConflict, "no previous release to roll back to (slot " +
                                               std::string(1, slot) + " holds none)");
    }
    SemVer version = *held;
    if (version < floor_ || !(version < committed_->version)) {
        return Error(ErrorCode::kRollback,
                     "slot " + std::string(1, slot) + " holds " + version.ToString() +
                         ", not a release between the floor " + floor_.ToString() +
                         " and the committed " + committed_->version.ToString());
    }
    HVKIT_ASSIGN_OR_RETURN(
        Statement insert,
        db_->Prepare("INSERT INTO transactions(version, slot, state, kind, floor_after, "
                     "started_at, updated_at) VALUES (?, ?, " +
                     TxStateSqlList({TxState::kCommitting}) + ", 'rollback', ?, ?, ?)"));
    HVKIT_RETURN_IF_ERROR(insert.Bind(1, version.ToString())
                              .Bind(2, std::string_view(&slot, 1))
                              .Bind(3, floor_.ToString())
                              .Bind(4, Now())
                              .Bind(5, Now())
                              .Run());
    int64_t id = db_->LastInsertRowId();
    HVKIT_RETURN_IF_ERROR(Step(release_step::kCommitting));
    HVKIT_RETURN_IF_ERROR(SwitchCurrent(slot));
    HVKIT_RETURN_IF_ERROR(Step(release_step::kSwitched));
    // A rollback leaves the floor where it is.
    HVKIT_RETURN_IF_ERROR(MarkCommitted(id, Release{slot, version}, floor_));
    committed_ = Release{slot, version};
    HVKIT_RETURN_IF_ERROR(Step(release_step::kCommitted));
    return *committed_;
}

}  // namespace hvkit::hvmm
