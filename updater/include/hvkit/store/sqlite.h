// A thin RAII layer over SQLite for hvkit's persistent state. Statements are
// prepared with bound parameters only; every failure names the database file.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hvkit/file_system.h"
#include "hvkit/status.h"

struct sqlite3;
struct sqlite3_stmt;

namespace hvkit {

class Statement;

class Database {
  public:
    // Opens or creates (path) with WAL journaling, synchronous=FULL and a busy
    // timeout, so a commit survives a power cut and readers do not block writers.
    // Every write, sync, create and delete of the database and its WAL goes
    // through (fs), which must outlive the database.
    static Result<std::unique_ptr<Database>> Open(const std::string& path,
                                                  FileSystem& fs = RealFileSystem());
    ~Database();

    // Runs SQL without results (schema, BEGIN/COMMIT).
    Status Exec(std::string_view sql);
    Result<Statement> Prepare(std::string_view sql);
    int64_t LastInsertRowId() const;
    const std::string& path() const { return path_; }

    // Runs (body) inside BEGIN IMMEDIATE ... COMMIT; rolls back if it fails.
    template <typename F>
    Status Transaction(F&& body) {
        HVKIT_RETURN_IF_ERROR(Exec("BEGIN IMMEDIATE"));
        Status st = body();
        if (!st.ok()) {
            (void)Exec("ROLLBACK");
            return st;
        }
        return Exec("COMMIT");
    }

  private:
    Database(sqlite3* db, std::string path) : db_(db), path_(std::move(path)) {}
    friend class Statement;
    sqlite3* db_;
    std::string path_;
};

class Statement {
  public:
    Statement(Statement&& other) noexcept;
    ~Statement();

    Statement& Bind(int index, int64_t value);
    Statement& Bind(int index, std::string_view text);
    Statement& BindBlob(int index, std::string_view bytes);
    Statement& BindNull(int index);

    // Advances to the next row: true with a row, false when done.
    Result<bool> Step();
    // Runs to completion, for statements without results.
    Status Run();

    int64_t ColumnInt(int column) const;
    std::string ColumnText(int column) const;
    std::string ColumnBlob(int column) const;
    bool ColumnIsNull(int column) const;

  private:
    Statement(Database* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
    friend class Database;
    Database* db_;
    sqlite3_stmt* stmt_;
};

}  // namespace hvkit
