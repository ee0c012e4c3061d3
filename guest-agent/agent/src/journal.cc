// The agent's transaction journal in SQLite.
#include "hvkit/agent/journal.h"

#include "hvkit/clock.h"

namespace hvkit::agent {

namespace {

std::string Schema() {
    return "CREATE TABLE IF NOT EXISTS transactions("
           "id INTEGER PRIMARY KEY AUTOINCREMENT,"
           "kind TEXT NOT NULL CHECK (kind IN ('apply', 'rollback')),"
           "from_version TEXT NOT NULL,"
           "to_version TEXT NOT NULL,"
           "state TEXT NOT NULL CHECK (state IN (" +
           TxStateSqlList({TxState::kDownloading, TxState::kDownloaded, TxState::kTransferring,
                           TxState::kStaged, TxState::kCommitting, TxState::kCommitted,
                           TxState::kFailed, TxState::kUndone}) +
           ")),"
           "session INTEGER NOT NULL DEFAULT 0,"
           "detail TEXT NOT NULL DEFAULT '',"
           "started_at INTEGER NOT NULL,"
           "updated_at INTEGER NOT NULL);";
}

constexpr const char* kColumns =
    "id, kind, from_version, to_version, state, session, detail, started_at, updated_at";

int64_t Now() {
    return RealClock().UnixSeconds();
}

Result<Transaction> FromRow(const Statement& st) {
    Transaction t;
    t.id = st.ColumnInt(0);
    HVKIT_ASSIGN_OR_RETURN(t.kind, ParseTxKind(st.ColumnText(1), "agent journal kind"));
    t.from_version = st.ColumnText(2);
    t.to_version = st.ColumnText(3);
    HVKIT_ASSIGN_OR_RETURN(t.state, ParseTxState(st.ColumnText(4), "agent journal state"));
    t.session = static_cast<uint64_t>(st.ColumnInt(5));
    t.detail = st.ColumnText(6);
    t.started_at = st.ColumnInt(7);
    t.updated_at = st.ColumnInt(8);
    return t;
}

}  // namespace

Result<std::unique_ptr<Journal>> Journal::Open(const std::string& path, FileSystem& fs) {
    auto j = std::make_unique<Journal>();
    HVKIT_ASSIGN_OR_RETURN(j->db_, Database::Open(path, fs));
    HVKIT_RETURN_IF_ERROR(j->db_->Exec(Schema()));
    return j;
}

Result<int64_t> Journal::Begin(TxKind kind, const std::string& from, const std::string& to,
                               TxState state) {
    HVKIT_ASSIGN_OR_RETURN(std::optional<Transaction> open, Pending());
    if (open) {
        return Error(ErrorCode::kConflict, "transaction " + std::to_string(open->id) + " (" +
                                               std::string(TxKindName(open->kind)) + " to " +
                                               open->to_version + ") is still " +
                                               std::string(TxStateName(open->state)));
    }
    HVKIT_ASSIGN_OR_RETURN(
        Statement st, db_->Prepare("INSERT INTO transactions(kind, from_version, to_version, "
                                   "state, started_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)"));
    HVKIT_RETURN_IF_ERROR(st.Bind(1, TxKindName(kind))
                              .Bind(2, from)
                              .Bind(3, to)
                              .Bind(4, TxStateName(state))
                              .Bind(5, Now())
                              .Bind(6, Now())
                              .Run());
    return db_->LastInsertRowId();
}

Status Journal::Advance(int64_t id, TxState state, const std::string& detail, uint64_t session) {
    HVKIT_ASSIGN_OR_RETURN(
        Statement st,
        db_->Prepare("UPDATE transactions SET state = ?, detail = ?, updated_at = ?, "
                     "session = CASE WHEN ? = 0 THEN session ELSE ? END WHERE id = ?"));
    return st.Bind(1, TxStateName(state))
        .Bind(2, detail)
        .Bind(3, Now())
        .Bind(4, static_cast<int64_t>(session))
        .Bind(5, static_cast<int64_t>(session))
        .Bind(6, id)
        .Run();
}

Result<std::vector<Transaction>> Journal::Select(const std::string& where_and_order) {
    HVKIT_ASSIGN_OR_RETURN(Statement st, db_->Prepare(std::string("SELECT ") + kColumns +
                                                      " FROM transactions " + where_and_order));
    std::vector<Transaction> out;
    for (;;) {
        HVKIT_ASSIGN_OR_RETURN(bool row, st.Step());
        if (!row) break;
        HVKIT_ASSIGN_OR_RETURN(Transaction t, FromRow(st));
        out.push_back(std::move(t));
    }
    return out;
}

Result<std::optional<Transaction>> Journal::Pending() {
    HVKIT_ASSIGN_OR_RETURN(
        std::vector<Transaction> open,
        Select("WHERE state NOT IN (" +
               TxStateSqlList({TxState::kCommitted, TxState::kFailed, TxState::kUndone}) +
               ") ORDER BY id DESC LIMIT 1"));
    if (open.empty()) return std::optional<Transaction>();
    return std::optional<Transaction>(std::move(open.front()));
}

Result<std::vector<Transaction>> Journal::History() {
    return Select("ORDER BY id DESC");
}

}  // namespace hvkit::agent
