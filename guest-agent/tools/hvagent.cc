// hvagent: the guest agent's long-running services. One so far:
//
//   hvagent filters [--device PCI_ADDRESS] [--modules DIR]... [--status FILE]
//                   [--busy-poll-us N]
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

#include "hvkit/cli_args.h"
#include "hvkit/filter_runtime/runtime.h"

namespace {

using namespace hvkit;

constexpr int kExitNoDevice = 3;
constexpr const char* kUsage =
    "usage: hvagent filters [--device PCI_ADDRESS] [--modules DIR]... [--status FILE]\n"
    "                       [--busy-poll-us N]\n";

int RunFilters(const cli::Args& args) {
    filter_runtime::RuntimeOptions options;
    options.module_dirs = args.All("--modules");
    if (options.module_dirs.empty()) {
        options.module_dirs = {"/opt/hvkit/current/filters", "/hvkit/lib/filters"};
    }
    auto status = args.One("--status");
    auto device_address = args.One("--device");
    if (!status.ok() || !device_address.ok()) {
        std::fprintf(stderr, "hvagent filters: %s\n%s",
                     (!status.ok() ? status : device_address).status().message().c_str(), kUsage);
        return 2;
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
        if (!us.ok()) {
            std::fprintf(stderr, "hvagent filters: %s\n%s", us.status().message().c_str(), kUsage);
            return 2;
        }
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

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2 || std::string(argv[1]) != "filters") {
        std::fprintf(
            stderr, "hvagent: %s\n%s",
            argc < 2 ? "no command" : ("unknown command '" + std::string(argv[1]) + "'").c_str(),
            kUsage);
        return 2;
    }
    auto args =
        cli::ParseArgs(std::vector<std::string>(argv + 2, argv + argc),
                       {.value_options = {"--device", "--modules", "--status", "--busy-poll-us"}});
    if (!args.ok()) {
        std::fprintf(stderr, "hvagent filters: %s\n%s", args.status().message().c_str(), kUsage);
        return 2;
    }
    return RunFilters(*args);
}
