#include "hvkit/package/writer.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "hvkit/fs.h"
#include "hvkit/package/path_rules.h"

namespace hvkit {

namespace {

Status SetUpFilter(struct archive* a, const WriterOptions& options) {
    int r = ARCHIVE_OK;
    const char* name = nullptr;
    switch (options.compression) {
        case Compression::kNone:
            return Status::Ok();
        case Compression::kZstd:
            r = archive_write_add_filter_zstd(a);
            name = "zstd";
            break;
        case Compression::kXz:
            r = archive_write_add_filter_xz(a);
            name = "xz";
            break;
    }
    if (r != ARCHIVE_OK) {
        return Error(ErrorCode::kIo, std::string("libarchive cannot write ") + name + ": " +
                                         archive_error_string(a));
    }
    if (options.level != 0) {
        std::string level = std::to_string(options.level);
        if (archive_write_set_filter_option(a, name, "compression-level", level.c_str()) !=
            ARCHIVE_OK) {
            return Error(ErrorCode::kInvalidArgument,
                         std::string(name) + " compression level " + level +
                             " is not valid: " + archive_error_string(a));
        }
    }
    return Status::Ok();
}

// One regular-file header: fixed owner and time, so equal input gives equal bytes.
Status WriteHeader(struct archive* a, const std::string& name, uint32_t mode, uint64_t size) {
    archive_entry* entry = archive_entry_new();
    archive_entry_set_pathname(entry, name.c_str());
    archive_entry_set_filetype(entry, AE_IFREG);
    archive_entry_set_perm(entry, mode);
    archive_entry_set_size(entry, static_cast<la_int64_t>(size));
    archive_entry_set_mtime(entry, 0, 0);
    archive_entry_set_uid(entry, 0);
    archive_entry_set_gid(entry, 0);
    int r = archive_write_header(a, entry);
    archive_entry_free(entry);
    if (r != ARCHIVE_OK) {
        return Error(ErrorCode::kIo, "cannot write the archive header of " + Quote(name) + ": " +
                                         archive_error_string(a));
    }
    return Status::Ok();
}

}  // namespace

PackageWriter::PackageWriter(std::string path, std::string tmp_path, int fd,
                             struct archive* archive)
    : path_(std::move(path)), tmp_path_(std::move(tmp_path)), fd_(fd), archive_(archive) {}

PackageWriter::~PackageWriter() {
    archive_write_free(archive_);  // does not close fd_
    if (fd_ >= 0) close(fd_);
    if (!committed_) unlink(tmp_path_.c_str());
}

Result<std::unique_ptr<PackageWriter>> PackageWriter::Create(const std::string& path,
                                                             const WriterOptions& options) {
    std::string templ = path + ".tmp-XXXXXX";
    std::vector<char> buf(templ.begin(), templ.end());
    buf.push_back('\0');
    int fd = mkstemp(buf.data());
    if (fd < 0) {
        return Error(ErrorCode::kIo,
                     "cannot create a temporary file beside " + path + ": " + strerror(errno));
    }
    fchmod(fd, 0644);
    struct archive* a = archive_write_new();
    std::unique_ptr<PackageWriter> writer(new PackageWriter(path, buf.data(), fd, a));
    archive_write_set_format_pax_restricted(a);
    HVKIT_RETURN_IF_ERROR(SetUpFilter(a, options));
    archive_write_set_bytes_in_last_block(a, 1);
    if (archive_write_open_fd(a, fd) != ARCHIVE_OK) return writer->ArchiveError("opening");
    return writer;
}

Status PackageWriter::ArchiveError(const std::string& during) const {
    const char* why = archive_error_string(archive_);
    return Error(ErrorCode::kIo, "cannot write package " + path_ + " (" + during +
                                     "): " + (why ? why : "unknown libarchive error"));
}

Status PackageWriter::AddManifest(const SignedEnvelope& envelope) {
    if (have_manifest_)
        return Error(ErrorCode::kConflict, "package writer: manifest written twice");
    HVKIT_ASSIGN_OR_RETURN(manifest_,
                           Manifest::FromJson(envelope.signed_body, "manifest of " + path_));
    have_manifest_ = true;
    std::string text = DumpJson(envelope.ToJson()) + "\n";
    HVKIT_RETURN_IF_ERROR(
        WriteHeader(archive_, std::string(kManifestEntryName), 0644, text.size()));
    if (archive_write_data(archive_, text.data(), text.size()) !=
        static_cast<la_ssize_t>(text.size())) {
        return ArchiveError("writing the manifest");
    }
    return Status::Ok();
}

Status PackageWriter::BeginFile(const PackageFile& file) {
    if (!have_manifest_ || current_ != nullptr) {
        return Error(ErrorCode::kConflict, "package writer: BeginFile out of order");
    }
    const PackageFile* listed = manifest_.Find(file.path);
    if (listed == nullptr || !(*listed == file)) {
        return Error(ErrorCode::kInvalidArgument,
                     "package writer: file " + Quote(file.path) + " does not match the manifest");
    }
    if (!written_.insert(file.path).second) {
        return Error(ErrorCode::kConflict,
                     "package writer: file " + Quote(file.path) + " written twice");
    }
    HVKIT_RETURN_IF_ERROR(WriteHeader(archive_, PayloadEntryName(file.path), file.mode, file.size));
    current_ = listed;
    current_bytes_ = 0;
    current_hash_ = std::make_unique<Sha256>();
    return Status::Ok();
}

Status PackageWriter::Write(const void* data, size_t size) {
    if (current_ == nullptr) return Error(ErrorCode::kConflict, "package writer: no open file");
    if (current_bytes_ + size > current_->size) {
        return Error(ErrorCode::kHashMismatch, "content of " + Quote(current_->path) +
                                                   " is larger than the manifest's size " +
                                                   std::to_string(current_->size) +
                                                   " (did the source change?)");
    }
    current_hash_->Update(data, size);
    current_bytes_ += size;
    if (archive_write_data(archive_, data, size) != static_cast<la_ssize_t>(size)) {
        return ArchiveError("writing " + current_->path);
    }
    return Status::Ok();
}

Status PackageWriter::EndFile() {
    if (current_ == nullptr) return Error(ErrorCode::kConflict, "package writer: no open file");
    const PackageFile& file = *current_;
    current_ = nullptr;
    if (current_bytes_ != file.size || HexEncode(current_hash_->Final()) != file.sha256) {
        return Error(ErrorCode::kHashMismatch,
                     "content of " + Quote(file.path) +
                         " does not match the manifest's size and SHA-256 (did the source "
                         "change while the package was built?)");
    }
    files_written_++;
    return Status::Ok();
}

Status PackageWriter::Commit() {
    if (!have_manifest_ || current_ != nullptr) {
        return Error(ErrorCode::kConflict, "package writer: Commit out of order");
    }
    if (files_written_ != manifest_.files.size()) {
        return Error(ErrorCode::kConflict, "package writer: " + std::to_string(files_written_) +
                                               " of " + std::to_string(manifest_.files.size()) +
                                               " manifest files written");
    }
    if (archive_write_close(archive_) != ARCHIVE_OK) return ArchiveError("finishing");
    if (fsync(fd_) != 0) {
        return Error(ErrorCode::kIo, "cannot fsync " + tmp_path_ + ": " + strerror(errno));
    }
    int fd = fd_;
    fd_ = -1;
    if (close(fd) != 0) {
        return Error(ErrorCode::kIo, "cannot close " + tmp_path_ + ": " + strerror(errno));
    }
    if (rename(tmp_path_.c_str(), path_.c_str()) != 0) {
        return Error(ErrorCode::kIo,
                     "cannot rename " + tmp_path_ + " to " + path_ + ": " + strerror(errno));
    }
    committed_ = true;
    return SyncDirectory(DirName(path_));
}

}  // namespace hvkit
