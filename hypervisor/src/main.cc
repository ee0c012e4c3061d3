// hvmm: the hvkit VMM. `hvmm run` boots a Linux bzImage on KVM.
#include <fcntl.h>
#include <malloc.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "control/control.h"
#include "host_side.h"
#include "hvkit/cli_args.h"
#include "hvkit/fs.h"
#include "hvmm.h"
#include "takeover/takeover.h"
#include "update/release_store.h"

namespace {

using namespace hvkit;
using namespace hvkit::hvmm;

constexpr int kExitOk = exit_status::kOk;
constexpr int kExitFailure = exit_status::kFailure;
constexpr int kExitUsage = exit_status::kUsage;
constexpr int kExitNoHardwareKvm = exit_status::kNoHardwareKvm;

// The help around `hvmm run`'s, which the machine and the device rows compose
// (RunUsage, run_options.cc).
constexpr const char* kHelpHead = R"(usage: hvmm COMMAND [ARGS]

The hvkit virtual machine monitor (KVM). Details: docs/hvmm.md.

)";
constexpr const char* kHelpTail = R"(  hvmm control PATH CMD
      Send CMD (status, pause, resume, shutdown or filter-attach) to the
      control socket at PATH and print the JSON response; exit 0 when it
      says "ok":true. filter-attach's fds are closed: hvfilterd is the
      client that keeps them.
  hvmm control PATH takeover [--binary FILE] [--trial MS]
      Hand the running guest to a new hvmm process (FILE, default this
      hvmm's own binary) without stopping it (docs/live-takeover.md); print
      the successor's status, or the reason it fell back (exit 1). With
      --trial, the new hvmm must see the guest make an hvchan call within
      MS milliseconds, or it hands the guest back (exit 1).
  hvmm check-kvm
      Say whether /dev/kvm is usable and what backs it.
  hvmm --version [--state-dir DIR]
      This hvmm's version, the release the host's store at DIR has
      committed (the one the next start runs), if any, and its last trial.

Exit status: 0 guest reset or shut down; 1 failure (hvmm error, guest crash
or triple fault; for control: the request failed or was refused); 2 usage
error; 3 stopped by SIGINT/SIGTERM or a control-socket shutdown; 4
(check-kvm) KVM works but cannot boot a stock kernel; 5 the guest was
handed over to a successor hvmm (live takeover).
)";

int Help() {
    std::string help = std::string(kHelpHead) + RunUsage() + kHelpTail;
    fputs(help.c_str(), stdout);
    return kExitOk;
}

int Fail(const Status& st) {
    fprintf(stderr, "hvmm: %s\n", st.message().c_str());
    return kExitFailure;
}

int Usage(const std::string& why) {
    fprintf(stderr, "hvmm: %s\nTry 'hvmm --help'.\n", why.c_str());
    return kExitUsage;
}

Result<std::vector<uint8_t>> ReadBinary(const std::string& what, const std::string& path,
                                        size_t max) {
    auto text = ReadFile(path, max);
    if (!text.ok()) return text.status().WithContext(what);
    return std::vector<uint8_t>(text->begin(), text->end());
}

int CheckKvm() {
    KvmHostFacts facts = ProbeKvmHostFacts();
    KvmBackend backend = ClassifyKvmBackend(facts);
    auto kvm = Kvm::Open();
    if (!kvm.ok()) return Fail(kvm.status());
    printf("/dev/kvm: usable; %s\n", DescribeKvmBackend(backend, facts).c_str());
    if (backend != KvmBackend::kHardware) {
        printf(
            "a stock Linux kernel cannot boot here; use the test host "
            "(tests/system/testhost.sh)\n");
        return kExitNoHardwareKvm;
    }
    return kExitOk;
}

bool ResponseOk(const std::string& response) {
    auto parsed = ParseJson(response, "control response");
    const Json* ok = parsed.ok() ? parsed->Find("ok") : nullptr;
    return ok != nullptr && ok->is_bool() && ok->as_bool();
}

// `hvmm control PATH takeover [--binary FILE] [--trial MS]`: starts a live
// takeover and waits for its outcome: the successor answering the socket
// and running the guest (its status, with the blackout, is printed, exit 0;
// on trial, once it passed) or the takeover falling back (the reason, exit 1).
int ControlTakeover(const std::string& path, const std::optional<std::string>& binary,
                    int64_t trial_ms) {
    std::string absolute;
    if (binary) {
        char* real = realpath(binary->c_str(), nullptr);
        if (real == nullptr) {
            return Fail(
                Error(ErrorCode::kNotFound, "--binary " + *binary + ": " + strerror(errno)));
        }
        absolute = real;
        free(real);
    }
    auto before = SendControlRequest(path, ControlRequestFor("status"));
    if (!before.ok()) return Fail(before.status());
    auto parsed = ParseJson(*before, "control response");
    const Json* pid = parsed.ok() ? parsed->Find("pid") : nullptr;
    if (pid == nullptr || !pid->is_int()) {
        return Fail(
            Error(ErrorCode::kConflict, "this hvmm does not report its pid: too old for takeover"));
    }
    Json request = Json::MakeObject();
    request["cmd"] = Json("takeover");
    if (!absolute.empty()) request["binary"] = Json(absolute);
    if (trial_ms > 0) request["trial_ms"] = Json(trial_ms);
    auto started = SendControlRequest(path, DumpJson(request, 0));
    if (!started.ok()) return Fail(started.status());
    if (!ResponseOk(*started)) {
        printf("%s\n", started->c_str());
        return kExitFailure;
    }
    // While the guest changes hands nobody answers; the status after comes
    // from the successor, or from this hvmm if it fell back.
    int attempts = 600 + static_cast<int>(trial_ms / 100) + (trial_ms > 0 ? 1200 : 0);
    for (int attempt = 0; attempt < attempts; ++attempt) {
        auto now = SendControlRequest(path, ControlRequestFor("status"), 300000);
        if (!now.ok()) return Fail(now.status().WithContext("after takeover"));
        auto status = ParseJson(*now, "control response");
        if (!status.ok()) return Fail(status.status());
        const Json* now_pid = status->Find("pid");
        const Json* takeover = status->Find("takeover");
        const Json* state = takeover != nullptr ? takeover->Find("state") : nullptr;
        if (now_pid != nullptr && now_pid->is_int() && now_pid->as_int() != pid->as_int()) {
            const Json* took_over = status->Find("took_over");
            const Json* trial =
                took_over != nullptr && took_over->is_object() ? took_over->Find("trial") : nullptr;
            std::string verdict = trial != nullptr && trial->is_string() ? trial->as_string() : "";
            bool started = took_over != nullptr && took_over->is_object() &&
                           took_over->Find("blackout_us") != nullptr;
            if (!started || (trial_ms > 0 && (verdict == "on-trial" || verdict == "handed-back"))) {
                usleep(started ? 100000 : 2000);  // its vCPUs, or the verdict, are still to come
                continue;
            }
            printf("%s\n", now->c_str());
            return trial_ms > 0 && verdict != "passed" ? kExitFailure : kExitOk;
        }
        if (state != nullptr && state->is_string() && state->as_string() == "fell-back") {
            printf("%s\n", now->c_str());
            return kExitFailure;
        }
        usleep(100000);
    }
    return Fail(Error(ErrorCode::kNetwork,
                      "takeover: no outcome after " + std::to_string(attempts / 10) + " s"));
}

// `hvmm control PATH CMD`: one request, its response on stdout.
int Control(const std::vector<std::string>& argv) {
    auto args = cli::ParseArgs(argv, {.value_options = {"--binary", "--trial"}, .positional = 2});
    if (!args.ok())
        return Usage("control: " + args.status().message() + " (hvmm control PATH CMD)");
    auto binary = args->One("--binary");
    if (!binary.ok()) return Usage(binary.status().message());
    auto trial = args->One("--trial");
    if (!trial.ok()) return Usage(trial.status().message());
    int64_t trial_ms = 0;
    if (*trial) {
        char* end = nullptr;
        trial_ms = strtoll((*trial)->c_str(), &end, 10);
        if (end == (*trial)->c_str() || *end != '\0' || trial_ms <= 0 || trial_ms > 3600000) {
            return Usage("control: --trial takes milliseconds from 1 to 3600000, not " + **trial);
        }
    }
    if (args->positional[1] == "takeover") {
        return ControlTakeover(args->positional[0], *binary, trial_ms);
    }
    if (*binary || *trial) return Usage("control: --binary and --trial go with takeover only");
    auto response = SendControlRequest(args->positional[0], ControlRequestFor(args->positional[1]));
    if (!response.ok()) return Fail(response.status());
    printf("%s\n", response->c_str());
    return ResponseOk(*response) ? kExitOk : kExitFailure;
}

// The kernel and initrd are in guest memory once the machine is built; their
// file copies (the kernel alone is ~8 MiB) would otherwise stay resident for
// the VM's whole life. malloc_trim hands the freed heap back to the kernel.
void ReleaseBootImages(MachineConfig& config) {
    std::vector<uint8_t>().swap(config.kernel);
    std::vector<uint8_t>().swap(config.initrd);
    malloc_trim(0);
}

// The kernel and initrd into (options).config, checked before KVM is
// touched, and a KVM that can boot them (or --allow-pvm).
Status LoadKernel(RunOptions& options) {
    MachineConfig& config = options.config;
    HVKIT_ASSIGN_OR_RETURN(config.kernel, ReadBinary("kernel", options.kernel_path, 512u << 20));
    if (options.initrd_path) {
        HVKIT_ASSIGN_OR_RETURN(config.initrd,
                               ReadBinary("initrd", *options.initrd_path, size_t{2} << 30));
    }
    // Check the image before KVM, so a wrong file is reported as such anywhere.
    HVKIT_RETURN_IF_ERROR(ParseBzImage(config.kernel, config.kernel_name).status());
    KvmHostFacts facts = ProbeKvmHostFacts();
    KvmBackend backend = ClassifyKvmBackend(facts);
    if (backend != KvmBackend::kHardware && !options.allow_pvm) {
        return Error(ErrorCode::kConflict,
                     "/dev/kvm here is " + DescribeKvmBackend(backend, facts) +
                         ": it cannot run a stock Linux kernel (64-bit supervisor code "
                         "needs a PVM-aware kernel). Run hvmm inside the test host "
                         "(tests/system/testhost.sh) or on a host with VMX/SVM; "
                         "--allow-pvm boots anyway");
    }
    return Status::Ok();
}

int Run(const std::vector<std::string>& argv) {
    auto options = ParseRunOptions(argv);
    if (!options.ok()) return Usage(options.status().message());
    MachineConfig& config = options->config;
    if (options->real_mode_path) {
        // A real-mode payload runs on any KVM, PVM-backed included.
        auto payload = ReadBinary("real-mode image", *options->real_mode_path, 1u << 20);
        if (!payload.ok()) return Fail(payload.status());
        config.real_mode_payload = std::move(*payload);
    } else {
        Status loaded = LoadKernel(*options);
        if (!loaded.ok()) return Fail(loaded);
    }

    UniqueFd log;
    int serial_fd = STDOUT_FILENO;
    const std::optional<std::string>& serial_log = config.devices.serial.log_path;
    if (serial_log) {
        log = UniqueFd(open(serial_log->c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
        if (!log.valid()) {
            return Fail(Error(ErrorCode::kIo,
                              "cannot open serial log " + *serial_log + ": " + strerror(errno)));
        }
        serial_fd = log.get();
    }
    config.serial_sink = [serial_fd](std::span<const uint8_t> bytes) {
        WriteAll(serial_fd, bytes);
    };

    auto machine = BuildMachine(config);
    if (!machine.ok()) return Fail(machine.status());
    ReleaseBootImages(config);
    HostSide host(**machine, config.devices.serial.read_stdin);
    Predecessor takeover(**machine, host, argv, log.valid() ? log.get() : -1);
    if (config.devices.hvchan.takeover_on_commit) OfferTrials(**machine, takeover);
    Status started = host.Start(options->control_path, std::make_unique<MachineControlTarget>(
                                                           **machine, HvmmVersion(), &takeover));
    if (!started.ok()) return Fail(started);
    return RunUntilStopped(**machine, host);
}

// `hvmm successor --handover-fd N` (started by a takeover, not by users).
int Successor(const std::vector<std::string>& argv) {
    auto args = cli::ParseArgs(argv, {.value_options = {"--handover-fd"}, .positional = 0});
    if (!args.ok()) return Usage("successor: " + args.status().message());
    auto fd = args->One("--handover-fd");
    if (!fd.ok() || !*fd) return Usage("successor needs --handover-fd N");
    char* end = nullptr;
    long n = strtol((*fd)->c_str(), &end, 10);
    if (end == (*fd)->c_str() || *end != '\0' || n < 3 || n > 1023) {
        return Usage("successor: --handover-fd takes an fd number from 3 to 1023");
    }
    return RunSuccessor(static_cast<int>(n));
}

// hvmm --version [--state-dir DIR]: this hvmm's version, the release the
// host's store has committed (what the next start runs), if any, and the
// last trial (a release on trial, or how the last one ended).
int Version(const std::vector<std::string>& argv) {
    auto args = cli::ParseArgs(argv, {.value_options = {"--state-dir"}, .positional = 0});
    if (!args.ok()) return Usage("--version: " + args.status().message());
    auto dir = args->One("--state-dir");
    if (!dir.ok()) return Usage(dir.status().message());
    printf("hvmm %s\n", HvmmVersion());
    std::string state_dir = dir->value_or(HvchanConfig{}.state_dir);
    auto committed = ReleaseStore::Peek(state_dir);
    if (!committed.ok()) return Fail(committed.status());
    if (*committed) {
        printf("committed: %s (slot %c; the next start runs %s/current/hypervisor/bin/hvmm)\n",
               (*committed)->version.ToString().c_str(), (*committed)->slot, state_dir.c_str());
    }
    auto trial = ReleaseStore::PeekTrial(state_dir);
    if (!trial.ok()) return Fail(trial.status());
    if (*trial) {
        const Trial& t = **trial;
        printf("last trial: %s %s%s%s\n", t.version.ToString().c_str(),
               std::string(TrialOutcomeName(t.outcome)).c_str(), t.detail.empty() ? "" : ": ",
               t.detail.c_str());
    }
    return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) return Usage("missing command");
    std::string command = argv[1];
    std::vector<std::string> rest(argv + 2, argv + argc);
    if (command == "--help" || command == "-h" || command == "help") return Help();
    if (command == "--version") return Version(rest);
    for (const auto& arg : rest) {
        if (arg == "--help" || arg == "-h") return Help();
    }
    if (command == "run") return Run(rest);
    if (command == "control") return Control(rest);
    if (command == "successor") return Successor(rest);
    if (command == "check-kvm") {
        if (!rest.empty()) return Usage("check-kvm takes no arguments");
        return CheckKvm();
    }
    return Usage("unknown command '" + command + "'");
}
