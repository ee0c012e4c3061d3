// NFQUEUE through nft_compat (nft_compat_queue.h): a batch of one NEWRULE
// whose only expression is the xtables target "NFQUEUE" revision 3.
#include "nft_compat_queue.h"

#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nf_tables_compat.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/xt_NFQUEUE.h>
#include <string.h>
#include <time.h>

#include <memory>
#include <vector>

namespace hvkit::filterd {

namespace {

struct SocketCloser {
    void operator()(mnl_socket* s) const { mnl_socket_close(s); }
};

// Starts a netfilter message of (type) for (family) at the end of (buf).
nlmsghdr* PutMessage(mnl_nlmsg_batch* batch, uint16_t type, uint8_t family, uint16_t flags,
                     uint32_t seq, uint16_t res_id) {
    nlmsghdr* nlh = mnl_nlmsg_put_header(mnl_nlmsg_batch_current(batch));
    nlh->nlmsg_type = type;
    nlh->nlmsg_flags = NLM_F_REQUEST | flags;
    nlh->nlmsg_seq = seq;
    auto* nfg = static_cast<nfgenmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(nfgenmsg)));
    nfg->nfgen_family = family;
    nfg->version = NFNETLINK_V0;
    nfg->res_id = htons(res_id);
    return nlh;
}

void PutRule(nlmsghdr* nlh, const std::string& table, const std::string& chain, uint16_t queue,
             bool bypass) {
    mnl_attr_put_strz(nlh, NFTA_RULE_TABLE, table.c_str());
    mnl_attr_put_strz(nlh, NFTA_RULE_CHAIN, chain.c_str());
    nlattr* list = mnl_attr_nest_start(nlh, NFTA_RULE_EXPRESSIONS);
    nlattr* elem = mnl_attr_nest_start(nlh, NFTA_LIST_ELEM);
    mnl_attr_put_strz(nlh, NFTA_EXPR_NAME, "target");
    nlattr* data = mnl_attr_nest_start(nlh, NFTA_EXPR_DATA);
    mnl_attr_put_strz(nlh, NFTA_TARGET_NAME, "NFQUEUE");
    mnl_attr_put_u32(nlh, NFTA_TARGET_REV, htonl(3));
    xt_NFQ_info_v3 info{};
    info.queuenum = queue;
    info.queues_total = 1;
    info.flags = bypass ? NFQ_FLAG_BYPASS : 0;
    mnl_attr_put(nlh, NFTA_TARGET_INFO, sizeof(info), &info);
    mnl_attr_nest_end(nlh, data);
    mnl_attr_nest_end(nlh, elem);
    mnl_attr_nest_end(nlh, list);
}

}  // namespace

Status InsertCompatQueueRule(const std::string& table, const std::string& chain, uint16_t queue,
                             bool bypass) {
    std::string what = "inserting the NFQUEUE " + std::to_string(queue) +
                       " target (nft_compat) into chain '" + chain + "' of table inet " + table;
    std::unique_ptr<mnl_socket, SocketCloser> nl(mnl_socket_open(NETLINK_NETFILTER));
    if (!nl || mnl_socket_bind(nl.get(), 0, MNL_SOCKET_AUTOPID) < 0) {
        return Error(ErrorCode::kIo, what + ": netlink socket: " + strerror(errno));
    }
    std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE * 2);
    mnl_nlmsg_batch* batch = mnl_nlmsg_batch_start(buf.data(), MNL_SOCKET_BUFFER_SIZE);
    uint32_t seq = static_cast<uint32_t>(time(nullptr));
    PutMessage(batch, NFNL_MSG_BATCH_BEGIN, AF_UNSPEC, 0, seq++, NFNL_SUBSYS_NFTABLES);
    mnl_nlmsg_batch_next(batch);
    uint32_t rule_seq = seq++;
    nlmsghdr* rule = PutMessage(batch, (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWRULE, NFPROTO_INET,
                                NLM_F_CREATE | NLM_F_ACK, rule_seq, 0);
    PutRule(rule, table, chain, queue, bypass);
    mnl_nlmsg_batch_next(batch);
    PutMessage(batch, NFNL_MSG_BATCH_END, AF_UNSPEC, 0, seq++, NFNL_SUBSYS_NFTABLES);
    mnl_nlmsg_batch_next(batch);
    ssize_t sent =
        mnl_socket_sendto(nl.get(), mnl_nlmsg_batch_head(batch), mnl_nlmsg_batch_size(batch));
    mnl_nlmsg_batch_stop(batch);
    if (sent < 0) return Error(ErrorCode::kIo, what + ": send: " + strerror(errno));
    // The one ACK (or error) answers the rule message.
    std::vector<char> reply(MNL_SOCKET_BUFFER_SIZE);
    ssize_t n = mnl_socket_recvfrom(nl.get(), reply.data(), reply.size());
    if (n < 0) return Error(ErrorCode::kIo, what + ": receive: " + strerror(errno));
    if (mnl_cb_run(reply.data(), n, rule_seq, mnl_socket_get_portid(nl.get()), nullptr, nullptr) <
        0) {
        return Error(ErrorCode::kIo, what + ": the kernel refused it: " + strerror(errno) +
                                         " (is nft_compat with xt_NFQUEUE available?)");
    }
    return Status::Ok();
}

}  // namespace hvkit::filterd
