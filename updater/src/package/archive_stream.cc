#include "archive_stream.h"

namespace hvkit::internal {

ArchiveStream::ArchiveStream(PackageInput& input) : input_(input), archive_(archive_read_new()) {}

ArchiveStream::~ArchiveStream() {
    archive_read_free(archive_);
}

la_ssize_t ArchiveStream::ReadCallback(struct archive* a, void* self, const void** buffer) {
    auto* stream = static_cast<ArchiveStream*>(self);
    auto chunk = stream->input_.Read();
    if (!chunk.ok()) {
        stream->input_error_ = chunk.status();
        archive_set_error(a, EIO, "%s", chunk.status().message().c_str());
        return -1;
    }
    *buffer = chunk->data();
    return static_cast<la_ssize_t>(chunk->size());
}

Status ArchiveStream::Damaged(const std::string& during) const {
    if (!input_error_.ok()) return input_error_;
    const char* why = archive_error_string(archive_);
    return Error(ErrorCode::kMalformed, "refusing package " + input_.name() +
                                            ": not a valid package archive (" + during +
                                            "): " + (why ? why : "unknown libarchive error"));
}

Status ArchiveStream::Open() {
    if (archive_ == nullptr) return Error(ErrorCode::kIo, "libarchive: out of memory");
    // Only what a package may be: a smaller parser surface for hostile input.
    archive_read_support_format_tar(archive_);
    archive_read_support_filter_zstd(archive_);
    archive_read_support_filter_xz(archive_);
    if (archive_read_open(archive_, this, nullptr, ReadCallback, nullptr) != ARCHIVE_OK) {
        return Damaged("opening");
    }
    return Status::Ok();
}

Result<archive_entry*> ArchiveStream::NextHeader() {
    archive_entry* entry = nullptr;
    int r = archive_read_next_header(archive_, &entry);
    if (r == ARCHIVE_EOF) return static_cast<archive_entry*>(nullptr);
    // Warnings (malformed pax attributes, unconvertible names) are refusals too.
    if (r != ARCHIVE_OK) return Damaged("reading an entry header");
    return entry;
}

Result<DataBlock> ArchiveStream::ReadBlock() {
    DataBlock block;
    la_int64_t offset = 0;
    int r = archive_read_data_block(archive_, &block.data, &block.size, &offset);
    if (r == ARCHIVE_EOF) {
        block.end = true;
        return block;
    }
    if (r != ARCHIVE_OK) return Damaged("reading entry data");
    block.offset = offset;
    return block;
}

Compression ArchiveStream::compression() const {
    // Filter 0 is the outermost; with no compression it is "none".
    switch (archive_filter_code(archive_, 0)) {
        case ARCHIVE_FILTER_ZSTD:
            return Compression::kZstd;
        case ARCHIVE_FILTER_XZ:
            return Compression::kXz;
        default:
            return Compression::kNone;
    }
}

}  // namespace hvkit::internal
