// hvfilterd's nftables table (nft_table.h). The table is rebuilt in one
// transaction: `add` then `delete` removes a table left by a crashed run
// (add is a no-op when it exists) before the new one is created, so a
// packet sees either the old table or the complete new one.
#include "hvkit/filterd/nft_table.h"

#include <nftables/libnftables.h>

#include <cstdio>
#include <sstream>

#include "nft_compat_queue.h"

namespace hvkit::filterd {

namespace {

// Base chains: every hook a host packet can take, at the filter priority.
constexpr const char* kHooks[] = {"input", "output", "forward"};

struct NftCtxFree {
    void operator()(nft_ctx* ctx) const { nft_ctx_free(ctx); }
};

std::string QueueChain(uint16_t queue) {
    return "queue_" + std::to_string(queue);
}

bool IsTableName(const std::string& name) {
    if (name.empty() || name.size() > 32) return false;
    for (char c : name) {
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
    }
    return true;
}

// nft's first error line ("Error: Could not resolve service: ..."); the
// lines after it echo the input and are not always the failing line.
std::string FirstLine(const char* text) {
    std::string s = text ? text : "";
    s = s.substr(0, s.find('\n'));
    return s.empty() ? "(no message)" : s;
}

Status RunNft(const std::string& script, const std::string& what, bool dry_run) {
    std::unique_ptr<nft_ctx, NftCtxFree> ctx(nft_ctx_new(NFT_CTX_DEFAULT));
    if (!ctx) return Error(ErrorCode::kIo, what + ": libnftables could not create a context");
    nft_ctx_set_dry_run(ctx.get(), dry_run);
    nft_ctx_buffer_output(ctx.get());
    nft_ctx_buffer_error(ctx.get());
    if (nft_run_cmd_from_buffer(ctx.get(), script.c_str()) != 0) {
        return Error(ErrorCode::kIo,
                     what + ": nft refused it: " + FirstLine(nft_ctx_get_error_buffer(ctx.get())));
    }
    return Status::Ok();
}

// After the table script failed: the first rule nft refuses on its own
// (a dry run), named with its queue, or the script's own error.
Status NameRefusedRule(const std::string& table, const std::vector<NftQueueRules>& sources,
                       Status script_error) {
    for (const NftQueueRules& src : sources) {
        for (const std::string& rule : src.rules) {
            Status st = RunNft(
                NftTableScript(table, {{src.queue, {rule}, src.bypass}}),
                "network rule '" + rule + "' (queue " + std::to_string(src.queue) + ")", true);
            if (!st.ok()) return st;
        }
    }
    return script_error;
}

// Adds the queue rule at the head of (chain): the nft `queue` statement
// where the kernel has nft_queue, else the xtables target via nft_compat.
Status InsertQueueRule(const std::string& table, const NftQueueRules& source) {
    std::string chain = QueueChain(source.queue);
    std::string native = "insert rule inet " + table + " " + chain + " queue num " +
                         std::to_string(source.queue) + (source.bypass ? " bypass" : "") + "\n";
    Status st = RunNftScript(native, "adding the queue rule");
    if (st.ok()) return st;
    Status compat = InsertCompatQueueRule(table, chain, source.queue, source.bypass);
    if (compat.ok()) return compat;
    return Error(compat.code(), st.message() + "; and " + compat.message());
}

}  // namespace

std::vector<NftQueueRules> NftQueueRulesOf(const FilterConfig& config) {
    std::vector<NftQueueRules> out;
    for (const SourceConfig& s : config.sources) {
        if (s.kind != SourceKind::kNetwork || !s.network) continue;
        out.push_back(NftQueueRules{s.network->queue, s.network->rules,
                                    s.policy.on_guest_absent == FailPolicy::kFailOpen});
    }
    return out;
}

std::string NftTableScript(const std::string& table, const std::vector<NftQueueRules>& sources) {
    std::ostringstream s;
    s << "add table inet " << table << "\n"
      << "delete table inet " << table << "\n"
      << "add table inet " << table << "\n";
    for (const char* hook : kHooks) {
        s << "add chain inet " << table << " " << hook << " { type filter hook " << hook
          << " priority 0; policy accept; }\n";
    }
    for (const NftQueueRules& src : sources) {
        // Until the queue rule sits before it, and whenever nobody listens,
        // the chain gives the answer the queue would: accept or drop.
        s << "add chain inet " << table << " " << QueueChain(src.queue) << "\n"
          << "add rule inet " << table << " " << QueueChain(src.queue) << " "
          << (src.bypass ? "accept" : "drop") << "\n";
    }
    for (const NftQueueRules& src : sources) {
        for (const std::string& rule : src.rules) {
            for (const char* hook : kHooks) {
                s << "add rule inet " << table << " " << hook << " ";
                // A local packet over loopback was inspected on output.
                if (std::string(hook) == "input") s << "iifname != \"lo\" ";
                s << rule << " jump " << QueueChain(src.queue) << "\n";
            }
        }
    }
    return s.str();
}

Status RunNftScript(const std::string& script, const std::string& what) {
    return RunNft(script, what, false);
}

Result<std::unique_ptr<NftTable>> NftTable::Install(const std::vector<NftQueueRules>& sources,
                                                    const std::string& table) {
    if (!IsTableName(table)) {
        return Error(ErrorCode::kInvalidArgument,
                     "nft table name '" + table + "' is not 1..32 of a-z, 0-9, _");
    }
    std::string what = "installing nft table inet " + table;
    Status st = RunNft(NftTableScript(table, sources), what, false);
    if (!st.ok()) return NameRefusedRule(table, sources, st).WithContext(what);
    std::unique_ptr<NftTable> installed(new NftTable(table));
    for (const NftQueueRules& src : sources) {
        st = InsertQueueRule(table, src);
        if (!st.ok()) return st.WithContext(what);  // (installed) removes the table
    }
    return installed;
}

Status NftTable::Remove(const std::string& table) {
    if (!IsTableName(table)) {
        return Error(ErrorCode::kInvalidArgument,
                     "nft table name '" + table + "' is not 1..32 of a-z, 0-9, _");
    }
    return RunNftScript("add table inet " + table + "\ndelete table inet " + table + "\n",
                        "removing nft table inet " + table);
}

Result<bool> NftTable::Exists(const std::string& table) {
    // `list tables` names them without translating rules (an xtables
    // target would make nft complain on stderr).
    std::unique_ptr<nft_ctx, NftCtxFree> ctx(nft_ctx_new(NFT_CTX_DEFAULT));
    if (!ctx) return Error(ErrorCode::kIo, "listing nft tables: libnftables has no context");
    nft_ctx_buffer_output(ctx.get());
    nft_ctx_buffer_error(ctx.get());
    if (nft_run_cmd_from_buffer(ctx.get(), "list tables inet\n") != 0) {
        return Error(ErrorCode::kIo, "listing nft tables: nft refused it: " +
                                         FirstLine(nft_ctx_get_error_buffer(ctx.get())));
    }
    std::istringstream out(nft_ctx_get_output_buffer(ctx.get()));
    std::string line;
    while (std::getline(out, line)) {
        if (line == "table inet " + table) return true;
    }
    return false;
}

NftTable::~NftTable() {
    Status st = Remove(table_);
    if (!st.ok()) std::fprintf(stderr, "hvfilterd: %s\n", st.message().c_str());
}

}  // namespace hvkit::filterd
