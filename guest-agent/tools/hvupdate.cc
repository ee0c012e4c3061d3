// hvupdate: the guest's update command. Checks the configured TUF repository,
// applies an update to the hypervisor (over hvchan) and the guest's own
// extensions as one transaction, shows status and history, rolls back.
//
//   hvupdate [--config FILE] [--json] check | apply [--version V] | status | history | rollback
//
// Exit status (scripts may rely on it): 0 done (check: an update is
// available); 1 failed (network, I/O, the hypervisor unreachable); 2 usage or
// configuration error; 3 refused (signature, hash, rollback, permission:
// retrying will not help); 4 check: up to date.
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "hvkit/agent/agent.h"
#include "hvkit/agent/tuf_source.h"
#include "hvkit/cli_args.h"
#include "hvkit/json.h"
#include "stop_point.h"

namespace {

// hvchan_update_state in the words of the shared vocabulary.
std::string HostUpdateStateName(uint32_t state) {
    switch (state) {
        case HVCHAN_UPDATE_IDLE:
            return "idle";
        case HVCHAN_UPDATE_TRANSFERRING:
            return "transferring";
        case HVCHAN_UPDATE_STAGED:
            return "staged";
        case HVCHAN_UPDATE_COMMITTED:
            return "committed";
        case HVCHAN_UPDATE_FAILED:
            return "failed";
        case HVCHAN_UPDATE_TRIAL:
            return "on-trial";
    }
    return "state " + std::to_string(state);
}

using namespace hvkit;
using namespace hvkit::agent;

constexpr int kExitOk = 0, kExitFailed = 1, kExitUsage = 2, kExitRefused = 3, kExitUpToDate = 4;

constexpr const char* kUsage =
    "usage: hvupdate [--config FILE] [--json] COMMAND\n"
    "  check                  what the repository offers above the installed version\n"
    "  apply [--version V]    download, verify, transfer, install, commit (newest by default)\n"
    "  status                 installed versions and any transaction in flight\n"
    "  history                every transaction\n"
    "  rollback               back to the release before the current one\n"
    "exit: 0 ok (check: update available), 1 failed, 2 usage/config, 3 refused, 4 up to date\n";

// The exit status of a command that got past its arguments and
// configuration (those exit kExitUsage where they are read): what the
// repository, the package or the hypervisor said is never the caller's usage.
int ExitFor(const Status& st) {
    switch (st.code()) {
        case ErrorCode::kBadSignature:
        case ErrorCode::kHashMismatch:
        case ErrorCode::kRollback:
        case ErrorCode::kRefused:
        case ErrorCode::kExpired:
            return kExitRefused;
        default:
            return kExitFailed;
    }
}

// Steps as lines, transfers as a progress bar on stderr (when it is a
// terminal, else a line per 10%); nothing but the result on stdout.
class ConsoleReporter final : public Reporter {
  public:
    explicit ConsoleReporter(bool quiet) : quiet_(quiet), tty_(isatty(STDERR_FILENO)) {}
    void Step(UpdateStep, std::string_view what) override {
        EndBar();
        if (!quiet_)
            fprintf(stderr, "hvupdate: %.*s\n", static_cast<int>(what.size()), what.data());
    }
    void Progress(UpdateStep step, uint64_t done, uint64_t total) override {
        if (quiet_ || total == 0) return;
        std::string_view what = UpdateStepName(step);
        int percent = static_cast<int>(done * 100 / total);
        if (tty_) {
            int width = 30, filled = percent * width / 100;
            fprintf(stderr, "\r  %-8.*s [%.*s%*s] %3d%% %llu/%llu bytes",
                    static_cast<int>(what.size()), what.data(), filled,
                    "##############################", width - filled, "", percent,
                    static_cast<unsigned long long>(done), static_cast<unsigned long long>(total));
            bar_ = true;
        } else if (percent / 10 != last_decile_ || done == total) {
            last_decile_ = percent / 10;
            fprintf(stderr, "  %.*s %3d%% (%llu/%llu bytes)\n", static_cast<int>(what.size()),
                    what.data(), percent, static_cast<unsigned long long>(done),
                    static_cast<unsigned long long>(total));
        }
        if (done == total) last_decile_ = -1;
    }
    void EndBar() {
        if (bar_) fputc('\n', stderr);
        bar_ = false;
    }

  private:
    bool quiet_, tty_, bar_ = false;
    int last_decile_ = -1;
};

struct Context {
    AgentConfig config;
    std::unique_ptr<Journal> journal;
    std::unique_ptr<ExtensionStore> extensions;
    std::unique_ptr<hvchan::Channel> channel;
    std::unique_ptr<HostUpdater> host;
    std::unique_ptr<PackageSource> source;
    std::optional<PackageTrustStore> trust;
};

class ChannelHost final : public UpdateHost {
  public:
    explicit ChannelHost(HostUpdater& h) : h_(h) {}
    Result<HostVersions> Versions() override { return h_.Versions(); }
    Result<uint64_t> Send(const std::string& p, const Sha256Digest& d, const std::string& m,
                          const Progress& pr) override {
        return h_.Send(p, d, m, pr);
    }
    Status End(uint64_t s) override { return h_.End(s); }
    Status Commit(uint64_t s) override { return h_.Commit(s); }
    Status Abort(uint64_t s) override { return h_.Abort(s); }
    Status Rollback() override { return h_.Rollback(); }
    Result<hvchan_update_status> Report() override { return h_.Report(); }

  private:
    HostUpdater& h_;
};

// Everything a command needs, from a configuration already read.
Result<Context> Open(AgentConfig config, bool need_source) {
    Context ctx;
    ctx.config = std::move(config);
    HVKIT_RETURN_IF_ERROR(MakeDirectories(ctx.config.state_dir));
    HVKIT_ASSIGN_OR_RETURN(ctx.journal, Journal::Open(ctx.config.state_dir + "/agent.sqlite"));
    ctx.extensions = std::make_unique<ExtensionStore>(ctx.config.extensions_dir);
    HVKIT_ASSIGN_OR_RETURN(ctx.channel, hvchan::Channel::OpenFirst());
    ctx.host = std::make_unique<HostUpdater>(*ctx.channel);
    HVKIT_ASSIGN_OR_RETURN(ctx.trust, PackageTrustStore::Load(ctx.config.package_trust_path));
    if (need_source) {
        HVKIT_ASSIGN_OR_RETURN(auto source, TufPackageSource::Open(ctx.config));
        ctx.source = std::move(source);
    }
    return ctx;
}

// A source for commands that never download (status, history, rollback).
class NoSource final : public PackageSource {
  public:
    Status Refresh() override { return Error(ErrorCode::kConflict, "no repository here"); }
    Result<std::vector<SemVer>> Available() override { return std::vector<SemVer>(); }
    Result<Sha256Digest> Fetch(const SemVer&, const std::string&, const Progress&) override {
        return Error(ErrorCode::kConflict, "no repository here");
    }
};

Json TransactionJson(const Transaction& t) {
    Json j = Json::MakeObject();
    j["id"] = Json(t.id);
    j["kind"] = Json(std::string(TxKindName(t.kind)));
    j["from"] = Json(t.from_version);
    j["to"] = Json(t.to_version);
    j["state"] = Json(std::string(TxStateName(t.state)));
    j["detail"] = Json(t.detail);
    j["started_at"] = Json(t.started_at);
    j["updated_at"] = Json(t.updated_at);
    return j;
}

int Print(bool json, const Json& out, const std::string& human, int code) {
    if (json) {
        printf("%s\n", DumpJson(out).c_str());
    } else if (!human.empty()) {
        fputs(human.c_str(), stdout);
    }
    return code;
}

int Fail(bool json, const Status& st, int code) {
    if (json) {
        Json out = Json::MakeObject();
        out["ok"] = Json(false);
        out["error"] = Json(st.message());
        out["exit"] = Json(int64_t{code});
        printf("%s\n", DumpJson(out).c_str());
    }
    fprintf(stderr, "hvupdate: %s\n", st.message().c_str());
    return code;
}

int Fail(bool json, const Status& st) {
    return Fail(json, st, ExitFor(st));
}

}  // namespace

int main(int argc, char** argv) {
    for (int i = 1; i < argc; ++i) {
        if (std::string(argv[i]) == "--help" || std::string(argv[i]) == "-h") {
            fputs(kUsage, stdout);
            return kExitOk;
        }
    }
    auto args = cli::ParseArgs(
        std::vector<std::string>(argv + 1, argv + argc),
        {.value_options = {"--config", "--version"}, .flags = {"--json"}, .positional = 1});
    if (!args.ok()) {
        fprintf(stderr, "hvupdate: %s\n%s", args.status().message().c_str(), kUsage);
        return kExitUsage;
    }
    bool json = args->Has("--json");
    std::string command = args->positional[0];
    auto config_path = args->One("--config");
    auto version_text = args->One("--version");
    if (!config_path.ok() || !version_text.ok()) {
        return Fail(json, !config_path.ok() ? config_path.status() : version_text.status(),
                    kExitUsage);
    }
    std::optional<SemVer> version;
    if (*version_text) {
        if (command != "apply") {
            return Fail(json, Error(ErrorCode::kInvalidArgument, "--version is for apply"),
                        kExitUsage);
        }
        auto v = SemVer::Parse(**version_text, "--version");
        if (!v.ok()) return Fail(json, v.status(), kExitUsage);
        version = *v;
    }
    bool downloads = command == "check" || command == "apply";
    if (!downloads && command != "status" && command != "history" && command != "rollback") {
        fprintf(stderr, "hvupdate: unknown command '%s'\n%s", command.c_str(), kUsage);
        return kExitUsage;
    }
    // A configuration that cannot be read is the caller's to fix.
    auto config = LoadAgentConfig(config_path->value_or(kDefaultConfigPath));
    if (!config.ok()) return Fail(json, config.status(), kExitUsage);
    auto stop_at = StopPointReporter::PointFromEnvironment();
    if (!stop_at.ok()) return Fail(json, stop_at.status(), kExitUsage);
    auto ctx = Open(std::move(*config), downloads);
    if (!ctx.ok()) return Fail(json, ctx.status());
    ConsoleReporter console(json);
    StopPointReporter reporter(console, *stop_at);
    ChannelHost host(*ctx->host);
    NoSource none;
    Agent agent(ctx->config, *ctx->trust, *ctx->journal, *ctx->extensions,
                ctx->source ? *ctx->source : static_cast<PackageSource&>(none), host, reporter);

    Json out = Json::MakeObject();
    out["ok"] = Json(true);
    if (command == "check") {
        auto r = agent.Check();
        if (!r.ok()) return Fail(json, r.status());
        out["installed"] = Json(r->installed);
        Json avail = Json::MakeArray();
        for (const auto& v : r->available) avail.as_array().push_back(Json(v));
        out["available"] = std::move(avail);
        out["update_available"] = Json(r->newer.has_value());
        if (r->newer) out["newer"] = Json(*r->newer);
        std::string human = "installed " + r->installed + "; " +
                            (r->newer ? "update available: " + *r->newer : "up to date") + "\n";
        return Print(json, out, human, r->newer ? kExitOk : kExitUpToDate);
    }
    if (command == "apply" || command == "rollback") {
        auto r = command == "apply" ? agent.Apply(version) : agent.Rollback();
        console.EndBar();
        if (!r.ok()) return Fail(json, r.status());
        out["changed"] = Json(r->changed);
        out["from"] = Json(r->from);
        out["to"] = Json(r->to);
        out["transaction"] = Json(r->transaction);
        std::string human = r->changed ? command + ": " + r->from + " -> " + r->to + "\n"
                                       : "up to date: " + r->to + "\n";
        return Print(json, out, human, kExitOk);
    }
    if (command == "status") {
        auto recovered = agent.Recover();
        if (!recovered.ok()) return Fail(json, recovered.status());
        auto v = ctx->host->Versions();
        if (!v.ok()) return Fail(json, v.status());
        auto current = ctx->extensions->Current();
        auto previous = ctx->extensions->Previous();
        auto pending = ctx->journal->Pending();
        if (!current.ok() || !previous.ok() || !pending.ok()) {
            return Fail(json, !current.ok()    ? current.status()
                              : !previous.ok() ? previous.status()
                                               : pending.status());
        }
        out["hypervisor_running"] = Json(v->running);
        out["hypervisor_committed"] = Json(v->committed);
        out["update_permitted"] = Json(v->update_permitted);
        out["guest_extensions"] = Json(current->value_or(""));
        out["guest_extensions_previous"] = Json(previous->value_or(""));
        out["pending"] = *pending ? TransactionJson(**pending) : Json(nullptr);
        if (!recovered->empty()) out["recovered"] = Json(*recovered);
        // The hypervisor's last update as it tells it: a trial's outcome.
        std::string last_update;
        if (v->update_permitted) {
            auto report = ctx->host->Report();
            if (!report.ok()) return Fail(json, report.status());
            if (report->state != HVCHAN_UPDATE_IDLE) {
                Json last = Json::MakeObject();
                std::string version(report->version,
                                    strnlen(report->version, sizeof report->version));
                std::string message(report->message,
                                    strnlen(report->message, sizeof report->message));
                last["state"] = Json(HostUpdateStateName(report->state));
                last["version"] = Json(version);
                last["message"] = Json(message);
                out["hypervisor_last_update"] = std::move(last);
                last_update = "hypervisor's last update: " + version + " " +
                              HostUpdateStateName(report->state) + " (" + message + ")\n";
            }
        }
        std::string human = (recovered->empty() ? "" : "recovered: " + *recovered + "\n") +
                            "hypervisor: running " + v->running + ", committed " +
                            (v->committed.empty() ? "-" : v->committed) +
                            (v->update_permitted ? "" : " (this VM may not update it)") + "\n" +
                            last_update + "guest extensions: " + current->value_or("-") +
                            " (previous " + previous->value_or("-") + ")\n" +
                            (*pending ? "pending: transaction " + std::to_string((*pending)->id) +
                                            " " + std::string(TxStateName((*pending)->state)) + "\n"
                                      : "no transaction pending\n");
        return Print(json, out, human, kExitOk);
    }
    auto history = ctx->journal->History();
    if (!history.ok()) return Fail(json, history.status());
    Json list = Json::MakeArray();
    std::string human;
    for (const auto& t : *history) {
        list.as_array().push_back(TransactionJson(t));
        human += std::to_string(t.id) + "  " + std::string(TxKindName(t.kind)) + "  " +
                 t.from_version + " -> " + t.to_version + "  " + std::string(TxStateName(t.state)) +
                 (t.detail.empty() ? "" : "  (" + t.detail + ")") + "\n";
    }
    out["transactions"] = std::move(list);
    return Print(json, out, human.empty() ? "no transactions\n" : human, kExitOk);
}
