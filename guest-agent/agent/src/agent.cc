// The agent's transactions: check, apply, rollback, and recovery of an
// interrupted one. The header (agent.h) explains the order of the steps.
#include "hvkit/agent/agent.h"
#include "hvkit/agent/host_trial.h"

#include "hvkit/agent/apply_ops.h"

#include <unistd.h>

#include <algorithm>

#include "hvkit/fs.h"

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

Result<std::string> Agent::Recover() {
    HVKIT_ASSIGN_OR_RETURN(std::optional<Transaction> pending, journal_.Pending());
    if (!pending) return std::string();
    const Transaction& t = *pending;
    reporter_.Step(UpdateStep::kRecover, "recovering transaction " + std::to_string(t.id) + " (" +
                                             std::string(TxKindName(t.kind)) + " to " +
                                             t.to_version + "), interrupted while " +
                                             std::string(TxStateName(t.state)));
    HVKIT_RETURN_IF_ERROR(Settle(t));
    HVKIT_ASSIGN_OR_RETURN(std::vector<Transaction> history, journal_.History());
    for (const auto& h : history) {
        if (h.id == t.id) {
            return "transaction " + std::to_string(t.id) + " " + std::string(TxStateName(h.state));
        }
    }
    return std::string();
}

Status Agent::Settle(const Transaction& t) {
    HVKIT_ASSIGN_OR_RETURN(SemVer to, Parse(t.to_version, "journal to_version"));
    if (t.state == TxState::kCommitting) {
        // A trial in flight decides first (killed while waiting for it).
        if (Status trial = AwaitHostTrial(host_, t.to_version); !trial.ok()) {
            reporter_.Step(UpdateStep::kRecover, trial.message());
        }
        HVKIT_ASSIGN_OR_RETURN(HostVersions host, host_.Versions());
        if (host.installed() == t.to_version) {
            // The host committed: finish the guest's half.
            // Apply or rollback alike: the guest switches to what the host
            // committed (a switch cut halfway is finished by the same call).
            HVKIT_RETURN_IF_ERROR(extensions_.Activate(to));
            unlink(DownloadPath(config_, to).c_str());
            return journal_.Advance(t.id, TxState::kCommitted, "finished after an interruption");
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
            (host->state == HVCHAN_UPDATE_TRANSFERRING || host->state == HVCHAN_UPDATE_STAGED)) {
            session = host->session;
        }
    }
    if (session != 0) (void)host_.Abort(session);  // it may have expired already
    if (t.kind == TxKind::kApply) HVKIT_RETURN_IF_ERROR(extensions_.Discard(to));
    return journal_.Advance(t.id, TxState::kUndone,
                            "interrupted while " + std::string(TxStateName(t.state)) + "; undone");
}

Result<CheckResult> Agent::Check() {
    HVKIT_ASSIGN_OR_RETURN(HostVersions host, host_.Versions());
    HVKIT_ASSIGN_OR_RETURN(SemVer installed, Parse(host.installed(), "the hypervisor's version"));
    reporter_.Step(UpdateStep::kRefresh, "refreshing the repository's metadata");
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
        reporter_.Step(UpdateStep::kDone, "up to date: " + installed.ToString());
        return ApplyResult{false, installed.ToString(), installed.ToString(), 0};
    }
    std::string from = installed.ToString(), to = target.ToString();
    ApplyTransaction t;
    HVKIT_ASSIGN_OR_RETURN(t.id, journal_.Begin(TxKind::kApply, from, to, TxState::kDownloading));
    t.installed = installed;
    t.target = target;
    ApplyWorld world{config_, trust_, journal_, extensions_, source_, host_, reporter_};
    HVKIT_RETURN_IF_ERROR(RunApply(world, t));
    return ApplyResult{true, from, to, t.id};
}

Result<ApplyResult> Agent::Rollback() {
    HVKIT_RETURN_IF_ERROR(Recover().status());
    HVKIT_ASSIGN_OR_RETURN(HostVersions host, host_.Versions());
    HVKIT_ASSIGN_OR_RETURN(std::vector<Transaction> history, journal_.History());
    // The release before the current one: where the last committed
    // transaction that led to the installed version came from.
    std::optional<std::string> previous;
    for (const auto& t : history) {
        if (t.state == TxState::kCommitted && t.to_version == host.installed()) {
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
    HVKIT_ASSIGN_OR_RETURN(int64_t id, journal_.Begin(TxKind::kRollback, host.installed(),
                                                      *previous, TxState::kCommitting));
    reporter_.Step(UpdateStep::kCommit, "rolling back the hypervisor to " + *previous);
    if (Status st = host_.Rollback(); !st.ok()) {
        (void)journal_.Advance(id, TxState::kFailed, st.message());
        return st;
    }
    reporter_.Step(UpdateStep::kSwitch, "rolling back the guest extensions");
    HVKIT_ASSIGN_OR_RETURN(SemVer back, Parse(*previous, "journal from_version"));
    HVKIT_RETURN_IF_ERROR(extensions_.Activate(back));
    HVKIT_RETURN_IF_ERROR(journal_.Advance(id, TxState::kCommitted));
    return ApplyResult{true, host.installed(), *previous, id};
}

}  // namespace hvkit::agent
