// A staged release on trial: journaled in its own table while its hvmm takes
// over the guest, passed by Commit, failed by FailTrial or by recovery when
// its owner died first (docs/live-takeover.md, "The trial").
#include <unistd.h>

#include "hvkit/clock.h"
#include "update/release_store.h"

namespace hvkit::hvmm {

namespace {

// Additive to schema 1 (no user_version change): hvmm 0.1.x before trials
// ignores the table, so a rollback to it reads this journal unchanged.
constexpr const char* kTrialsTable =
    "CREATE TABLE IF NOT EXISTS trials(transaction_id INTEGER PRIMARY KEY, "
    "version TEXT NOT NULL, "
    "outcome TEXT NOT NULL CHECK (outcome IN ('on-trial', 'passed', 'failed')), "
    "detail TEXT NOT NULL DEFAULT '', started_at INTEGER NOT NULL, "
    "ended_at INTEGER NOT NULL DEFAULT 0);";

Result<TrialOutcome> ParseTrialOutcome(std::string_view name) {
    for (TrialOutcome o : {TrialOutcome::kOnTrial, TrialOutcome::kPassed, TrialOutcome::kFailed}) {
        if (TrialOutcomeName(o) == name) return o;
    }
    return Error(ErrorCode::kMalformed, "journal trial outcome \"" + std::string(name) +
                                            "\" is not on-trial, passed or failed");
}

// The newest trial in (db); none when it has none or no trials table (a
// journal no trial ever touched).
Result<std::optional<Trial>> ReadLastTrial(Database& db) {
    {
        HVKIT_ASSIGN_OR_RETURN(Statement table,
                               db.Prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND "
                                          "name = 'trials'"));
        HVKIT_ASSIGN_OR_RETURN(bool exists, table.Step());
        if (!exists) return std::optional<Trial>();
    }
    HVKIT_ASSIGN_OR_RETURN(
        Statement st, db.Prepare("SELECT transaction_id, version, outcome, detail, started_at, "
                                 "ended_at FROM trials ORDER BY transaction_id DESC LIMIT 1"));
    HVKIT_ASSIGN_OR_RETURN(bool row, st.Step());
    if (!row) return std::optional<Trial>();
    Trial t;
    t.transaction = st.ColumnInt(0);
    HVKIT_ASSIGN_OR_RETURN(t.version, SemVer::Parse(st.ColumnText(1), "journal trial version"));
    HVKIT_ASSIGN_OR_RETURN(t.outcome, ParseTrialOutcome(st.ColumnText(2)));
    t.detail = st.ColumnText(3);
    t.started_at = st.ColumnInt(4);
    t.ended_at = st.ColumnInt(5);
    return std::optional<Trial>(t);
}

}  // namespace

std::string_view TrialOutcomeName(TrialOutcome outcome) {
    switch (outcome) {
        case TrialOutcome::kOnTrial:
            return "on-trial";
        case TrialOutcome::kPassed:
            return "passed";
        case TrialOutcome::kFailed:
            return "failed";
    }
    return "on-trial";
}

Status ReleaseStore::OpenTrials() {
    return db_->Exec(kTrialsTable);
}

Status ReleaseStore::EndTrial(int64_t transaction, TrialOutcome outcome, std::string_view detail) {
    HVKIT_ASSIGN_OR_RETURN(
        Statement st, db_->Prepare("UPDATE trials SET outcome = ?, detail = ?, ended_at = ? WHERE "
                                   "transaction_id = ? AND outcome = 'on-trial'"));
    return st.Bind(1, TrialOutcomeName(outcome))
        .Bind(2, detail)
        .Bind(3, RealClock().UnixSeconds())
        .Bind(4, transaction)
        .Run();
}

Result<Trial> ReleaseStore::BeginTrial() {
    HVKIT_ASSIGN_OR_RETURN(UniqueFd lock, LockAndReload());
    if (!staged_) return Error(ErrorCode::kConflict, "no staged release to put on trial");
    HVKIT_ASSIGN_OR_RETURN(std::optional<Trial> last, LastTrial());
    if (last && last->transaction == staged_->transaction) {
        return Error(ErrorCode::kConflict,
                     "release " + staged_->release.version.ToString() + " is already on trial");
    }
    Trial t;
    t.transaction = staged_->transaction;
    t.version = staged_->release.version;
    t.started_at = RealClock().UnixSeconds();
    HVKIT_ASSIGN_OR_RETURN(Statement st,
                           db_->Prepare("INSERT INTO trials(transaction_id, version, outcome, "
                                        "started_at) VALUES (?, ?, 'on-trial', ?)"));
    HVKIT_RETURN_IF_ERROR(
        st.Bind(1, t.transaction).Bind(2, t.version.ToString()).Bind(3, t.started_at).Run());
    return t;
}

Status ReleaseStore::FailTrial(std::string_view why) {
    HVKIT_ASSIGN_OR_RETURN(UniqueFd lock, LockAndReload());
    HVKIT_ASSIGN_OR_RETURN(std::optional<Trial> last, LastTrial());
    if (!staged_ || !last || last->transaction != staged_->transaction ||
        last->outcome != TrialOutcome::kOnTrial) {
        return Error(ErrorCode::kConflict, "no release is on trial");
    }
    // The slot first, durable, then the journal: a cut between leaves a
    // staged row with a dead owner, which recovery ends the same way.
    HVKIT_RETURN_IF_ERROR(RemoveTree(SlotPath(staged_->release.slot), fs()));
    HVKIT_RETURN_IF_ERROR(SyncDirectory(dir_ + "/slots", fs()));
    std::string detail = "trial failed: " + std::string(why);
    HVKIT_RETURN_IF_ERROR(db_->Transaction([&]() -> Status {
        HVKIT_RETURN_IF_ERROR(SetState(staged_->transaction, TxState::kFailed, detail));
        return EndTrial(staged_->transaction, TrialOutcome::kFailed, why);
    }));
    staged_.reset();
    stage_owner_ = UniqueFd();
    return Status::Ok();
}

Result<std::optional<Trial>> ReleaseStore::LastTrial() const {
    return ReadLastTrial(*db_);
}

Result<std::optional<Trial>> ReleaseStore::PeekTrial(const std::string& dir) {
    if (access((dir + "/journal.sqlite").c_str(), F_OK) != 0) return std::optional<Trial>();
    HVKIT_ASSIGN_OR_RETURN(std::unique_ptr<Database> db, Database::Open(dir + "/journal.sqlite"));
    return ReadLastTrial(*db);
}

}  // namespace hvkit::hvmm
