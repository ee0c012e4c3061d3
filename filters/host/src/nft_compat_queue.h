// The NFQUEUE rule for kernels built without nft_queue (the nft `queue`
// statement) but with nft_compat: the xtables NFQUEUE target inside an
// nftables rule, as iptables-nft writes it. libnftables cannot express an
// xtables target, so this speaks nf_tables netlink directly.
#pragma once

#include <cstdint>
#include <string>

#include "hvkit/status.h"

namespace hvkit::filterd {

// Inserts, at the head of chain (chain) of inet table (table), a rule that
// sends every packet to NFQUEUE (queue); with (bypass) a packet nobody
// listens for is accepted, else dropped. One nf_tables transaction.
Status InsertCompatQueueRule(const std::string& table, const std::string& chain, uint16_t queue,
                             bool bypass);

}  // namespace hvkit::filterd
