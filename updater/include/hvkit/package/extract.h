// Safe extraction of a verified package. The signature is checked before any
// content is read; files are written and hashed in one pass into a staging
// directory beside the destination and renamed into place only when every
// check passed, so the destination either appears complete or not at all.
#pragma once

#include <string>

#include "hvkit/file_system.h"
#include "hvkit/package/component.h"
#include "hvkit/package/input.h"
#include "hvkit/package/policy.h"
#include "hvkit/package/trust_store.h"
#include "hvkit/package/verify.h"
#include "hvkit/status.h"

namespace hvkit {

struct ExtractOptions {
    PackagePolicy policy{};
    // Only files of these components are written (all are still verified);
    // empty means every component. The hypervisor takes its own part this way.
    ComponentSet components{};
    // Every write, fsync and rename of the extraction goes through it.
    FileSystem* file_system = &RealFileSystem();
};

// Verifies (input) against (trust) and extracts it into the new directory
// (dest), which must not exist (kConflict) and whose parent must. Files get the
// manifest's mode, are owned by the caller, and are fsynced, as are the
// directories. On any error the staging directory is removed and nothing
// appears at (dest).
Result<PackageInfo> ExtractPackage(PackageInput& input, const PackageTrustStore& trust,
                                   const std::string& dest, const ExtractOptions& options = {});

// ExtractPackage from the package file at (path).
Result<PackageInfo> ExtractPackageFile(const std::string& path, const PackageTrustStore& trust,
                                       const std::string& dest, const ExtractOptions& options = {});

}  // namespace hvkit
