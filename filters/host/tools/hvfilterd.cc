// hvfilterd: the host side of the leveraged guest filters (docs/filters.md).
//
//   hvfilterd run --config FILE [--stats-socket PATH]
//   hvfilterd check --config FILE
//   hvfilterd stats --stats-socket PATH [--json]
//
// Exit codes: 0 success (run: stopped by SIGTERM/SIGINT with everything
// answered); 1 a runtime failure (a source, the nft table or the stats
// socket could not be set up; stats: the daemon could not be reached);
// 2 a usage error or an invalid configuration.
#include <signal.h>

#include <cstdio>
#include <string>
#include <vector>

#include "daemon.h"
#include "hvkit/cli_args.h"
#include "hvkit/filterd/config.h"
#include "stats_socket.h"

namespace hvkit::filterd {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

constexpr const char* kUsage =
    "usage: hvfilterd run --config FILE [--stats-socket PATH]\n"
    "       hvfilterd check --config FILE\n"
    "       hvfilterd stats --stats-socket PATH [--json]\n";

int Fail(int code, const std::string& message) {
    std::fprintf(stderr, "hvfilterd: %s\n", message.c_str());
    return code;
}

int Check(const cli::Args& args) {
    Result<std::string> path = args.Required("--config");
    if (!path.ok()) return Fail(kExitUsage, path.status().message());
    Result<FilterConfig> config = LoadFilterConfig(*path);
    if (!config.ok()) return Fail(kExitUsage, config.status().message());
    std::printf("%s: valid (%zu sources)\n", path->c_str(), config->sources.size());
    return kExitOk;
}

int Run(const cli::Args& args) {
    Result<std::string> path = args.Required("--config");
    if (!path.ok()) return Fail(kExitUsage, path.status().message());
    Result<std::optional<std::string>> stats = args.One("--stats-socket");
    if (!stats.ok()) return Fail(kExitUsage, stats.status().message());
    Result<FilterConfig> config = LoadFilterConfig(*path);
    if (!config.ok()) return Fail(kExitUsage, config.status().message());
    // Blocked before anything is set up, so the signalfd sees every signal
    // and none kills the process with the nft table left behind.
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigprocmask(SIG_BLOCK, &mask, nullptr);
    signal(SIGPIPE, SIG_IGN);
    auto daemon = Daemon::Start(std::move(config.value()), stats->value_or(""));
    if (!daemon.ok()) return Fail(kExitFailure, daemon.status().message());
    Status st = (*daemon)->Run();
    if (!st.ok()) return Fail(kExitFailure, st.message());
    return kExitOk;
}

int Stats(const cli::Args& args) {
    Result<std::string> path = args.Required("--stats-socket");
    if (!path.ok()) return Fail(kExitUsage, path.status().message());
    Result<std::string> document = FetchStats(*path);
    if (!document.ok()) return Fail(kExitFailure, document.status().message());
    if (args.Has("--json")) {
        std::fputs(document->c_str(), stdout);
        return kExitOk;
    }
    Result<Json> parsed = ParseJson(*document, "hvfilterd's stats");
    if (!parsed.ok()) return Fail(kExitFailure, parsed.status().message());
    std::fputs(StatsText(*parsed).c_str(), stdout);
    return kExitOk;
}

int Main(int argc, char** argv) {
    if (argc < 2) return Fail(kExitUsage, std::string("no command\n") + kUsage);
    std::string command = argv[1];
    std::vector<std::string> rest(argv + 2, argv + argc);
    cli::CommandSpec spec;
    int (*handler)(const cli::Args&) = nullptr;
    if (command == "run") {
        spec.value_options = {"--config", "--stats-socket"};
        handler = Run;
    } else if (command == "check") {
        spec.value_options = {"--config"};
        handler = Check;
    } else if (command == "stats") {
        spec.value_options = {"--stats-socket"};
        spec.flags = {"--json"};
        handler = Stats;
    } else if (command == "--help" || command == "help") {
        std::fputs(kUsage, stdout);
        return kExitOk;
    } else {
        return Fail(kExitUsage, "unknown command '" + command + "'\n" + kUsage);
    }
    Result<cli::Args> args = cli::ParseArgs(rest, spec);
    if (!args.ok()) return Fail(kExitUsage, args.status().message() + "\n" + kUsage);
    return handler(*args);
}

}  // namespace
}  // namespace hvkit::filterd

int main(int argc, char** argv) {
    return hvkit::filterd::Main(argc, argv);
}
