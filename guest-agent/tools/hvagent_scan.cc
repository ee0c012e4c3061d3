// hvagent scan: runs files through a module chain the way the guest runtime
// would, and prints each verdict. For checking a chain and its rule files in
// a guest (those an extension installed, say) without a host attached:
//
//   hvagent scan --chain CHAIN.json [--modules DIR]... [--network] FILE...
//
// CHAIN.json is a source's "chain" from hvfilterd.json: [{"module": NAME,
// "params": {...}}, ...]. Modules are found as by `hvagent filters`. Each
// FILE (at most 64 MiB) is one item, a file's content (--network: a packet,
// IP header first). Prints "module NAME: PATH" per step, then per file
// "FILE: pass", "FILE: drop by MODULE (REASON)", "FILE: changed (N bytes)"
// or "FILE: error: ...". Exit status: 0 every file got a verdict; 1 the
// chain did not load or a file had none; 2 usage.
#include <cstdio>

#include "hvagent_commands.h"
#include "hvkit/filter_chain_table.h"
#include "hvkit/filter_runtime/chain_builder.h"
#include "hvkit/fs.h"

namespace hvkit::agent_tool {

namespace {

constexpr size_t kMaxChainFile = 1 << 20;
constexpr size_t kMaxItem = 64 << 20;

// The chain in (path), checked by the chain table's own rules.
Result<filter_ring::ChainSpec> LoadChainFile(const std::string& path, bool network) {
    HVKIT_ASSIGN_OR_RETURN(std::string steps, ReadFile(path, kMaxChainFile));
    std::string table = std::string(R"({"version":1,"chains":[{"source":"scan","kind":")") +
                        (network ? "network" : "file") + R"(","modules":)" + steps + "}]}";
    Result<std::vector<filter_ring::ChainSpec>> chains = filter_ring::DecodeChainTable(table);
    if (!chains.ok()) return chains.status().WithContext(path);
    return std::move(chains->front());
}

// One line for (outcome).
std::string Describe(const Result<filters::FilterOutcome>& outcome) {
    if (!outcome.ok()) return "error: " + outcome.status().message();
    switch (outcome->verdict) {
        case filters::FilterVerdict::kPass:
            return "pass";
        case filters::FilterVerdict::kDrop:
            return "drop by " + outcome->dropped_by +
                   (outcome->drop_reason.empty() ? "" : " (" + outcome->drop_reason + ")");
        case filters::FilterVerdict::kChanged:
            return "changed (" + std::to_string(outcome->changed.size()) + " bytes)";
    }
    return "unknown";
}

}  // namespace

int RunScan(const cli::Args& args) {
    Result<std::string> chain_path = args.Required("--chain");
    if (!chain_path.ok() || args.positional.empty()) {
        return Usage("scan", chain_path.ok() ? "no FILE to scan" : chain_path.status().message());
    }
    const bool network = args.Has("--network");
    std::vector<std::string> dirs = ModuleDirs(args);
    Result<filter_ring::ChainSpec> spec = LoadChainFile(*chain_path, network);
    if (!spec.ok()) return Fail("scan", spec.status().message());
    for (const filter_ring::ChainModule& step : spec->modules) {
        Result<std::string> found = filter_runtime::FindModule(step.module, dirs);
        std::printf("module %s: %s\n", step.module.c_str(),
                    found.ok() ? found->c_str() : found.status().message().c_str());
    }
    filters::ChainLimits limits;
    limits.max_changed_bytes = kMaxItem;
    Result<filters::Chain> chain = filter_runtime::BuildChain(*spec, dirs, limits);
    if (!chain.ok()) return Fail("scan", chain.status().message());

    int status = 0;
    for (const std::string& file : args.positional) {
        Result<std::string> content = ReadFile(file, kMaxItem);
        if (!content.ok()) {
            std::printf("%s: error: %s\n", file.c_str(), content.status().message().c_str());
            status = 1;
            continue;
        }
        filters::FilterItem item;
        item.source = network ? HVFILTER_ITEM_NETWORK : HVFILTER_ITEM_FILE;
        item.bytes = std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(content->data()),
                                              content->size());
        Result<filters::FilterOutcome> outcome = chain->Run(item);
        if (!outcome.ok()) status = 1;
        std::printf("%s: %s\n", file.c_str(), Describe(outcome).c_str());
    }
    return status;
}

}  // namespace hvkit::agent_tool
