// An apply, as small operations (after Chromium update_client's op_* files):
// each op does one step of the transaction, journals what it made durable,
// and leaves its result in the ApplyTransaction for the next. RunApply
// composes them and, when one fails, drops what earlier ones staged and
// journals the transaction as failed.
//
//   op_download  the package to STATE_DIR/downloads   downloading -> downloaded
//   op_verify    against the guest's trust store       (nothing durable)
//   op_transfer  the hypervisor's part over hvchan     transferring (+ session)
//   op_stage     hvmm verifies and stages it           (hvmm's own journal)
//   op_install   the guest extensions, staged          staged
//   op_commit    hvmm first, then the guest's switch   committing -> committed
#pragma once

#include <cstdint>
#include <string>

#include "hvkit/agent/config.h"
#include "hvkit/agent/extensions.h"
#include "hvkit/agent/journal.h"
#include "hvkit/agent/update_host.h"
#include "hvkit/agent/update_step.h"
#include "hvkit/crypto.h"
#include "hvkit/package/trust_store.h"
#include "hvkit/semver.h"

namespace hvkit::agent {

// What the ops act on.
struct ApplyWorld {
    const AgentConfig& config;
    const PackageTrustStore& trust;
    Journal& journal;
    ExtensionStore& extensions;
    PackageSource& source;
    UpdateHost& host;
    Reporter& reporter;
};

// One apply in flight: filled in by the ops in order.
struct ApplyTransaction {
    int64_t id = 0;                 // the journal's transaction (Begin)
    SemVer installed, target;       // from and to
    std::string package_path;       // where op_download puts the package
    Sha256Digest package_sha256{};  // op_download: as the repository's metadata verified it
    std::string manifest;           // op_verify: the signed manifest, for hvmm's BEGIN
    uint64_t session = 0;           // op_transfer: hvmm's update session
};

// STATE_DIR/downloads/NAME-VERSION.hvpkg.
std::string DownloadPath(const AgentConfig& config, const SemVer& version);

Status DownloadOp(ApplyWorld& w, ApplyTransaction& t);
// kBadSignature/kHashMismatch/... from the package checks; kConflict when
// the package is not the version asked for.
Status VerifyOp(ApplyWorld& w, ApplyTransaction& t);
Status TransferOp(ApplyWorld& w, ApplyTransaction& t);
Status StageOp(ApplyWorld& w, ApplyTransaction& t);
Status InstallOp(ApplyWorld& w, ApplyTransaction& t);
// Journals committing before hvmm commits, so an interruption is settled
// by asking hvmm what it committed (Agent::Recover).
Status CommitOp(ApplyWorld& w, ApplyTransaction& t);

// Runs the ops in order on (t), already journaled by Begin. On a failure:
// hvmm's session aborted, the guest's staging dropped, the transaction
// journaled failed with the reason; returns that reason.
Status RunApply(ApplyWorld& w, ApplyTransaction& t);

}  // namespace hvkit::agent
