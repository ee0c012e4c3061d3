#include "package_stream.h"

#include <sys/stat.h>

#include <cstdint>
#include <set>
#include <string>

#include "archive_stream.h"
#include "entry_rules.h"
#include "hvkit/crypto.h"
#include "hvkit/package/format.h"
#include "hvkit/package/path_rules.h"

namespace hvkit::internal {

namespace {

std::string Bytes(uint64_t n) {
    return std::to_string(n) + " bytes";
}

// a + b, or UINT64_MAX when that overflows: sizes come from hostile input.
uint64_t SaturatingAdd(uint64_t a, uint64_t b) {
    return a + b < a ? UINT64_MAX : a + b;
}

class StreamReader {
  public:
    StreamReader(PackageInput& input, const StreamRules& rules, PayloadSink* sink)
        : input_(input),
          rules_(rules),
          limits_(rules.policy.limits),
          sink_(sink),
          archive_(input) {}

    Result<PackageInfo> Run() {
        HVKIT_RETURN_IF_ERROR(archive_.Open());
        HVKIT_RETURN_IF_ERROR(ReadManifest());
        if (sink_) HVKIT_RETURN_IF_ERROR(sink_->OnManifest(info_));
        if (rules_.read_payload) {
            HVKIT_RETURN_IF_ERROR(ReadPayload());
            info_.payload_verified = true;
        }
        info_.package_bytes = input_.bytes_read();
        return std::move(info_);
    }

  private:
    Status RefuseEntry(ErrorCode code, std::string_view entry, const std::string& rule) const {
        return Error(code, "refusing entry " + Quote(entry) + " in " + input_.name() + ": " + rule);
    }
    Status RefusePackage(ErrorCode code, const std::string& rule) const {
        return Error(code, "refusing package " + input_.name() + ": " + rule);
    }

    Status CountEntry(std::string_view name) {
        if (++entries_ > limits_.max_entries) {
            return RefuseEntry(ErrorCode::kTooLarge, name,
                               "more than " + std::to_string(limits_.max_entries) +
                                   " entries, past the entry limit");
        }
        return Status::Ok();
    }

    Status ReadManifest() {
        HVKIT_ASSIGN_OR_RETURN(archive_entry * entry, archive_.NextHeader());
        if (entry == nullptr) {
            return RefusePackage(ErrorCode::kMalformed,
                                 "the archive is empty; a package starts with manifest.json");
        }
        const char* raw_name = archive_entry_pathname(entry);
        std::string_view name = raw_name ? raw_name : "";
        HVKIT_RETURN_IF_ERROR(CountEntry(name));
        if (name != kManifestEntryName) {
            return RefuseEntry(ErrorCode::kMalformed, name,
                               "the first entry must be manifest.json (is this an hvpkg "
                               "package?)");
        }
        if (auto problem = EntryTypeViolation(entry, name)) {
            return RefuseEntry(ErrorCode::kRefused, name, *problem);
        }
        int64_t size = archive_entry_size(entry);
        if (!archive_entry_size_is_set(entry) || size < 0) {
            return RefuseEntry(ErrorCode::kMalformed, name, "the entry has no size");
        }
        if (static_cast<uint64_t>(size) > limits_.max_manifest_bytes) {
            return RefuseEntry(ErrorCode::kTooLarge, name,
                               "manifest of " + Bytes(static_cast<uint64_t>(size)) +
                                   " is past the limit of " + Bytes(limits_.max_manifest_bytes));
        }
        std::string text;
        text.reserve(static_cast<size_t>(size));
        for (;;) {
            HVKIT_ASSIGN_OR_RETURN(DataBlock block, archive_.ReadBlock());
            if (block.end) break;
            if (block.offset != static_cast<int64_t>(text.size()) ||
                text.size() + block.size > static_cast<uint64_t>(size)) {
                return RefuseEntry(ErrorCode::kMalformed, name, "data does not match its size");
            }
            text.append(static_cast<const char*>(block.data), block.size);
        }
        return CheckManifest(text);
    }

    Status CheckManifest(std::string_view text) {
        info_.compression = archive_.compression();
        Status st = ParseAndVerifyManifest(text);
        if (!st.ok()) return st.WithContext("refusing package " + input_.name());
        return CheckPolicy(info_.manifest);
    }

    Status ParseAndVerifyManifest(std::string_view text) {
        const std::string what = "manifest";
        HVKIT_ASSIGN_OR_RETURN(
            Json doc, ParseJson(text, what, JsonLimits{.max_bytes = limits_.max_manifest_bytes}));
        HVKIT_ASSIGN_OR_RETURN(info_.envelope, SignedEnvelope::FromJson(doc, what));
        // Signatures before the body is interpreted: nothing unsigned is trusted.
        if (rules_.trust != nullptr) {
            auto signers = rules_.trust->Verify(info_.envelope, what);
            if (!signers.ok()) {
                return Error(signers.status().code(),
                             signers.status().message() +
                                 " (is it signed by keys in the trust store? hvpkg inspect "
                                 "shows the signing key IDs)");
            }
            info_.signer_key_ids = std::move(signers).value();
            info_.signatures_verified = true;
        }
        HVKIT_ASSIGN_OR_RETURN(info_.manifest,
                               Manifest::FromJson(info_.envelope.signed_body, what));
        return Status::Ok();
    }

    Status CheckPolicy(const Manifest& m) {
        if (m.files.size() + 1 > limits_.max_entries) {
            return RefusePackage(ErrorCode::kTooLarge,
                                 "the manifest lists " + std::to_string(m.files.size()) +
                                     " files, past the limit of " +
                                     std::to_string(limits_.max_entries) + " entries");
        }
        uint64_t total = 0;
        for (const auto& f : m.files) total = SaturatingAdd(total, f.size);
        if (total > limits_.max_total_bytes) {
            return RefusePackage(ErrorCode::kTooLarge, "its files total " + Bytes(total) +
                                                           ", past the limit of " +
                                                           Bytes(limits_.max_total_bytes));
        }
        for (const auto& f : m.files) {
            if ((f.mode & (S_ISUID | S_ISGID)) &&
                !rules_.policy.setuid_components.count(f.component)) {
                return RefuseEntry(ErrorCode::kRefused, PayloadEntryName(f.path),
                                   "mode " + FormatMode(f.mode) +
                                       " sets setuid/setgid, which component '" +
                                       ComponentName(f.component) + "' may not (allowed for: " +
                                       ComponentSetText(rules_.policy.setuid_components) + ")");
            }
        }
        if (rules_.policy.installed_version) {
            Status st = CheckUpgradeFrom(m, *rules_.policy.installed_version);
            if (!st.ok()) return RefusePackage(st.code(), st.message());
        }
        return Status::Ok();
    }

    Status ReadPayload() {
        std::set<std::string, std::less<>> seen{std::string(kManifestEntryName)};
        for (;;) {
            HVKIT_ASSIGN_OR_RETURN(archive_entry * entry, archive_.NextHeader());
            if (entry == nullptr) break;
            const char* raw_name = archive_entry_pathname(entry);
            if (raw_name == nullptr) {
                return RefusePackage(ErrorCode::kMalformed, "an entry has no readable name");
            }
            std::string_view name = raw_name;
            HVKIT_RETURN_IF_ERROR(CountEntry(name));
            HVKIT_ASSIGN_OR_RETURN(const PackageFile* file, MatchEntry(entry, name, seen));
            HVKIT_RETURN_IF_ERROR(StreamFile(name, *file));
        }
        for (const auto& f : info_.manifest.files) {
            if (!seen.count(PayloadEntryName(f.path))) {
                return RefusePackage(ErrorCode::kHashMismatch,
                                     "file " + Quote(f.path) +
                                         " listed in the manifest is missing from the archive");
            }
        }
        return Status::Ok();
    }

    // The manifest file (entry) carries, after the rules on its name and header.
    Result<const PackageFile*> MatchEntry(archive_entry* entry, std::string_view name,
                                          std::set<std::string, std::less<>>& seen) {
        // tar writes directories as "name/"; judge the path without that slash.
        std::string_view path = name;
        if (archive_entry_filetype(entry) == AE_IFDIR && path.size() > 1 && path.back() == '/') {
            path.remove_suffix(1);
        }
        if (auto problem = PathRuleViolation(path)) {
            return RefuseEntry(ErrorCode::kRefused, name, *problem);
        }
        if (auto problem = EntryTypeViolation(entry, name)) {
            return RefuseEntry(ErrorCode::kRefused, name, *problem);
        }
        if (!seen.emplace(name).second) {
            return RefuseEntry(ErrorCode::kRefused, name, "duplicate entry");
        }
        const PackageFile* file = nullptr;
        if (name.substr(0, kPayloadPrefix.size()) == kPayloadPrefix) {
            file = info_.manifest.Find(name.substr(kPayloadPrefix.size()));
        }
        if (file == nullptr) {
            return RefuseEntry(ErrorCode::kRefused, name, "entry is not listed in the manifest");
        }
        uint32_t mode = archive_entry_mode(entry) & kPackageModeMask;
        if (mode != file->mode) {
            return RefuseEntry(ErrorCode::kRefused, name,
                               "mode " + FormatMode(mode) + " differs from the manifest's " +
                                   FormatMode(file->mode));
        }
        int64_t size = archive_entry_size(entry);
        if (!archive_entry_size_is_set(entry) || size < 0 ||
            static_cast<uint64_t>(size) != file->size) {
            return RefuseEntry(ErrorCode::kHashMismatch, name,
                               "size " + std::to_string(size) + " differs from the manifest's " +
                                   std::to_string(file->size));
        }
        return file;
    }

    Status StreamFile(std::string_view name, const PackageFile& file) {
        if (sink_) HVKIT_RETURN_IF_ERROR(sink_->BeginFile(file));
        Sha256 hash;
        uint64_t done = 0;
        for (;;) {
            HVKIT_ASSIGN_OR_RETURN(DataBlock block, archive_.ReadBlock());
            if (block.end) break;
            if (block.offset < 0 || static_cast<uint64_t>(block.offset) != done) {
                return RefuseEntry(ErrorCode::kRefused, name, "sparse entries are not supported");
            }
            done += block.size;
            if (done > file.size) {
                return RefuseEntry(ErrorCode::kHashMismatch, name,
                                   "holds more data than its size " + std::to_string(file.size));
            }
            info_.payload_bytes += block.size;
            if (info_.payload_bytes > limits_.max_total_bytes) {
                return RefuseEntry(
                    ErrorCode::kTooLarge, name,
                    "the package expands past the limit of " + Bytes(limits_.max_total_bytes));
            }
            HVKIT_RETURN_IF_ERROR(CheckRatio(name));
            hash.Update(block.data, block.size);
            if (sink_) HVKIT_RETURN_IF_ERROR(sink_->WriteData(block.data, block.size));
        }
        if (done != file.size) {
            return RefuseEntry(
                ErrorCode::kHashMismatch, name,
                "holds " + Bytes(done) + ", less than its size " + std::to_string(file.size));
        }
        if (HexEncode(hash.Final()) != file.sha256) {
            return RefuseEntry(ErrorCode::kHashMismatch, name, "SHA-256 differs from the manifest");
        }
        if (sink_) HVKIT_RETURN_IF_ERROR(sink_->EndFile(file));
        return Status::Ok();
    }

    // Refuses once more than max_compression_ratio payload bytes have come out
    // per package byte read (after the grace bytes).
    Status CheckRatio(std::string_view name) const {
        uint64_t payload = info_.payload_bytes;
        if (payload <= limits_.ratio_grace_bytes) return Status::Ok();
        uint64_t package = input_.bytes_read();
        // payload <= ratio * package, without overflow.
        if (package != 0 &&
            (payload / package < limits_.max_compression_ratio ||
             (payload / package == limits_.max_compression_ratio && payload % package == 0))) {
            return Status::Ok();
        }
        return RefuseEntry(ErrorCode::kTooLarge, name,
                           "compression ratio past the limit of " +
                               std::to_string(limits_.max_compression_ratio) + ":1 (" +
                               Bytes(payload) + " from " + Bytes(package) +
                               " of package; a decompression bomb?)");
    }

    PackageInput& input_;
    const StreamRules& rules_;
    const PackageLimits& limits_;
    PayloadSink* sink_;
    ArchiveStream archive_;
    PackageInfo info_;
    uint64_t entries_ = 0;
};

}  // namespace

Result<PackageInfo> ReadPackageStream(PackageInput& input, const StreamRules& rules,
                                      PayloadSink* sink) {
    StreamReader reader(input, rules, sink);
    return reader.Run();
}

}  // namespace hvkit::internal
