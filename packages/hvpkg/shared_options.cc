#include "shared_options.h"

namespace hvpkg {

using namespace hvkit;

Result<std::vector<PrivateKey>> LoadSigningKeys(const Args& args) {
    std::vector<PrivateKey> keys;
    for (const auto& path : args.All("--key")) {
        HVKIT_ASSIGN_OR_RETURN(PrivateKey key, PrivateKey::Load(path));
        keys.push_back(std::move(key));
    }
    return keys;
}

Result<PackagePolicy> PolicyFromArgs(const Args& args) {
    PackagePolicy policy;
    HVKIT_ASSIGN_OR_RETURN(std::optional<std::string> installed, args.One("--installed-version"));
    if (installed) {
        HVKIT_ASSIGN_OR_RETURN(SemVer v, SemVer::Parse(*installed, "--installed-version"));
        policy.installed_version = v;
    }
    std::vector<std::string> setuid = args.All("--allow-setuid");
    if (!setuid.empty()) {
        policy.setuid_components.clear();
        for (const auto& name : setuid) {
            if (name == "none") continue;
            HVKIT_ASSIGN_OR_RETURN(Component c, ParseComponent(name, "--allow-setuid"));
            policy.setuid_components.insert(c);
        }
    }
    return policy;
}

std::string DescribePackage(const PackageInfo& info) {
    return info.manifest.name + " " + info.manifest.version.ToString() + " (" +
           std::to_string(info.manifest.files.size()) + " files, " +
           std::to_string(info.manifest.TotalBytes()) + " bytes)";
}

}  // namespace hvpkg
