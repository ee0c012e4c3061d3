// Where a TUF client keeps the metadata it trusts between runs, and the record
// of what it downloaded. Two implementations: SQLite (hvkit's agent; one
// transactional file for metadata and download records) and a directory of
// "<role>.json" files (the layout the TUF conformance suite inspects).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "hvkit/status.h"

namespace hvkit::tuf {

struct DownloadRecord {
    int64_t id = 0;
    std::string target;
    std::string url;
    int64_t length = 0;
    std::string sha256;
    std::string outcome;  // "started", "ok", or the error message
    int64_t started_at = 0;
    int64_t finished_at = 0;
};

class TrustedStore {
  public:
    virtual ~TrustedStore() = default;

    // The stored bytes of (role) ("root", "timestamp", a delegated name), or
    // nullopt when none is stored.
    virtual Result<std::optional<std::string>> Load(const std::string& role) = 0;
    // Atomically replaces the stored (role) with (bytes).
    virtual Status Save(const std::string& role, std::string_view bytes) = 0;
    virtual Status Remove(const std::string& role) = 0;

    // Download bookkeeping; stores without it accept and drop records.
    virtual Result<int64_t> BeginDownload(const DownloadRecord& record) = 0;
    virtual Status FinishDownload(int64_t id, const std::string& outcome, int64_t finished_at) = 0;
    virtual Result<std::vector<DownloadRecord>> Downloads() = 0;
};

// Metadata and download records in the SQLite database at (path).
Result<std::unique_ptr<TrustedStore>> OpenSqliteTrustedStore(const std::string& path);

// "<dir>/<role>.json" files (role names URL-encoded), written atomically.
std::unique_ptr<TrustedStore> MakeDirectoryTrustedStore(const std::string& dir);

}  // namespace hvkit::tuf
