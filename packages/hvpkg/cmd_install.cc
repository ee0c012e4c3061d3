// hvpkg verify and hvpkg extract: the consumer's side, against a trust store.
#include <cstdio>

#include "cli.h"
#include "commands.h"
#include "hvkit/package/extract.h"
#include "hvkit/package/trust_store.h"
#include "hvkit/package/verify.h"
#include "shared_options.h"

namespace hvpkg {

using namespace hvkit;

namespace {

CommandSpec InstallSpec(std::set<std::string> extra) {
    CommandSpec spec{.value_options = kPolicyOptions, .flags = {}, .positional = 1};
    spec.value_options.insert("--trust");
    spec.value_options.insert(extra.begin(), extra.end());
    return spec;
}

void PrintVerified(const char* verb, const std::string& path, const PackageInfo& info,
                   const PackageTrustStore& trust) {
    printf("%s %s: %s\nsigned by %zu trusted key(s), threshold %lld:\n", verb, path.c_str(),
           DescribePackage(info).c_str(), info.signer_key_ids.size(),
           static_cast<long long>(trust.threshold()));
    for (const auto& id : info.signer_key_ids) printf("  %s\n", id.c_str());
}

}  // namespace

int RunVerify(const std::vector<std::string>& argv) {
    auto args = ParseArgs(argv, InstallSpec({}));
    if (!args.ok()) return Usage("verify: " + args.status().message());
    auto trust_path = args->Required("--trust");
    if (!trust_path.ok()) return Usage("verify: " + trust_path.status().message());
    auto policy = PolicyFromArgs(*args);
    if (!policy.ok()) return Usage("verify: " + policy.status().message());
    auto trust = PackageTrustStore::Load(*trust_path);
    if (!trust.ok()) return Fail(trust.status());
    const std::string& path = args->positional[0];
    auto info = VerifyPackageFile(path, *trust, *policy);
    if (!info.ok()) return Fail(info.status());
    PrintVerified("verified", path, *info, *trust);
    return kExitOk;
}

int RunExtract(const std::vector<std::string>& argv) {
    auto args = ParseArgs(argv, InstallSpec({"--dest", "--component"}));
    if (!args.ok()) return Usage("extract: " + args.status().message());
    auto trust_path = args->Required("--trust");
    auto dest = args->Required("--dest");
    if (!trust_path.ok()) return Usage("extract: " + trust_path.status().message());
    if (!dest.ok()) return Usage("extract: " + dest.status().message());
    ExtractOptions options;
    auto policy = PolicyFromArgs(*args);
    if (!policy.ok()) return Usage("extract: " + policy.status().message());
    options.policy = *policy;
    for (const auto& name : args->All("--component")) {
        auto c = ParseComponent(name, "--component");
        if (!c.ok()) return Usage("extract: " + c.status().message());
        options.components.insert(*c);
    }
    auto trust = PackageTrustStore::Load(*trust_path);
    if (!trust.ok()) return Fail(trust.status());
    const std::string& path = args->positional[0];
    auto info = ExtractPackageFile(path, *trust, *dest, options);
    if (!info.ok()) return Fail(info.status());
    PrintVerified("extracted", path, *info, *trust);
    printf("into %s\n", dest->c_str());
    return kExitOk;
}

}  // namespace hvpkg
