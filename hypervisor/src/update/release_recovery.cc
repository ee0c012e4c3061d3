// Finishing or undoing a release transaction an earlier hvmm left unfinished.
// Runs under the store lock; a transaction whose owner still lives (it holds
// DIR/stage.lock: another hvmm on the same directory) is left to it.
//
//   staging     the package was being verified or extracted: drop
//               slots/.incoming; if the journal had stopped naming the target
//               slot's release (the slot was being replaced), empty the slot
//               (the committed release was never touched)
//   staged      extracted and verified, never committed: the guest session
//               that staged it ended with that process, so it expires; the
//               slot is emptied
//   committing  the switch was decided: make `current` point to the slot
//               (whether or not the rename happened) and mark it committed
//
// Whatever the journal says, slots/.incoming and extraction staging
// directories beside it are removed: they are a failed or cut stage's
// (under the store lock no stage is running), and a failed stage's own
// clean-up may not be durable, so a power cut can bring them back.
#include <dirent.h>

#include <cerrno>
#include <cstring>

#include "hvkit/fs.h"
#include "update/release_store.h"

namespace hvkit::hvmm {

Status ReleaseStore::RemoveStagingLeftovers() {
    std::string slots = dir_ + "/slots";
    std::vector<std::string> stale;
    if (DIR* d = opendir(slots.c_str())) {
        while (dirent* e = readdir(d)) {
            std::string name = e->d_name;
            // slots/.incoming and its extraction's "..incoming.staging-XXXXXX"
            if (name.rfind(".incoming", 0) == 0 || name.rfind("..incoming.staging-", 0) == 0) {
                stale.push_back(name);
            }
        }
        closedir(d);
    }
    // Not fsynced: if a power cut brings them back, the next start removes
    // them again.
    for (const auto& name : stale) HVKIT_RETURN_IF_ERROR(RemoveTree(slots + "/" + name, fs()));
    return Status::Ok();
}

Status ReleaseStore::Recover() {
    HVKIT_ASSIGN_OR_RETURN(
        Statement st,
        db_->Prepare("SELECT id, version, slot, state, floor_after FROM transactions WHERE state "
                     "IN (" +
                     TxStateSqlList({TxState::kStaging, TxState::kStaged, TxState::kCommitting}) +
                     ") ORDER BY id"));
    struct Pending {
        int64_t id;
        std::string version, slot;
        TxState state;
        std::string floor_after;
    };
    std::vector<Pending> pending;
    for (;;) {
        HVKIT_ASSIGN_OR_RETURN(bool row, st.Step());
        if (!row) break;
        HVKIT_ASSIGN_OR_RETURN(TxState state, ParseTxState(st.ColumnText(3), "journal state"));
        pending.push_back(
            {st.ColumnInt(0), st.ColumnText(1), st.ColumnText(2), state, st.ColumnText(4)});
    }
    // A stray link from a switch cut between its symlink and its rename.
    HVKIT_RETURN_IF_ERROR(RemoveTree(dir_ + "/current.new", fs()));
    HVKIT_RETURN_IF_ERROR(RemoveStagingLeftovers());
    // Whether the staged transaction's owner still lives, asked once: it
    // holds stage.lock until it commits, aborts or dies.
    bool owner_alive = !pending.empty() && !LockFile(dir_ + "/stage.lock", /*wait=*/false).ok();
    for (const Pending& p : pending) {
        char slot = p.slot == "b" ? 'b' : 'a';
        if (p.state != TxState::kCommitting && owner_alive) continue;  // a live hvmm's transaction
        if (p.state == TxState::kStaging) {
            HVKIT_RETURN_IF_ERROR(RemoveTree(dir_ + "/slots/.incoming", fs()));
            HVKIT_ASSIGN_OR_RETURN(std::optional<SemVer> held, SlotVersion(slot));
            if (!held) HVKIT_RETURN_IF_ERROR(RemoveTree(SlotPath(slot), fs()));
            HVKIT_RETURN_IF_ERROR(SyncDirectory(dir_ + "/slots", fs()));
            HVKIT_RETURN_IF_ERROR(SetState(p.id, TxState::kUndone, "interrupted while staging"));
        } else if (p.state == TxState::kStaged) {
            HVKIT_RETURN_IF_ERROR(RemoveTree(SlotPath(slot), fs()));
            HVKIT_RETURN_IF_ERROR(SyncDirectory(dir_ + "/slots", fs()));
            // A trial whose owner died (the host restarted, the hvmm holding
            // it was killed) was never decided: `current` never moved.
            HVKIT_ASSIGN_OR_RETURN(std::optional<Trial> trial, LastTrial());
            bool on_trial =
                trial && trial->transaction == p.id && trial->outcome == TrialOutcome::kOnTrial;
            HVKIT_RETURN_IF_ERROR(db_->Transaction([&]() -> Status {
                if (!on_trial) {
                    return SetState(p.id, TxState::kUndone,
                                    "staged by an earlier hvmm process; expired");
                }
                HVKIT_RETURN_IF_ERROR(
                    SetState(p.id, TxState::kUndone, "interrupted during its trial"));
                return EndTrial(p.id, TrialOutcome::kFailed,
                                "interrupted: the hvmm holding the trial ended before it was "
                                "decided; the previous release runs");
            }));
        } else {
            HVKIT_ASSIGN_OR_RETURN(SemVer floor_after,
                                   SemVer::Parse(p.floor_after, "journal floor_after"));
            HVKIT_ASSIGN_OR_RETURN(SemVer version, SemVer::Parse(p.version, "journal version"));
            HVKIT_ASSIGN_OR_RETURN(std::optional<char> current, ReadCurrent());
            if (current != slot) HVKIT_RETURN_IF_ERROR(SwitchCurrent(slot));
            HVKIT_RETURN_IF_ERROR(MarkCommitted(p.id, Release{slot, version}, floor_after));
        }
    }
    return Status::Ok();
}

}  // namespace hvkit::hvmm
