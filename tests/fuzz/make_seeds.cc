// Writes the checked-in seed corpora of the package fuzz targets:
//   make_seeds DIR  ->  DIR/package_manifest/*, DIR/package_archive/*
// Regenerate with: build/.../tests/fuzz/fuzz_make_seeds tests/fuzz/corpus
#include <cstdio>
#include <string>

#include "fuzz_key.h"
#include "hvkit/fs.h"
#include "hvkit/package/format.h"
#include "hvkit/package/trust_store.h"
#include "hvkit/package/writer.h"

using namespace hvkit;

namespace {

Manifest SeedManifest() {
    Manifest m;
    m.name = "fuzz-demo";
    m.version = SemVer::Parse("1.2.0-rc.1+b7", "v").value();
    m.min_installed_version = SemVer(1, 0, 0);
    m.files = {
        {.path = "bin/hvmm",
         .component = Component::kHypervisor,
         .size = 5,
         .mode = 0755,
         .sha256 = Sha256::HexOf("hvmm\n")},
        {.path = "etc/a.conf",
         .component = Component::kConfig,
         .size = 2,
         .mode = 0644,
         .sha256 = Sha256::HexOf("a\n")},
        {.path = "guest/tool",
         .component = Component::kGuestExtension,
         .size = 3,
         .mode = 04755,
         .sha256 = Sha256::HexOf("t!\n")},
    };
    return m;
}

const char* ContentOf(const std::string& path) {
    if (path == "bin/hvmm") return "hvmm\n";
    if (path == "etc/a.conf") return "a\n";
    return "t!\n";
}

Status WritePackage(const std::string& path, Compression compression) {
    Manifest m = SeedManifest();
    SignedEnvelope env;
    env.signed_body = m.ToJson();
    HVKIT_RETURN_IF_ERROR(env.Sign(fuzz::FuzzSigningKey()));
    HVKIT_ASSIGN_OR_RETURN(auto writer, PackageWriter::Create(path, {.compression = compression}));
    HVKIT_RETURN_IF_ERROR(writer->AddManifest(env));
    for (const auto& f : m.files) {
        HVKIT_RETURN_IF_ERROR(writer->BeginFile(f));
        std::string content = ContentOf(f.path);
        HVKIT_RETURN_IF_ERROR(writer->Write(content.data(), content.size()));
        HVKIT_RETURN_IF_ERROR(writer->EndFile());
    }
    return writer->Commit();
}

Status Run(const std::string& dir) {
    std::string manifests = dir + "/package_manifest";
    std::string packages = dir + "/package_archive";
    HVKIT_RETURN_IF_ERROR(MakeDirectories(manifests));
    HVKIT_RETURN_IF_ERROR(MakeDirectories(packages));

    Manifest m = SeedManifest();
    SignedEnvelope env;
    env.signed_body = m.ToJson();
    HVKIT_RETURN_IF_ERROR(env.Sign(fuzz::FuzzSigningKey()));
    HVKIT_RETURN_IF_ERROR(WriteFileAtomic(manifests + "/envelope.json", DumpJson(env.ToJson())));
    HVKIT_RETURN_IF_ERROR(WriteFileAtomic(manifests + "/body.json", DumpJson(m.ToJson(), 0)));
    HVKIT_ASSIGN_OR_RETURN(auto trust,
                           PackageTrustStore::Create({fuzz::FuzzSigningKey().public_key()}, 1));
    HVKIT_RETURN_IF_ERROR(WriteFileAtomic(manifests + "/trust.json", DumpJson(trust.ToJson())));
    HVKIT_RETURN_IF_ERROR(WriteFileAtomic(manifests + "/semver.txt", "1.0.0-alpha.1+build.5"));

    HVKIT_RETURN_IF_ERROR(WritePackage(packages + "/signed.tar", Compression::kNone));
    HVKIT_RETURN_IF_ERROR(WritePackage(packages + "/signed.tar.zst", Compression::kZstd));
    HVKIT_RETURN_IF_ERROR(WritePackage(packages + "/signed.tar.xz", Compression::kXz));
    return Status::Ok();
}

}  // namespace

int main(int argc, char** argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    Status st = Run(argv[1]);
    if (!st.ok()) {
        fprintf(stderr, "make_seeds: %s\n", st.message().c_str());
        return 1;
    }
    return 0;
}
