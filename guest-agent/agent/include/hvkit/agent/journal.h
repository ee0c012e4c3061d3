// The agent's record of every transaction, in SQLite (STATE_DIR/agent.sqlite):
// a state machine per apply or rollback, so that an agent started after a
// crash, kill or guest reset finds what was in flight and finishes or undoes
// it (agent.h, Agent::Recover). The states are the shared vocabulary of
// hvkit/transaction_state.h:
//
//   apply:    downloading -> downloaded -> transferring -> staged
//             -> committing -> committed
//   rollback: committing -> committed
//   any step can end in failed (refused or broken) or undone (recovered
//   backwards after an interruption)
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hvkit/status.h"
#include "hvkit/store/sqlite.h"
#include "hvkit/transaction_state.h"

namespace hvkit::agent {

struct Transaction {
    int64_t id = 0;
    TxKind kind = TxKind::kApply;
    std::string from_version, to_version;
    TxState state = TxState::kDownloading;
    uint64_t session = 0;  // the hvchan update session, once there is one
    std::string detail;
    int64_t started_at = 0, updated_at = 0;
    bool finished() const { return IsFinal(state); }
};

class Journal {
  public:
    // Every write and sync of the database goes through (fs) (hvkit/file_system.h).
    static Result<std::unique_ptr<Journal>> Open(const std::string& path,
                                                 FileSystem& fs = RealFileSystem());

    // A new transaction in its first state; returns its id.
    Result<int64_t> Begin(TxKind kind, const std::string& from, const std::string& to,
                          TxState state);
    // Moves (id) to (state), recording (detail) and, when non-zero, (session).
    Status Advance(int64_t id, TxState state, const std::string& detail = "", uint64_t session = 0);
    // The unfinished transaction, if any (at most one exists: Begin refuses a
    // second while one is open).
    Result<std::optional<Transaction>> Pending();
    // Every transaction, newest first.
    Result<std::vector<Transaction>> History();

  private:
    Result<std::vector<Transaction>> Select(const std::string& where_and_order);
    std::unique_ptr<Database> db_;
};

}  // namespace hvkit::agent
