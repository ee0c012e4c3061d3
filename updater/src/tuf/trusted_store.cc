#include "hvkit/tuf/trusted_store.h"

#include <unistd.h>

#include "hvkit/fs.h"
#include "hvkit/store/sqlite.h"
#include "hvkit/url.h"

namespace hvkit::tuf {

namespace {

constexpr size_t kMaxStoredMetadata = 64 * 1024 * 1024;

class SqliteTrustedStore final : public TrustedStore {
  public:
    explicit SqliteTrustedStore(std::unique_ptr<Database> db) : db_(std::move(db)) {}

    Status Init() {
        return db_->Exec(
            "CREATE TABLE IF NOT EXISTS trusted_metadata ("
            "  role TEXT PRIMARY KEY, bytes BLOB NOT NULL, stored_at INTEGER NOT NULL);"
            "CREATE TABLE IF NOT EXISTS downloads ("
            "  id INTEGER PRIMARY KEY AUTOINCREMENT, target TEXT NOT NULL, url TEXT NOT NULL,"
            "  length INTEGER NOT NULL, sha256 TEXT NOT NULL, outcome TEXT NOT NULL,"
            "  started_at INTEGER NOT NULL, finished_at INTEGER NOT NULL DEFAULT 0);");
    }

    Result<std::optional<std::string>> Load(const std::string& role) override {
        HVKIT_ASSIGN_OR_RETURN(Statement st,
                               db_->Prepare("SELECT bytes FROM trusted_metadata WHERE role = ?"));
        st.Bind(1, role);
        HVKIT_ASSIGN_OR_RETURN(bool row, st.Step());
        if (!row) return std::optional<std::string>();
        return std::optional<std::string>(st.ColumnBlob(0));
    }

    Status Save(const std::string& role, std::string_view bytes) override {
        HVKIT_ASSIGN_OR_RETURN(Statement st,
                               db_->Prepare("INSERT INTO trusted_metadata (role, bytes, stored_at) "
                                            "VALUES (?, ?, strftime('%s','now'))"
                                            " ON CONFLICT(role) DO UPDATE SET bytes = "
                                            "excluded.bytes, stored_at = excluded.stored_at"));
        st.Bind(1, role).BindBlob(2, bytes);
        return st.Run();
    }

    Status Remove(const std::string& role) override {
        HVKIT_ASSIGN_OR_RETURN(Statement st,
                               db_->Prepare("DELETE FROM trusted_metadata WHERE role = ?"));
        st.Bind(1, role);
        return st.Run();
    }

    Result<int64_t> BeginDownload(const DownloadRecord& r) override {
        HVKIT_ASSIGN_OR_RETURN(
            Statement st,
            db_->Prepare("INSERT INTO downloads (target, url, length, sha256, outcome, started_at)"
                         " VALUES (?, ?, ?, ?, 'started', ?)"));
        st.Bind(1, r.target)
            .Bind(2, r.url)
            .Bind(3, r.length)
            .Bind(4, r.sha256)
            .Bind(5, r.started_at);
        HVKIT_RETURN_IF_ERROR(st.Run());
        return db_->LastInsertRowId();
    }

    Status FinishDownload(int64_t id, const std::string& outcome, int64_t finished_at) override {
        HVKIT_ASSIGN_OR_RETURN(
            Statement st,
            db_->Prepare("UPDATE downloads SET outcome = ?, finished_at = ? WHERE id = ?"));
        st.Bind(1, outcome).Bind(2, finished_at).Bind(3, id);
        return st.Run();
    }

    Result<std::vector<DownloadRecord>> Downloads() override {
        HVKIT_ASSIGN_OR_RETURN(
            Statement st,
            db_->Prepare("SELECT id, target, url, length, sha256, outcome, started_at, finished_at"
                         " FROM downloads ORDER BY id"));
        std::vector<DownloadRecord> out;
        for (;;) {
            HVKIT_ASSIGN_OR_RETURN(bool row, st.Step());
            if (!row) break;
            out.push_back({st.ColumnInt(0), st.ColumnText(1), st.ColumnText(2), st.ColumnInt(3),
                           st.ColumnText(4), st.ColumnText(5), st.ColumnInt(6), st.ColumnInt(7)});
        }
        return out;
    }

  private:
    std::unique_ptr<Database> db_;
};

class DirectoryTrustedStore final : public TrustedStore {
  public:
    explicit DirectoryTrustedStore(std::string dir) : dir_(std::move(dir)) {}

    Result<std::optional<std::string>> Load(const std::string& role) override {
        auto bytes = ReadFile(PathOf(role), kMaxStoredMetadata);
        if (!bytes.ok()) {
            if (bytes.status().code() == ErrorCode::kNotFound) return std::optional<std::string>();
            return bytes.status();
        }
        return std::optional<std::string>(std::move(bytes).value());
    }

    Status Save(const std::string& role, std::string_view bytes) override {
        return WriteFileAtomic(PathOf(role), bytes);
    }

    Status Remove(const std::string& role) override {
        if (unlink(PathOf(role).c_str()) != 0 && errno != ENOENT) {
            return Error(ErrorCode::kIo, "cannot remove " + PathOf(role));
        }
        return Status::Ok();
    }

    Result<int64_t> BeginDownload(const DownloadRecord&) override { return int64_t{0}; }
    Status FinishDownload(int64_t, const std::string&, int64_t) override { return Status::Ok(); }
    Result<std::vector<DownloadRecord>> Downloads() override {
        return std::vector<DownloadRecord>();
    }

  private:
    std::string PathOf(const std::string& role) const {
        return dir_ + "/" + PercentEncode(role) + ".json";
    }
    std::string dir_;
};

}  // namespace

Result<std::unique_ptr<TrustedStore>> OpenSqliteTrustedStore(const std::string& path) {
    HVKIT_ASSIGN_OR_RETURN(auto db, Database::Open(path));
    auto store = std::make_unique<SqliteTrustedStore>(std::move(db));
    HVKIT_RETURN_IF_ERROR(store->Init());
    return std::unique_ptr<TrustedStore>(std::move(store));
}

std::unique_ptr<TrustedStore> MakeDirectoryTrustedStore(const std::string& dir) {
    return std::make_unique<DirectoryTrustedStore>(dir);
}

}  // namespace hvkit::tuf
