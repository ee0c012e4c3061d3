// Writes a .hvpkg package: manifest.json first, then one "payload/<path>" entry
// per file, each hashed as it is written and checked against the manifest. The
// archive goes to a temporary file beside the target and is renamed into place
// by Commit(), so a reader never sees a half-written package.
#pragma once

#include <memory>
#include <set>
#include <string>

#include "hvkit/crypto.h"
#include "hvkit/package/format.h"
#include "hvkit/package/manifest.h"
#include "hvkit/signed.h"
#include "hvkit/status.h"

struct archive;

namespace hvkit {

struct WriterOptions {
    Compression compression = Compression::kZstd;
    // Compressor level; 0 keeps libarchive's default (zstd 3, xz 6).
    int level = 0;
};

class PackageWriter {
  public:
    // Starts a package that will replace (path) on Commit().
    static Result<std::unique_ptr<PackageWriter>> Create(const std::string& path,
                                                         const WriterOptions& options = {});
    // Removes the temporary file unless Commit() succeeded.
    ~PackageWriter();
    PackageWriter(const PackageWriter&) = delete;
    PackageWriter& operator=(const PackageWriter&) = delete;

    // Writes manifest.json holding (envelope); must come first, once. The
    // envelope's body must be a valid manifest; it names the files to follow.
    Status AddManifest(const SignedEnvelope& envelope);
    // Starts the entry of (file), which must be in the manifest, once.
    Status BeginFile(const PackageFile& file);
    // Appends content to the current file.
    Status Write(const void* data, size_t size);
    // Ends the current file; its size and SHA-256 must match the manifest
    // (a source that changed after it was hashed is caught here).
    Status EndFile();
    // Checks every manifest file was written, finishes the archive, fsyncs it
    // and renames it to the target path.
    Status Commit();

  private:
    PackageWriter(std::string path, std::string tmp_path, int fd, struct archive* archive);
    Status ArchiveError(const std::string& during) const;

    std::string path_;
    std::string tmp_path_;
    int fd_;
    struct archive* archive_;
    Manifest manifest_;
    bool have_manifest_ = false;
    size_t files_written_ = 0;
    const PackageFile* current_ = nullptr;
    uint64_t current_bytes_ = 0;
    std::unique_ptr<Sha256> current_hash_;
    std::set<std::string> written_;
    bool committed_ = false;
};

}  // namespace hvkit
