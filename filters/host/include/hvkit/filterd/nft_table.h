// hvfilterd's own nftables table (docs/filters.md, "Network source"): the
// rules of every network source, sending the packets they match to the
// source's NFQUEUE. hvfilterd never touches any other table.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "hvkit/filterd/config.h"
#include "hvkit/status.h"

namespace hvkit::filterd {

// The table's fixed name, in family inet. One hvfilterd runs per network
// namespace; a table of this name is always hvfilterd's (a crashed run's).
inline constexpr const char* kNftTableName = "hvfilterd";

// One network source as the table sees it.
struct NftQueueRules {
    uint16_t queue = 0;
    std::vector<std::string> rules;  // nft match expressions (config.h)
    bool bypass = false;  // nobody listening: accept (on_guest_absent fail-open), else drop
};

// The network sources of (config), in order.
std::vector<NftQueueRules> NftQueueRulesOf(const FilterConfig& config);

// The nft script that replaces table (table) with one for (sources), in one
// transaction. Each source's queue chain ends in its no-listener policy
// (accept or drop); the queue rule itself is added by NftTable::Install.
std::string NftTableScript(const std::string& table, const std::vector<NftQueueRules>& sources);

// The table while it is installed: removing it is the destructor's job.
class NftTable {
  public:
    // Replaces any table (table) left by an earlier run with one for
    // (sources) in a single transaction, then puts the queue rule at the
    // head of each queue chain (nft's `queue` statement, or the NFQUEUE
    // target through nft_compat on kernels without nft_queue). On failure
    // nothing of the new table is left behind. Errors carry nft's message.
    static Result<std::unique_ptr<NftTable>> Install(const std::vector<NftQueueRules>& sources,
                                                     const std::string& table = kNftTableName);

    // Deletes table (table) if it exists; succeeds when it does not.
    static Status Remove(const std::string& table = kNftTableName);

    // Whether table (table) exists in the caller's network namespace.
    static Result<bool> Exists(const std::string& table = kNftTableName);

    // Removes the table; a failure is reported on stderr.
    ~NftTable();

    NftTable(const NftTable&) = delete;
    NftTable& operator=(const NftTable&) = delete;

    const std::string& name() const { return table_; }

  private:
    explicit NftTable(std::string table) : table_(std::move(table)) {}
    std::string table_;
};

// Runs nft (script) through libnftables as one transaction; (what) names
// the operation in the error, which carries nft's own message.
Status RunNftScript(const std::string& script, const std::string& what);

}  // namespace hvkit::filterd
