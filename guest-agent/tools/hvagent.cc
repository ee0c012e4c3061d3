// hvagent: the guest agent's services.
//
//   hvagent filters [--device PCI_ADDRESS] [--modules DIR]... [--status FILE]
//                   [--busy-poll-us N]
//   hvagent scan --chain CHAIN.json [--modules DIR]... [--network] FILE...
//
// `scan` is in hvagent_scan.cc.
//
// serves the VM's filter rings (hvmm --filter-rings): attaches to the region
// hvfilterd formatted, runs each item through the module chain the host
// announced, publishes the verdicts, until SIGTERM or SIGINT. Modules are
// NAME.so in the --modules directories, first match wins (default: the
// installed guest extension's filters, then the image's:
// /opt/hvkit/current/filters, /hvkit/lib/filters). --status keeps a JSON
// file of its counters. --busy-poll-us (default 20000, 0..1000000) is how long
// it keeps looking at the rings after activity before it sleeps until an
// interrupt: longer saves interrupts under load and burns the vCPU while
// idle. Exit status: 0 stopped by a signal; 2 usage;
// 3 no filter device (the VM has none); 1 other errors.
#include <signal.h>
#include <sys/signalfd.h>

#include <cstdio>

#include "hvagent_commands.h"
#include "hvkit/filter_runtime/runtime.h"

namespace hvkit::agent_tool {

namespace {

constexpr int kExitNoDevice = 3;
constexpr const char* kUsage =
    "usage: hvagent filters [--device PCI_ADDRESS] [--modules DIR]... [--status FILE]\n"
    "                       [--busy-poll-us N]\n"
    "       hvagent scan --chain CHAIN.json [--modules DIR]... [--network] FILE...\n";

}  // namespace

std::vector<std::string> ModuleDirs(const cli::Args& args) {
    std::vector<std::string> dirs = args.All("--modules");
    if (dirs.empty()) dirs = {"/opt/hvkit/current/filters", "/hvkit/lib/filters"};
    return dirs;
}

int Usage(const std::string& command, const std::string& message) {
    std::fprintf(stderr, "hvagent %s: %s\n%s", command.c_str(), message.c_str(), kUsage);
    return 2;
}

int Fail(const std::string& command, const std::string& message) {
    std::fprintf(stderr, "hvagent %s: %s\n", command.c_str(), message.c_str());
    return 1;
}

int RunFilters(const cli::Args& args) {
    filter_runtime::RuntimeOptions options;
    options.module_dirs = ModuleDirs(args);
    auto status = args.One("--status");
    auto device_address = args.One("--device");
    if (!status.ok() || !device_address.ok()) {
        return Usage("filters", (!status.ok() ? status : device_address).status().message());
    }
    if (*status) options.status_path = **status;
    auto busy_poll = args.One("--busy-poll-us");
    if (!busy_poll.ok()) {
        std::fprintf(stderr, "hvagent filters: %s\n%s", busy_poll.status().message().c_str(),
                     kUsage);
        return 2;
    }
    if (*busy_poll) {
        auto us = cli::ParseInteger("--busy-poll-us", **busy_poll, 0, 1000000);
        if (!us.ok()) return Usage("filters", us.status().message());
        options.busy_poll = std::chrono::microseconds(*us);
    }

    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    sigprocmask(SIG_BLOCK, &stop, nullptr);
    UniqueFd stop_fd(signalfd(-1, &stop, SFD_CLOEXEC | SFD_NONBLOCK));

    auto device = filter_runtime::OpenUioRegionDevice(device_address->value_or(""));
    if (!device.ok()) {
        std::fprintf(stderr, "hvagent filters: %s\n", device.status().message().c_str());
        return device.status().code() == ErrorCode::kNotFound ? kExitNoDevice : 1;
    }
    std::fprintf(stderr, "hvagent filters: serving %s\n", (*device)->Describe().c_str());
    filter_runtime::FilterRuntime runtime(std::move(device).value(), options);
    Status ran = runtime.Run(stop_fd.get());
    std::fprintf(stderr, "hvagent filters: stopped: %s\n",
                 DumpJson(runtime.StatsJson(), 0).c_str());
    if (!ran.ok()) {
        std::fprintf(stderr, "hvagent filters: %s\n", ran.message().c_str());
        return 1;
    }
    return 0;
}

}  // namespace hvkit::agent_tool

int main(int argc, char** argv) {
    using namespace hvkit;
    const std::string command = argc < 2 ? "" : argv[1];
    cli::CommandSpec spec;
    int (*run)(const cli::Args&) = nullptr;
    if (command == "filters") {
        spec = {.value_options = {"--device", "--modules", "--status", "--busy-poll-us"}};
        run = agent_tool::RunFilters;
    } else if (command == "scan") {
        spec = {.value_options = {"--chain", "--modules"},
                .flags = {"--network"},
                .positional = 1,
                .more_positional = true};
        run = agent_tool::RunScan;
    } else {
        return agent_tool::Usage(command.empty() ? "" : command,
                                 command.empty() ? "no command" : "unknown command");
    }
    std::vector<std::string> words(argv + 2, argv + argc);
    auto args = cli::ParseArgs(words, spec);
    if (!args.ok()) return agent_tool::Usage(command, args.status().message());
    return run(*args);
}
