// What a package reader accepts beyond a valid signature: resource limits
// against archive bombs, which components may carry setuid/setgid files, and
// optionally the anti-rollback rule against the installed version.
#pragma once

#include <cstdint>
#include <optional>

#include "hvkit/package/component.h"
#include "hvkit/semver.h"

namespace hvkit {

struct PackageLimits {
    // Sum of all payload file sizes (the manifest's and the bytes streamed).
    uint64_t max_total_bytes = uint64_t{1} << 30;  // 1 GiB
    // Archive entries, manifest.json included.
    uint64_t max_entries = 10000;
    // Size of the manifest.json entry.
    uint64_t max_manifest_bytes = 4 << 20;  // 4 MiB
    // Payload bytes per package byte read so far, checked as data streams.
    uint64_t max_compression_ratio = 100;
    // The ratio is not enforced until this many payload bytes have streamed,
    // so small, very compressible packages (config files) stay valid.
    uint64_t ratio_grace_bytes = 16 << 20;  // 16 MiB
};

struct PackagePolicy {
    PackageLimits limits{};
    // Components whose files may have the setuid or setgid bit. The default
    // lets only guest extensions (programs the guest agent runs as root by
    // design) carry them; the hypervisor, filter modules and config never do.
    ComponentSet setuid_components{Component::kGuestExtension};
    // When set, the package must be allowed to replace this version
    // (CheckUpgradeFrom in manifest.h); checked right after the signature.
    std::optional<SemVer> installed_version{};
};

}  // namespace hvkit
