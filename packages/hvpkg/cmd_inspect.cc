// hvpkg inspect: shows what a package holds without trusting it.
#include <cstdio>

#include "cli.h"
#include "commands.h"
#include "hvkit/json.h"
#include "hvkit/package/verify.h"
#include "shared_options.h"

namespace hvpkg {

using namespace hvkit;

namespace {

void PrintHuman(const std::string& path, const PackageInfo& info, const Status& payload) {
    const Manifest& m = info.manifest;
    printf("package:     %s\n", path.c_str());
    printf("name:        %s\n", m.name.c_str());
    printf("version:     %s\n", m.version.ToString().c_str());
    printf("replaces:    %s or newer\n", m.min_installed_version.ToString().c_str());
    printf("compression: %s\n", CompressionName(info.compression));
    printf("signatures:  %zu (not verified; use hvpkg verify --trust)\n",
           info.envelope.signatures.size());
    for (const auto& sig : info.envelope.signatures) printf("  keyid %s\n", sig.keyid.c_str());
    printf("files:       %zu, %llu bytes\n", m.files.size(),
           static_cast<unsigned long long>(m.TotalBytes()));
    for (const auto& f : m.files) {
        printf("  %s %-15s %12llu  %s  %s\n", FormatMode(f.mode).c_str(),
               ComponentName(f.component), static_cast<unsigned long long>(f.size),
               f.sha256.substr(0, 16).c_str(), f.path.c_str());
    }
    printf("payload:     %s\n", payload.ok() ? "matches the manifest" : payload.message().c_str());
}

void PrintJson(const PackageInfo& info, const Status& payload) {
    Json doc;
    doc["manifest"] = info.envelope.signed_body;
    Json keyids = Json::MakeArray();
    for (const auto& sig : info.envelope.signatures) keyids.Push(sig.keyid);
    doc["signature_keyids"] = std::move(keyids);
    doc["signatures_verified"] = false;
    doc["compression"] = CompressionName(info.compression);
    doc["payload_verified"] = payload.ok();
    if (!payload.ok()) doc["payload_error"] = payload.message();
    printf("%s\n", DumpJson(doc).c_str());
}

}  // namespace

int RunInspect(const std::vector<std::string>& argv) {
    auto args = ParseArgs(argv, {.value_options = {}, .flags = {"--json"}, .positional = 1});
    if (!args.ok()) return Usage("inspect: " + args.status().message());
    const std::string& path = args->positional[0];
    // Pass 1: the manifest alone, so a package with a bad payload still shows.
    auto input = PackageInput::OpenFile(path);
    if (!input.ok()) return Fail(input.status());
    auto info = InspectPackage(*input, false);
    if (!info.ok()) return Fail(info.status());
    // Pass 2: every entry against that (unverified) manifest.
    Status payload;
    auto again = PackageInput::OpenFile(path);
    if (!again.ok()) return Fail(again.status());
    auto full = InspectPackage(*again, true);
    if (!full.ok()) payload = full.status();
    if (args->Has("--json")) {
        PrintJson(*info, payload);
    } else {
        PrintHuman(path, *info, payload);
    }
    return payload.ok() ? kExitOk : kExitFailed;
}

}  // namespace hvpkg
