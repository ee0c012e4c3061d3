#include "package_fixture.h"

#include <archive.h>
#include <archive_entry.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

#include "temp_dir.h"

namespace hvkit::testing {

std::string WriteRawArchive(const std::vector<RawEntry>& entries, Compression compression) {
    std::string out;
    struct archive* a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    if (compression == Compression::kZstd) archive_write_add_filter_zstd(a);
    if (compression == Compression::kXz) archive_write_add_filter_xz(a);
    archive_write_set_bytes_in_last_block(a, 1);
    auto write_cb = [](struct archive*, void* client, const void* buf, size_t n) -> la_ssize_t {
        static_cast<std::string*>(client)->append(static_cast<const char*>(buf), n);
        return static_cast<la_ssize_t>(n);
    };
    EXPECT_EQ(archive_write_open(a, &out, nullptr, write_cb, nullptr), ARCHIVE_OK);
    for (const auto& e : entries) {
        archive_entry* entry = archive_entry_new();
        archive_entry_set_pathname(entry, e.name.c_str());
        archive_entry_set_filetype(entry, e.type);
        archive_entry_set_perm(entry, e.perm);
        if (!e.symlink.empty()) archive_entry_set_symlink(entry, e.symlink.c_str());
        if (!e.hardlink.empty()) archive_entry_set_hardlink(entry, e.hardlink.c_str());
        if (e.rdev != 0) archive_entry_set_rdev(entry, e.rdev);
        int64_t size = e.size.value_or(static_cast<int64_t>(e.data.size()));
        if (e.type == AE_IFREG) archive_entry_set_size(entry, size);
        EXPECT_EQ(archive_write_header(a, entry), ARCHIVE_OK)
            << e.name << ": " << archive_error_string(a);
        if (!e.data.empty()) archive_write_data(a, e.data.data(), e.data.size());
        archive_entry_free(entry);
    }
    EXPECT_EQ(archive_write_close(a), ARCHIVE_OK);
    archive_write_free(a);
    return out;
}

PackageFixture::PackageFixture(int key_count) {
    for (int i = 0; i < key_count; ++i) keys.push_back(PrivateKey::Generate().value());
    trust = PackageTrustStore::Create({keys[0].public_key()}, 1).value();
}

Manifest PackageFixture::ManifestFor(const std::vector<TestFile>& files) {
    Manifest m;
    m.name = "demo";
    m.version = SemVer(1, 0, 0);
    m.min_installed_version = SemVer(0, 5, 0);
    for (const auto& f : files) {
        m.files.push_back({.path = f.path,
                           .component = f.component,
                           .size = f.content.size(),
                           .mode = f.mode,
                           .sha256 = Sha256::HexOf(f.content)});
    }
    std::sort(m.files.begin(), m.files.end(),
              [](const PackageFile& a, const PackageFile& b) { return a.path < b.path; });
    return m;
}

RawEntry PackageFixture::ManifestEntryFor(const SignedEnvelope& envelope) {
    return RawEntry{.name = std::string(kManifestEntryName), .data = DumpJson(envelope.ToJson())};
}

RawEntry PackageFixture::ManifestEntry(const Manifest& manifest,
                                       const std::vector<int>& signers) const {
    SignedEnvelope envelope;
    envelope.signed_body = manifest.ToJson();
    for (int i : signers) EXPECT_TRUE(envelope.Sign(keys[static_cast<size_t>(i)]).ok());
    return ManifestEntryFor(envelope);
}

RawEntry PackageFixture::PayloadEntry(const TestFile& file) {
    return RawEntry{.name = PayloadEntryName(file.path), .perm = file.mode, .data = file.content};
}

std::string PackageFixture::Package(const std::vector<TestFile>& files,
                                    Compression compression) const {
    std::vector<RawEntry> entries{ManifestEntry(ManifestFor(files))};
    for (const auto& f : files) entries.push_back(PayloadEntry(f));
    return WriteRawArchive(entries, compression);
}

std::string TreeListing(const std::string& dir) {
    namespace fs = std::filesystem;
    std::vector<std::string> lines;
    for (const auto& e : fs::recursive_directory_iterator(dir)) {
        auto st = e.symlink_status();
        std::string line = fs::relative(e.path(), dir).string() +
                           " type=" + std::to_string(static_cast<int>(st.type())) +
                           " perms=" + std::to_string(static_cast<int>(st.permissions()));
        if (st.type() == fs::file_type::regular) {
            line += " sha256=" + Sha256::HexOf(ReadTestFile(e.path().string()));
        }
        lines.push_back(line);
    }
    std::sort(lines.begin(), lines.end());
    std::string out;
    for (const auto& l : lines) out += l + "\n";
    return out;
}

}  // namespace hvkit::testing
