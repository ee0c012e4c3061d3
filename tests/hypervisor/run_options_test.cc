// `hvmm run`'s command line through the device table's rows: each row parses
// its own options into its own config, errors name the option and the rule,
// and the usage text is composed from the rows.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "hvmm.h"

namespace hvkit::hvmm {
namespace {

Result<RunOptions> Parse(std::vector<std::string> argv) {
    argv.insert(argv.begin(), {"--kernel", "bzImage"});
    return ParseRunOptions(argv);
}

std::string ErrorOf(std::vector<std::string> argv) {
    auto r = Parse(std::move(argv));
    EXPECT_FALSE(r.ok());
    return r.ok() ? "" : r.status().message();
}

TEST(RunOptions, MachineDefaults) {
    auto r = Parse({});
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ(r->kernel_path, "bzImage");
    EXPECT_EQ(r->config.kernel_name, "bzImage");
    EXPECT_EQ(r->config.cmdline, "console=ttyS0 reboot=k panic=1");
    EXPECT_EQ(r->config.memory_bytes, 256ull << 20);
    EXPECT_EQ(r->config.cpus, 1u);
    EXPECT_FALSE(r->initrd_path);
    EXPECT_FALSE(r->control_path);
    EXPECT_FALSE(r->allow_pvm);
    const DeviceConfigs& d = r->config.devices;
    EXPECT_FALSE(d.serial.log_path);
    EXPECT_TRUE(d.serial.read_stdin);
    EXPECT_FALSE(d.hvchan.enabled);
    EXPECT_EQ(d.hvchan.state_dir, "/var/lib/hvkit/hvmm");
    EXPECT_EQ(d.disk.path, "");
    EXPECT_EQ(d.net.tap_name, "");
    EXPECT_EQ(d.hvfilt.region_bytes, 0u);
}

TEST(RunOptions, EveryRowParsesIntoItsOwnConfig) {
    auto r = Parse({"--mem",
                    "512M",
                    "--cpus",
                    "2",
                    "--control",
                    "/run/vm.sock",
                    "--allow-pvm",
                    "--serial-log",
                    "serial.txt",
                    "--serial-input",
                    "none",
                    "--hvchan",
                    "--allow-hypervisor-update",
                    "--state-dir",
                    "/srv/hvmm",
                    "--disk",
                    "data.img,ro",
                    "--net",
                    "tap=hvtap0",
                    "--filter-rings",
                    "2M"});
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ(r->config.memory_bytes, 512ull << 20);
    EXPECT_EQ(r->config.cpus, 2u);
    EXPECT_EQ(r->control_path, "/run/vm.sock");
    EXPECT_TRUE(r->allow_pvm);
    const DeviceConfigs& d = r->config.devices;
    EXPECT_EQ(d.serial.log_path, "serial.txt");
    EXPECT_FALSE(d.serial.read_stdin);
    EXPECT_TRUE(d.hvchan.enabled);
    EXPECT_TRUE(d.hvchan.allow_hypervisor_update);
    EXPECT_EQ(d.hvchan.state_dir, "/srv/hvmm");
    EXPECT_EQ(d.disk.path, "data.img");
    EXPECT_TRUE(d.disk.read_only);
    EXPECT_EQ(d.net.tap_name, "hvtap0");
    EXPECT_EQ(d.hvfilt.region_bytes, 2ull << 20);
}

// Each error names the option and the rule it breaks, as `hvmm run` printed
// them before the rows owned their options.
TEST(RunOptions, ErrorsNameTheOptionAndTheRule) {
    EXPECT_EQ(ErrorOf({"--disk", "a.img,rw"}),
              "--disk 'a.img,rw': expected FILE or FILE,ro (no other options)");
    EXPECT_EQ(ErrorOf({"--disk", ",ro"}),
              "--disk ',ro': expected FILE or FILE,ro (no other options)");
    EXPECT_EQ(ErrorOf({"--net", "hvtap0"}),
              "--net 'hvtap0': expected tap=NAME (an interface name of 1-15 bytes)");
    EXPECT_EQ(ErrorOf({"--net", "tap=a-name-of-16-byt"}),
              "--net 'tap=a-name-of-16-byt': expected tap=NAME (an interface name of 1-15 bytes)");
    EXPECT_EQ(ErrorOf({"--serial-input", "tty"}), "--serial-input 'tty': use stdin or none");
    EXPECT_EQ(ErrorOf({"--allow-hypervisor-update"}),
              "--allow-hypervisor-update needs --hvchan (updates arrive through it)");
    std::string rings = ErrorOf({"--filter-rings", "banana"});
    EXPECT_EQ(rings.rfind("--filter-rings: ", 0), 0u) << rings;
    EXPECT_NE(ErrorOf({"--filter-rings", "3M"}).find("power of two"), std::string::npos);
    EXPECT_NE(ErrorOf({"--cpus", "0"}).find("--cpus"), std::string::npos);
    EXPECT_NE(ErrorOf({"--disk", "a.img", "--disk", "b.img"}).find("--disk"), std::string::npos);
    EXPECT_NE(ErrorOf({"--frobnicate"}).find("--frobnicate"), std::string::npos);
    auto no_kernel = ParseRunOptions({"--hvchan"});
    ASSERT_FALSE(no_kernel.ok());
    EXPECT_NE(no_kernel.status().message().find("--kernel"), std::string::npos);
}

// A row the table does not have yet: its options are accepted only through
// it, its parse fills its config, and its help joins the usage text.
constexpr DeviceOption kWidgetOptions[] = {{"--widget", true}};
constexpr const char* kWidgetState[] = {"widget"};

Status ParseWidget(const cli::Args& args, DeviceConfigs& config) {
    HVKIT_ASSIGN_OR_RETURN(auto value, args.One("--widget"));
    if (value && *value != "tap=w0") {
        return Error(ErrorCode::kInvalidArgument, "--widget '" + *value + "': expected tap=w0");
    }
    if (value) config.net.tap_name = "w0";
    return Status::Ok();
}

constexpr DeviceModule kWidget = {
    .name = "widget",
    .options = kWidgetOptions,
    .synopsis = "[--widget tap=w0]",
    .help = "--widget tap=w0: a widget.",
    .parse = ParseWidget,
    .setup = nullptr,
    .saved_state = kWidgetState,
};

TEST(RunOptions, ARealModeImageStandsInForTheKernelNeverBesideIt) {
    auto r = ParseRunOptions({"--real-mode", "counter.bin", "--mem", "64M"});
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ(r->real_mode_path, std::optional<std::string>("counter.bin"));
    EXPECT_EQ(r->kernel_path, "");
    auto both = ParseRunOptions({"--kernel", "k", "--real-mode", "counter.bin"});
    ASSERT_FALSE(both.ok());
    EXPECT_NE(both.status().message().find("exactly one"), std::string::npos);
    auto neither = ParseRunOptions({"--mem", "64M"});
    ASSERT_FALSE(neither.ok());
    EXPECT_NE(neither.status().message().find("--real-mode"), std::string::npos);
}

TEST(RunOptions, ARowBringsItsOptionsParseAndUsage) {
    const DeviceModule* rows[] = {&kWidget};
    auto r = ParseRunOptions({"--kernel", "k", "--widget", "tap=w0"}, rows);
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ(r->config.devices.net.tap_name, "w0");
    auto bad = ParseRunOptions({"--kernel", "k", "--widget", "x"}, rows);
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.status().message(), "--widget 'x': expected tap=w0");
    // Without the row, its option is unknown.
    EXPECT_FALSE(ParseRunOptions({"--kernel", "k", "--widget", "tap=w0"}, {}).ok());
    std::string usage = RunUsage(rows);
    EXPECT_NE(usage.find("[--widget tap=w0]"), std::string::npos) << usage;
    EXPECT_NE(usage.find("      --widget tap=w0: a widget.\n"), std::string::npos) << usage;
}

TEST(RunOptions, AnOptionTwoPartsClaimIsRefused) {
    constexpr DeviceOption kMem[] = {{"--mem", true}};
    const DeviceModule thief = {.name = "thief",
                                .options = kMem,
                                .synopsis = "",
                                .help = "",
                                .parse = nullptr,
                                .setup = nullptr,
                                .saved_state = {}};
    const DeviceModule* rows[] = {&thief};
    auto r = ParseRunOptions({"--kernel", "k"}, rows);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().message(),
              "option --mem is claimed by both the machine and device thief; each option has one "
              "owner");
}

TEST(DeviceTable, RowsOwnDistinctOptionsAndStateNames) {
    std::set<std::string> state;
    for (const DeviceModule* row : DeviceTable()) {
        EXPECT_NE(row->setup, nullptr) << row->name;
        EXPECT_EQ(row->options.empty(), row->parse == nullptr) << row->name;
        for (const char* name : row->saved_state) {
            EXPECT_TRUE(state.insert(name).second) << name << " saved by two rows";
        }
        for (const DeviceOption& option : row->options) {
            EXPECT_NE(std::string(row->synopsis).find(option.name), std::string::npos)
                << row->name << " does not show " << option.name << " in its synopsis";
            EXPECT_NE(std::string(row->help).find(option.name), std::string::npos)
                << row->name << " does not explain " << option.name;
        }
    }
    EXPECT_TRUE(ParseRunOptions({"--kernel", "k"}).ok());  // no option claimed twice
}

TEST(DeviceTable, UsageLinesFitAndShowEveryOption) {
    std::string usage = RunUsage();
    size_t start = 0;
    while (start < usage.size()) {
        size_t end = usage.find('\n', start);
        EXPECT_LE(end - start, 79u) << usage.substr(start, end - start);
        start = end + 1;
    }
    EXPECT_EQ(usage.rfind("  hvmm run --kernel BZIMAGE|--real-mode FILE [--initrd FILE]", 0), 0u)
        << usage;
    for (const char* option :
         {"--cmdline", "--mem", "--cpus", "--control", "--allow-pvm", "--serial-log",
          "--serial-input", "--hvchan", "--allow-hypervisor-update", "--state-dir", "--disk",
          "--net", "--filter-rings"}) {
        EXPECT_NE(usage.find(option), std::string::npos) << option;
    }
}

}  // namespace
}  // namespace hvkit::hvmm
