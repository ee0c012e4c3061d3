#include "hvkit/store/sqlite.h"

#include <sqlite3.h>

#include <cstring>

#include "file_system_vfs.h"

namespace hvkit {

namespace {

// SQLite's words for an error, with the system's when one of the file
// system calls failed ("disk I/O error (No space left on device)").
std::string Reason(const char* message) {
    std::string text = message;
    if (int sys = internal::LastFileSystemError(); sys != 0) {
        text += std::string(" (") + strerror(sys) + ")";
    }
    return text;
}

Status SqlError(sqlite3* db, const std::string& path, std::string_view what) {
    return Error(ErrorCode::kIo,
                 "database " + path + ": " + std::string(what) + ": " + Reason(sqlite3_errmsg(db)));
}

}  // namespace

Result<std::unique_ptr<Database>> Database::Open(const std::string& path, FileSystem& fs) {
    HVKIT_ASSIGN_OR_RETURN(std::string vfs, internal::FileSystemVfs(fs));
    sqlite3* raw = nullptr;
    internal::ClearFileSystemError();
    int rc = sqlite3_open_v2(path.c_str(), &raw,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                             vfs.c_str());
    if (rc != SQLITE_OK) {
        std::string msg = raw ? Reason(sqlite3_errmsg(raw)) : "out of memory";
        sqlite3_close(raw);
        return Error(ErrorCode::kIo, "cannot open database " + path + ": " + msg);
    }
    std::unique_ptr<Database> db(new Database(raw, path));
    sqlite3_busy_timeout(raw, 5000);
    HVKIT_RETURN_IF_ERROR(db->Exec("PRAGMA journal_mode=WAL"));
    HVKIT_RETURN_IF_ERROR(db->Exec("PRAGMA synchronous=FULL"));
    HVKIT_RETURN_IF_ERROR(db->Exec("PRAGMA foreign_keys=ON"));
    return db;
}

Database::~Database() {
    sqlite3_close_v2(db_);
}

Status Database::Exec(std::string_view sql) {
    char* err = nullptr;
    std::string text(sql);
    internal::ClearFileSystemError();
    if (sqlite3_exec(db_, text.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
        std::string msg = Reason(err ? err : "unknown error");
        sqlite3_free(err);
        return Error(ErrorCode::kIo, "database " + path_ + ": " + msg + " (in: " + text + ")");
    }
    return Status::Ok();
}

Result<Statement> Database::Prepare(std::string_view sql) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr) !=
        SQLITE_OK) {
        return SqlError(db_, path_, "cannot prepare \"" + std::string(sql) + "\"");
    }
    return Statement(this, stmt);
}

int64_t Database::LastInsertRowId() const {
    return sqlite3_last_insert_rowid(db_);
}

Statement::Statement(Statement&& other) noexcept : db_(other.db_), stmt_(other.stmt_) {
    other.stmt_ = nullptr;
}

Statement::~Statement() {
    sqlite3_finalize(stmt_);
}

Statement& Statement::Bind(int index, int64_t value) {
    sqlite3_bind_int64(stmt_, index, value);
    return *this;
}

Statement& Statement::Bind(int index, std::string_view text) {
    sqlite3_bind_text(stmt_, index, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
    return *this;
}

Statement& Statement::BindBlob(int index, std::string_view bytes) {
    sqlite3_bind_blob(stmt_, index, bytes.data(), static_cast<int>(bytes.size()), SQLITE_TRANSIENT);
    return *this;
}

Statement& Statement::BindNull(int index) {
    sqlite3_bind_null(stmt_, index);
    return *this;
}

Result<bool> Statement::Step() {
    internal::ClearFileSystemError();
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return SqlError(db_->db_, db_->path_, "statement failed");
}

Status Statement::Run() {
    for (;;) {
        HVKIT_ASSIGN_OR_RETURN(bool row, Step());
        if (!row) return Status::Ok();
    }
}

int64_t Statement::ColumnInt(int column) const {
    return sqlite3_column_int64(stmt_, column);
}

std::string Statement::ColumnText(int column) const {
    const unsigned char* text = sqlite3_column_text(stmt_, column);
    return text ? std::string(reinterpret_cast<const char*>(text),
                              static_cast<size_t>(sqlite3_column_bytes(stmt_, column)))
                : std::string();
}

std::string Statement::ColumnBlob(int column) const {
    const void* blob = sqlite3_column_blob(stmt_, column);
    return blob ? std::string(static_cast<const char*>(blob),
                              static_cast<size_t>(sqlite3_column_bytes(stmt_, column)))
                : std::string();
}

bool Statement::ColumnIsNull(int column) const {
    return sqlite3_column_type(stmt_, column) == SQLITE_NULL;
}

}  // namespace hvkit
