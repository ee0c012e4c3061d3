// The agent's transactions: check, apply, rollback, and recovery of an
// interrupted one. The header (agent.h) explains the order of the steps.
#include "hvkit/agent/agent.h"

#include <unistd.h>

#include <algorithm>

#include "hvkit/fs.h"
#include "hvkit/json.h"
#include "hvkit/package/verify.h"

namespace hvkit::agent {

namespace {

Result<SemVer> Parse(const std::string& text, std::string_view what) {
    return SemVer::Parse(text, what);
}

}  // namespace

Agent::Agent(AgentConfig config, PackageTrustStore trust, Journal& journal,
             ExtensionStore& extensions, PackageSource& source, UpdateHost& host,
             Reporter& reporter)
    : config_(std::move(config)),
      trust_(std::move(trust)),
      journal_(journal),
      extensions_(extensions),
      source_(source),
      host_(host),
      reporter_(reporter) {}

std::string Agent::DownloadPath(const SemVer& version) const {
    return config_.state_dir + "/downloads/" + config_.package_name + "-" + version.ToString() +
           ".hvpkg";
}

Result<std::string> Agent::Recover() {
    HVKIT_ASSIGN_OR_RETURN(std::optional<Transaction> pending, journal_.Pending());
    if (!pending) return std::string();
    const Transaction& t = *pending;
    reporter_.Step("recovering transaction " + std::to_string(t.id) + " (" + t.kind + " to " +
                   t.to_version + "), interrupted while " + t.state);
    HVKIT_RETURN_IF_ERROR(Settle(t));
    HVKIT_ASSIGN_OR_RETURN(std::vector<Transaction> history, journal_.History());
    for (const auto& h : history) {
        if (h.id == t.id) return "transaction " + std::to_string(t.id) + " " + h.state;
    }
    return std::string();
}

Status Agent::Settle(const Transaction& t) {
    HVKIT_ASSIGN_OR_RETURN(SemVer to, Parse(t.to_version, "journal to_version"));
    if (t.state == "committing") {
        HVKIT_ASSIGN_OR_RETURN(HostVersions host, host_.Versions());
        if (host.installed() == t.to_version) {
            // The host committed: finish the guest's half.
            if (t.kind == "rollback") {
                HVKIT_ASSIGN_OR_RETURN(std::optional<std::string> current, extensions_.Current());
                if (current != t.to_version) HVKIT_RETURN_IF_ERROR(extensions_.RollBack());
            } else {
                HVKIT_RETURN_IF_ERROR(extensions_.Activate(to));
            }
            unlink(DownloadPath(to).c_str());
            return journal_.Advance(t.id, "committed", "finished after an interruption");
        }
    }
    // Not committed on the host: drop everything staged for it. The session
    // is journaled once the transfer is through; killed before that, the
    // host's open session (if any) is this transaction's all the same: the
    // channel belongs to this VM alone. Left open it would refuse the next
    // BEGIN as busy until it expires.
    uint64_t session = t.session;
    if (session == 0) {
        auto host = host_.Report();
        if (host.ok() &&
            (host->state == HVCHAN_UPDATE_RECEIVING || host->state == HVCHAN_UPDATE_STAGED)) {
            session = host->session;
        }
    }
    if (session != 0) (void)host_.Abort(session);  // it may have expired already
    if (t.kind == "apply") HVKIT_RETURN_IF_ERROR(extensions_.Discard(to));
    return journal_.Advance(t.id, "undone", "interrupted while " + t.state + "; undone");
}

Result<CheckResult> Agent::Check() {
    HVKIT_ASSIGN_OR_RETURN(HostVersions host, host_.Versions());
    HVKIT_ASSIGN_OR_RETURN(SemVer installed, Parse(host.installed(), "the hypervisor's version"));
    reporter_.Step("refreshing the repository's metadata");
    HVKIT_RETURN_IF_ERROR(source_.Refresh());
    HVKIT_ASSIGN_OR_RETURN(std::vector<SemVer> available, source_.Available());
    std::sort(available.begin(), available.end());
    CheckResult r;
    r.installed = installed.ToString();
    for (const auto& v : available) {
        r.available.push_back(v.ToString());
        if (v > installed) r.newer = v.ToString();
    }
    return r;
}

Result<ApplyResult> Agent::Apply(std::optional<SemVer> version) {
    HVKIT_RETURN_IF_ERROR(Recover().status());
    // Asked before anything is downloaded: the host would refuse at BEGIN.
    HVKIT_ASSIGN_OR_RETURN(HostVersions host, host_.Versions());
    if (!host.update_permitted) {
        return Error(ErrorCode::kRefused,
                     "no permission: hvmm " + host.running +
                         " does not let this VM update it (it was started without "
                         "--allow-hypervisor-update); nothing was downloaded");
    }
    HVKIT_ASSIGN_OR_RETURN(CheckResult check, Check());
    HVKIT_ASSIGN_OR_RETURN(SemVer installed, Parse(check.installed, "installed version"));
    SemVer target;
    if (version) {
        if (std::find(check.available.begin(), check.available.end(), version->ToString()) ==
            check.available.end()) {
            return Error(ErrorCode::kNotFound,
                         "version " + version->ToString() + " is not in the repository");
        }
        if (!(*version > installed)) {
            return Error(ErrorCode::kRollback,
                         "version " + version->ToString() + " is not above the installed " +
                             installed.ToString() + " (hvupdate rollback goes one step back)");
        }
        target = *version;
    } else if (check.newer) {
        HVKIT_ASSIGN_OR_RETURN(target, Parse(*check.newer, "available version"));
    } else {
        reporter_.Step("up to date: " + installed.ToString());
        return ApplyResult{false, installed.ToString(), installed.ToString(), 0};
    }
    std::string from = installed.ToString(), to = target.ToString();
    HVKIT_ASSIGN_OR_RETURN(int64_t id, journal_.Begin("apply", from, to, "downloading"));
    auto fail = [&](const Status& why, uint64_t session = 0) -> Status {
        if (session != 0) (void)host_.Abort(session);
        (void)extensions_.Discard(target);
        (void)journal_.Advance(id, "failed", why.message());
        return why;
    };

    std::string path = DownloadPath(target);
    reporter_.Step("downloading " + config_.package_name + " " + to);
    HVKIT_RETURN_IF_ERROR(MakeDirectories(config_.state_dir + "/downloads"));
    auto fetched = source_.Fetch(target, path, [&](uint64_t done, uint64_t total) {
        reporter_.Progress("download", done, total);
    });
    if (!fetched.ok()) return fail(fetched.status());
    HVKIT_RETURN_IF_ERROR(journal_.Advance(id, "downloaded"));

    reporter_.Step("verifying the package against the guest's trust store");
    PackagePolicy policy;
    policy.installed_version = installed;
    auto info = VerifyPackageFile(path, trust_, policy);
    if (!info.ok()) return fail(info.status());
    if (info->manifest.version != target) {
        return fail(Error(ErrorCode::kConflict, "the repository's " + to + " package is version " +
                                                    info->manifest.version.ToString()));
    }
    std::string manifest = DumpJson(info->envelope.ToJson());

    reporter_.Step("transferring the hypervisor's part over hvchan");
    HVKIT_RETURN_IF_ERROR(journal_.Advance(id, "transferring"));
    auto session = host_.Send(path, *fetched, manifest, [&](uint64_t done, uint64_t total) {
        reporter_.Progress("transfer", done, total);
    });
    if (!session.ok()) return fail(session.status());
    HVKIT_RETURN_IF_ERROR(journal_.Advance(id, "transferring", "", *session));
    reporter_.Step("the hypervisor verifies and stages it");
    if (Status st = host_.End(*session); !st.ok()) return fail(st, *session);

    reporter_.Step("installing the guest extensions (staged)");
    if (Status st = extensions_.Stage(path, trust_, target); !st.ok()) return fail(st, *session);
    HVKIT_RETURN_IF_ERROR(journal_.Advance(id, "staged"));

    HVKIT_RETURN_IF_ERROR(journal_.Advance(id, "committing"));
    reporter_.Step("committing: the hypervisor first, then the guest extensions");
    if (Status st = host_.Commit(*session); !st.ok()) return fail(st, *session);
    reporter_.Step("the hypervisor committed " + to + "; switching the guest extensions");
    HVKIT_RETURN_IF_ERROR(extensions_.Activate(target));
    HVKIT_RETURN_IF_ERROR(journal_.Advance(id, "committed"));
    unlink(path.c_str());
    reporter_.Step("committed " + to + " (the hypervisor runs it from its next start)");
    return ApplyResult{true, from, to, id};
}

Result<ApplyResult> Agent::Rollback() {
    HVKIT_RETURN_IF_ERROR(Recover().status());
    HVKIT_ASSIGN_OR_RETURN(HostVersions host, host_.Versions());
    HVKIT_ASSIGN_OR_RETURN(std::vector<Transaction> history, journal_.History());
    // The release before the current one: where the last committed
    // transaction that led to the installed version came from.
    std::optional<std::string> previous;
    for (const auto& t : history) {
        if (t.state == "committed" && t.to_version == host.installed()) {
            previous = t.from_version;
            break;
        }
    }
    if (!previous) {
        return Error(ErrorCode::kNotFound,
                     "no earlier release of this agent's to roll back to "
                     "from " +
                         host.installed());
    }
    HVKIT_ASSIGN_OR_RETURN(int64_t id,
                           journal_.Begin("rollback", host.installed(), *previous, "committing"));
    reporter_.Step("rolling back the hypervisor to " + *previous);
    if (Status st = host_.Rollback(); !st.ok()) {
        (void)journal_.Advance(id, "failed", st.message());
        return st;
    }
    reporter_.Step("rolling back the guest extensions");
    HVKIT_ASSIGN_OR_RETURN(std::optional<std::string> current, extensions_.Current());
    if (current != *previous) HVKIT_RETURN_IF_ERROR(extensions_.RollBack());
    HVKIT_RETURN_IF_ERROR(journal_.Advance(id, "committed"));
    return ApplyResult{true, host.installed(), *previous, id};
}

}  // namespace hvkit::agent
