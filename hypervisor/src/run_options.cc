// `hvmm run`'s command line: the machine's own options here, every device's
// from its row in the device table (devices/table.cc). The usage text is
// composed the same way, so a device's options, rules and help live with it.
#include <set>

#include "hvmm.h"

namespace hvkit::hvmm {

namespace {

constexpr const char* kDefaultCmdline = "console=ttyS0 reboot=k panic=1";

constexpr DeviceOption kMachineOptions[] = {
    {"--kernel", true}, {"--real-mode", true}, {"--initrd", true},  {"--cmdline", true},
    {"--mem", true},    {"--cpus", true},      {"--control", true}, {"--allow-pvm", false},
};

constexpr const char* kMachineSynopsis[] = {
    "--kernel BZIMAGE|--real-mode FILE",
    "[--initrd FILE]",
    "[--cmdline TEXT]",
    "[--mem SIZE]",
    "[--cpus N]",
    "[--control PATH]",
    "[--allow-pvm]",
};

constexpr const char* kMachineHelp =
    "Boot a Linux bzImage (64-bit boot protocol). SIZE like 512M or 2G\n"
    "(default 256M); N vCPUs (default 1). --control serves the control socket\n"
    "at PATH (mode 0600): line-delimited JSON requests status, pause, resume,\n"
    "shutdown. A guest reset (reboot) ends the VM. --allow-pvm boots even\n"
    "where /dev/kvm is PVM-backed, which only a PVM-aware guest kernel\n"
    "survives. --real-mode runs a flat real-mode image (at most 32 KiB,\n"
    "loaded at 0x10000) instead of a kernel: firmware-less payloads, such\n"
    "as the ones hvmm's own tests run on any /dev/kvm.";

// The options every part accepts, as cli::ParseArgs wants them; an option two
// parts both claim is a bug in the table, refused rather than shared.
Result<cli::CommandSpec> RunCommandSpec(std::span<const DeviceModule* const> rows) {
    cli::CommandSpec spec{.positional = 0};
    std::map<std::string, std::string> owner;
    auto add = [&](const DeviceOption& option, const std::string& part) -> Status {
        auto [it, fresh] = owner.emplace(option.name, part);
        if (!fresh) {
            return Error(ErrorCode::kConflict, std::string("option ") + option.name +
                                                   " is claimed by both " + it->second + " and " +
                                                   part + "; each option has one owner");
        }
        (option.takes_value ? spec.value_options : spec.flags).insert(option.name);
        return Status::Ok();
    };
    for (const DeviceOption& option : kMachineOptions) {
        HVKIT_RETURN_IF_ERROR(add(option, "the machine"));
    }
    for (const DeviceModule* row : rows) {
        for (const DeviceOption& option : row->options) {
            HVKIT_RETURN_IF_ERROR(add(option, std::string("device ") + row->name));
        }
    }
    return spec;
}

// Appends each line of (text) to (out), indented by (indent).
void AppendIndented(std::string& out, std::string_view text, std::string_view indent) {
    while (!text.empty()) {
        size_t end = text.find('\n');
        std::string_view line = text.substr(0, end);
        out.append(indent).append(line).append("\n");
        if (end == std::string_view::npos) break;
        text.remove_prefix(end + 1);
    }
}

}  // namespace

Result<RunOptions> ParseRunOptions(const std::vector<std::string>& argv,
                                   std::span<const DeviceModule* const> rows) {
    HVKIT_ASSIGN_OR_RETURN(cli::CommandSpec spec, RunCommandSpec(rows));
    HVKIT_ASSIGN_OR_RETURN(cli::Args args, cli::ParseArgs(argv, spec));
    RunOptions run;
    HVKIT_ASSIGN_OR_RETURN(auto kernel, args.One("--kernel"));
    HVKIT_ASSIGN_OR_RETURN(run.real_mode_path, args.One("--real-mode"));
    if (kernel.has_value() == run.real_mode_path.has_value()) {
        return Error(ErrorCode::kInvalidArgument,
                     "give either --kernel BZIMAGE or --real-mode FILE (exactly one)");
    }
    run.kernel_path = kernel.value_or("");
    HVKIT_ASSIGN_OR_RETURN(run.initrd_path, args.One("--initrd"));
    HVKIT_ASSIGN_OR_RETURN(auto cmdline, args.One("--cmdline"));
    HVKIT_ASSIGN_OR_RETURN(auto mem, args.One("--mem"));
    HVKIT_ASSIGN_OR_RETURN(auto cpus, args.One("--cpus"));
    HVKIT_ASSIGN_OR_RETURN(run.control_path, args.One("--control"));
    run.allow_pvm = args.Has("--allow-pvm");

    MachineConfig& config = run.config;
    if (mem) {
        HVKIT_ASSIGN_OR_RETURN(config.memory_bytes, ParseMemorySize(*mem));
    }
    if (cpus) {
        HVKIT_ASSIGN_OR_RETURN(int64_t n, cli::ParseInteger("--cpus", *cpus, 1, 4096));
        config.cpus = static_cast<uint32_t>(n);
    }
    config.kernel_name = run.kernel_path;
    config.cmdline = cmdline.value_or(kDefaultCmdline);
    for (const DeviceModule* row : rows) {
        if (row->parse != nullptr) HVKIT_RETURN_IF_ERROR(row->parse(args, config.devices));
    }
    return run;
}

std::string RunUsage(std::span<const DeviceModule* const> rows) {
    constexpr size_t kWidth = 79;
    const std::string first = "  hvmm run ";
    const std::string next(first.size(), ' ');
    std::vector<std::string_view> units(std::begin(kMachineSynopsis), std::end(kMachineSynopsis));
    // A row's synopsis may hold several units, one a line.
    for (const DeviceModule* row : rows) {
        std::string_view synopsis = row->synopsis;
        while (!synopsis.empty()) {
            size_t end = synopsis.find('\n');
            units.push_back(synopsis.substr(0, end));
            synopsis = end == std::string_view::npos ? "" : synopsis.substr(end + 1);
        }
    }
    // The synopsis, one unit never split across lines.
    std::string out = first;
    size_t column = first.size();
    bool line_empty = true;
    for (std::string_view unit : units) {
        if (!line_empty && column + 1 + unit.size() > kWidth) {
            out.append("\n").append(next);
            column = next.size();
            line_empty = true;
        }
        if (!line_empty) {
            out.append(" ");
            ++column;
        }
        out.append(unit);
        column += unit.size();
        line_empty = false;
    }
    out.append("\n");
    AppendIndented(out, kMachineHelp, "      ");
    for (const DeviceModule* row : rows) AppendIndented(out, row->help, "      ");
    return out;
}

}  // namespace hvkit::hvmm
