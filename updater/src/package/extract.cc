#include "hvkit/package/extract.h"

#include "package_stream.h"
#include "staging_tree.h"

namespace hvkit {

Result<PackageInfo> ExtractPackage(PackageInput& input, const PackageTrustStore& trust,
                                   const std::string& dest, const ExtractOptions& options) {
    HVKIT_ASSIGN_OR_RETURN(
        auto tree, internal::StagingTree::Create(dest, options.components, *options.file_system));
    internal::StreamRules rules{.trust = &trust, .policy = options.policy, .read_payload = true};
    HVKIT_ASSIGN_OR_RETURN(PackageInfo info, internal::ReadPackageStream(input, rules, tree.get()));
    HVKIT_RETURN_IF_ERROR(tree->Commit());
    return info;
}

Result<PackageInfo> ExtractPackageFile(const std::string& path, const PackageTrustStore& trust,
                                       const std::string& dest, const ExtractOptions& options) {
    HVKIT_ASSIGN_OR_RETURN(PackageInput input, PackageInput::OpenFile(path));
    return ExtractPackage(input, trust, dest, options);
}

}  // namespace hvkit
