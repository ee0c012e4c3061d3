// op_download: the package through the guest's network, verified against
// the repository's metadata as it arrives (PackageSource::Fetch).
#include "hvkit/agent/apply_ops.h"
#include "hvkit/fs.h"

namespace hvkit::agent {

std::string DownloadPath(const AgentConfig& config, const SemVer& version) {
    return config.state_dir + "/downloads/" + config.package_name + "-" + version.ToString() +
           ".hvpkg";
}

Status DownloadOp(ApplyWorld& w, ApplyTransaction& t) {
    t.package_path = DownloadPath(w.config, t.target);
    w.reporter.Step(UpdateStep::kDownload,
                    "downloading " + w.config.package_name + " " + t.target.ToString());
    HVKIT_RETURN_IF_ERROR(MakeDirectories(w.config.state_dir + "/downloads"));
    HVKIT_ASSIGN_OR_RETURN(
        t.package_sha256,
        w.source.Fetch(t.target, t.package_path, [&](uint64_t done, uint64_t total) {
            w.reporter.Progress(UpdateStep::kDownload, done, total);
        }));
    return w.journal.Advance(t.id, TxState::kDownloaded);
}

}  // namespace hvkit::agent
