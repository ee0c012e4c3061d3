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
#include "hvkit/cli_args.h"
#include "hvkit/fs.h"
#include "hvmm.h"
#include "update/release_store.h"

namespace {

using namespace hvkit;
using namespace hvkit::hvmm;

constexpr int kExitOk = 0;       // the guest reset or shut down
constexpr int kExitFailure = 1;  // hvmm failed, or the guest crashed or triple-faulted
constexpr int kExitUsage = 2;
constexpr int kExitStopped = 3;        // stopped by SIGINT/SIGTERM or a control-socket shutdown
constexpr int kExitNoHardwareKvm = 4;  // check-kvm: KVM works but cannot boot a stock kernel

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
  hvmm check-kvm
      Say whether /dev/kvm is usable and what backs it.
  hvmm --version [--state-dir DIR]
      This hvmm's version, and the release the host's store at DIR has
      committed (the one the next start runs), if any.

Exit status: 0 guest reset or shut down; 1 failure (hvmm error, guest crash
or triple fault; for control: the request failed or was refused); 2 usage
error; 3 stopped by SIGINT/SIGTERM or a control-socket shutdown; 4
(check-kvm) KVM works but cannot boot a stock kernel.
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

// Writes every byte to (fd), retrying on EINTR and short writes.
void WriteAll(int fd, std::span<const uint8_t> bytes) {
    size_t done = 0;
    while (done < bytes.size()) {
        ssize_t n = write(fd, bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;  // the console is gone; the guest keeps running
        done += static_cast<size_t>(n);
    }
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

// What runs beside the vCPUs for the host: the control socket and serial
// input. Stop() ends them users first: the server before its target, the
// input pump before the terminal is restored.
struct HostSide {
    std::unique_ptr<MachineControlTarget> target;
    std::unique_ptr<ControlServer> server;
    std::shared_ptr<Serial8250> serial;
    std::unique_ptr<TerminalRawMode> raw_mode;
    std::unique_ptr<SerialInputPump> input;
    void Stop() {
        input.reset();
        raw_mode.reset();
        server.reset();
        target.reset();
    }
    ~HostSide() { Stop(); }
};

Status StartHostSide(Machine& machine, const std::optional<std::string>& control_path,
                     bool read_stdin, HostSide& host) {
    int stop_fd = machine.control().eventfd();
    if (control_path) {
        host.target = std::make_unique<MachineControlTarget>(machine, HvmmVersion());
        auto server = ControlServer::Start(*control_path, *host.target, stop_fd);
        if (!server.ok()) return server.status();
        host.server = std::move(*server);
    }
    host.serial = std::dynamic_pointer_cast<Serial8250>(machine.FindDevice("serial"));
    if (read_stdin && host.serial != nullptr && CanReadWithoutStopping(STDIN_FILENO)) {
        host.raw_mode = std::make_unique<TerminalRawMode>(STDIN_FILENO);
        host.input = std::make_unique<SerialInputPump>(STDIN_FILENO, *host.serial, stop_fd);
    }
    return Status::Ok();
}

// `hvmm control PATH CMD`: one request, its response on stdout.
int Control(const std::vector<std::string>& argv) {
    auto args = cli::ParseArgs(argv, {.positional = 2});
    if (!args.ok())
        return Usage("control: " + args.status().message() + " (hvmm control PATH CMD)");
    auto response = SendControlRequest(args->positional[0], ControlRequestFor(args->positional[1]));
    if (!response.ok()) return Fail(response.status());
    printf("%s\n", response->c_str());
    auto parsed = ParseJson(*response, "control response");
    const Json* ok = parsed.ok() ? parsed->Find("ok") : nullptr;
    return ok != nullptr && ok->is_bool() && ok->as_bool() ? kExitOk : kExitFailure;
}

// The kernel and initrd are in guest memory once the machine is built; their
// file copies (the kernel alone is ~8 MiB) would otherwise stay resident for
// the VM's whole life. malloc_trim hands the freed heap back to the kernel.
void ReleaseBootImages(MachineConfig& config) {
    std::vector<uint8_t>().swap(config.kernel);
    std::vector<uint8_t>().swap(config.initrd);
    malloc_trim(0);
}

int Run(const std::vector<std::string>& argv) {
    auto options = ParseRunOptions(argv);
    if (!options.ok()) return Usage(options.status().message());
    MachineConfig& config = options->config;
    auto kernel = ReadBinary("kernel", options->kernel_path, 512u << 20);
    if (!kernel.ok()) return Fail(kernel.status());
    config.kernel = std::move(*kernel);
    if (options->initrd_path) {
        auto initrd = ReadBinary("initrd", *options->initrd_path, size_t{2} << 30);
        if (!initrd.ok()) return Fail(initrd.status());
        config.initrd = std::move(*initrd);
    }
    // Check the image before KVM, so a wrong file is reported as such anywhere.
    auto image = ParseBzImage(config.kernel, config.kernel_name);
    if (!image.ok()) return Fail(image.status());

    KvmHostFacts facts = ProbeKvmHostFacts();
    KvmBackend backend = ClassifyKvmBackend(facts);
    if (backend != KvmBackend::kHardware && !options->allow_pvm) {
        return Fail(Error(ErrorCode::kConflict,
                          "/dev/kvm here is " + DescribeKvmBackend(backend, facts) +
                              ": it cannot run a stock Linux kernel (64-bit supervisor code "
                              "needs a PVM-aware kernel). Run hvmm inside the test host "
                              "(tests/system/testhost.sh) or on a host with VMX/SVM; "
                              "--allow-pvm boots anyway"));
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
    HostSide host;
    Status started =
        StartHostSide(**machine, options->control_path, config.devices.serial.read_stdin, host);
    if (!started.ok()) return Fail(started);
    StopReason reason = (*machine)->Run(/*handle_host_signals=*/true);
    host.Stop();  // joins the threads, restores the terminal, removes the socket
    std::string detail = (*machine)->control().detail();
    fprintf(stderr, "hvmm: VM stopped: %s (%s)\n", StopReasonName(reason), detail.c_str());
    switch (reason) {
        case StopReason::kGuestReset:
        case StopReason::kGuestShutdown:
            return kExitOk;
        case StopReason::kHostRequest:
            return kExitStopped;
        default:
            return kExitFailure;
    }
}

// hvmm --version [--state-dir DIR]: this hvmm's version, and the release
// the host's store has committed (what the next start runs), if any.
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
    if (command == "check-kvm") {
        if (!rest.empty()) return Usage("check-kvm takes no arguments");
        return CheckKvm();
    }
    return Usage("unknown command '" + command + "'");
}
