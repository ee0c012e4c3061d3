// NFQUEUE source (nfqueue_source.h): packets in, items to the dispatcher,
// verdicts out. Every packet read stays in the books until its verdict is
// sent, so nothing the kernel holds for hvfilterd is forgotten.
#include "hvkit/filterd/nfqueue_source.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_queue.h>
#include <string.h>

#include <cstdio>
#include <string>

#include "hvkit/filterd/packet_checksum.h"
#include "hvkit/filterd/verdict_batch.h"

namespace hvkit::filterd {

struct NfqueueSource::Books {
    struct Held {
        uint32_t packet_id = 0;
        bool truncated = false;  // the item holds only the first max_item_bytes
        bool answered = false;
        uint32_t verdict = NF_DROP;
        std::vector<uint8_t> bytes;  // CHANGED: the new packet
        bool has_bytes = false;
        std::vector<uint8_t> headers;  // PacketHeaders of the packet as queued
    };

    // Turns (v) into the verdict for the packet read as (seq); a second
    // answer, or one for a packet already sent, changes nothing.
    void Answer(uint64_t seq, const Verdict& v) {
        auto it = held.find(seq);
        if (it == held.end() || it->second.answered) return;
        Held& h = it->second;
        h.answered = true;
        h.verdict = v.kind == VerdictKind::kDrop ? NF_DROP : NF_ACCEPT;
        if (v.kind != VerdictKind::kChanged) return;
        // A truncated item cannot be replaced whole, and bytes that are not
        // an IP packet cannot be fixed: the change is refused, and so is the packet.
        std::vector<uint8_t> bytes = v.bytes;
        if (h.truncated || !RecomputePacketChecksums(bytes).ok()) {
            ++stats.changed_refused;
            h.verdict = NF_DROP;
            return;
        }
        // Only the payload may change (unless the source allows more): new
        // addresses, ports or protocol would make the kernel route the
        // packet anew on a guest's word. Such a verdict is no usable answer:
        // the original packet goes by the source's on_guest_absent policy.
        if (!allow_header_changes && PacketHeaders(bytes) != h.headers) {
            ++stats.changed_header_refused;
            h.verdict = header_refusal == FailPolicy::kFailOpen ? NF_ACCEPT : NF_DROP;
            return;
        }
        h.bytes = std::move(bytes);
        h.has_bytes = true;
    }

    bool allow_header_changes = false;
    FailPolicy header_refusal = FailPolicy::kFailClosed;

    std::map<uint64_t, Held> held;  // by the order the kernel queued them
    uint64_t next_seq = 0;
    NfqueueStats stats;
};

namespace {

constexpr size_t kRecvBuffer = 65535 + 8192;  // the largest copy and its headers
constexpr size_t kSendBuffer = 128 * 1024;    // below the default netlink send buffer
constexpr size_t kVerdictOverhead = 256;      // headers and attributes of one verdict
constexpr int kSocketBuffer = 8 * 1024 * 1024;

std::string QueueName(uint16_t queue) {
    return "NFQUEUE " + std::to_string(queue);
}

// Sends (nlh) with NLM_F_ACK and waits for the kernel's answer.
Status Configure(mnl_socket* nl, nlmsghdr* nlh, const std::string& what) {
    static uint32_t seq = 1;
    nlh->nlmsg_flags |= NLM_F_ACK;
    nlh->nlmsg_seq = seq++;
    if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
        return Error(ErrorCode::kIo, what + ": send: " + strerror(errno));
    }
    std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
    ssize_t n = mnl_socket_recvfrom(nl, buf.data(), buf.size());
    if (n < 0) return Error(ErrorCode::kIo, what + ": receive: " + strerror(errno));
    if (mnl_cb_run(buf.data(), n, nlh->nlmsg_seq, mnl_socket_get_portid(nl), nullptr, nullptr) <
        0) {
        std::string why = strerror(errno);
        if (errno == EBUSY) why += " (another process, perhaps another hvfilterd, has bound it)";
        return Error(ErrorCode::kIo, what + ": the kernel refused: " + why);
    }
    return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<NfqueueSource>> NfqueueSource::Open(const SourceConfig& config,
                                                           SourceIndex index,
                                                           Dispatcher& dispatcher) {
    if (config.kind != SourceKind::kNetwork || !config.network) {
        return Error(ErrorCode::kInvalidArgument,
                     "source '" + config.name + "' is not a network source");
    }
    uint16_t queue = config.network->queue;
    std::string what = "binding " + QueueName(queue) + " for source '" + config.name + "'";
    mnl_socket* nl = mnl_socket_open(NETLINK_NETFILTER);
    if (!nl) return Error(ErrorCode::kIo, what + ": netlink socket: " + strerror(errno));
    std::unique_ptr<NfqueueSource> src(
        new NfqueueSource(nl, queue, index, config.policy.on_guest_absent, dispatcher));
    src->books_->allow_header_changes = config.network->allow_header_changes;
    src->books_->header_refusal = config.policy.on_guest_absent;
    if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
        return Error(ErrorCode::kIo, what + ": netlink bind: " + strerror(errno));
    }
    std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
    nlmsghdr* nlh = nfq_nlmsg_put(buf.data(), NFQNL_MSG_CONFIG, queue);
    nfq_nlmsg_cfg_put_cmd(nlh, AF_INET, NFQNL_CFG_CMD_BIND);
    HVKIT_RETURN_IF_ERROR(Configure(nl, nlh, what));

    nlh = nfq_nlmsg_put(buf.data(), NFQNL_MSG_CONFIG, queue);
    nfq_nlmsg_cfg_put_params(nlh, NFQNL_COPY_PACKET, static_cast<int>(config.max_item_bytes));
    nfq_nlmsg_cfg_put_qmaxlen(nlh, config.policy.max_pending);
    // A full kernel queue decides by on_overflow, like a full dispatcher.
    uint32_t flags = config.policy.on_overflow == FailPolicy::kFailOpen ? NFQA_CFG_F_FAIL_OPEN : 0;
    mnl_attr_put_u32(nlh, NFQA_CFG_FLAGS, htonl(flags));
    mnl_attr_put_u32(nlh, NFQA_CFG_MASK, htonl(NFQA_CFG_F_FAIL_OPEN));
    HVKIT_RETURN_IF_ERROR(Configure(nl, nlh, "configuring " + QueueName(queue)));

    int fd = mnl_socket_get_fd(nl);
    int size = kSocketBuffer;
    // A larger buffer makes overruns rarer; without CAP_NET_ADMIN it is capped.
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0) {
        (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
        return Error(ErrorCode::kIo, what + ": O_NONBLOCK: " + strerror(errno));
    }
    return src;
}

NfqueueSource::NfqueueSource(mnl_socket* nl, uint16_t queue, SourceIndex index,
                             FailPolicy on_absent, Dispatcher& dispatcher)
    : nl_(nl),
      queue_(queue),
      index_(index),
      on_absent_(on_absent),
      dispatcher_(dispatcher),
      books_(std::make_shared<Books>()),
      recv_buf_(kRecvBuffer) {}

NfqueueSource::~NfqueueSource() {
    // Closing the socket would make the kernel drop what it holds for us,
    // whatever the policy: answer it by policy first.
    Verdict policy = on_absent_ == FailPolicy::kFailOpen ? Verdict::Pass() : Verdict::Drop();
    for (auto& [seq, held] : books_->held) books_->Answer(seq, policy);
    Status st = Flush();
    if (!st.ok()) std::fprintf(stderr, "hvfilterd: %s\n", st.message().c_str());
    mnl_socket_close(nl_);
}

int NfqueueSource::fd() const {
    return mnl_socket_get_fd(nl_);
}

size_t NfqueueSource::held() const {
    return books_->held.size();
}

const NfqueueStats& NfqueueSource::stats() const {
    return books_->stats;
}

Status NfqueueSource::OnReadable() {
    for (;;) {
        ssize_t n = mnl_socket_recvfrom(nl_, recv_buf_.data(), recv_buf_.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) return Status::Ok();
            if (errno == ENOBUFS) {
                ++books_->stats.overruns;
                continue;
            }
            return Error(ErrorCode::kIo, "reading " + QueueName(queue_) + ": " + strerror(errno));
        }
        int left = static_cast<int>(n);
        for (auto* nlh = reinterpret_cast<const nlmsghdr*>(recv_buf_.data());
             mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
            if (nlh->nlmsg_type == NLMSG_ERROR) {
                auto* err = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
                if (err->error != 0) ++books_->stats.verdict_errors;
            } else if (nlh->nlmsg_type == ((NFNL_SUBSYS_QUEUE << 8) | NFQNL_MSG_PACKET)) {
                HandlePacket(nlh);
            }
        }
    }
}

void NfqueueSource::HandlePacket(const nlmsghdr* nlh) {
    nlattr* attr[NFQA_MAX + 1] = {};
    if (nfq_nlmsg_parse(nlh, attr) < 0 || !attr[NFQA_PACKET_HDR]) return;  // no id to answer
    auto* ph =
        static_cast<const nfqnl_msg_packet_hdr*>(mnl_attr_get_payload(attr[NFQA_PACKET_HDR]));
    Item item;
    if (attr[NFQA_PAYLOAD]) {
        auto* p = static_cast<const uint8_t*>(mnl_attr_get_payload(attr[NFQA_PAYLOAD]));
        item.payload.assign(p, p + mnl_attr_get_payload_len(attr[NFQA_PAYLOAD]));
    }
    Books::Held held;
    held.packet_id = ntohl(ph->packet_id);
    if (!books_->allow_header_changes) held.headers = PacketHeaders(item.payload);
    if (attr[NFQA_CAP_LEN]) {
        held.truncated = ntohl(mnl_attr_get_u32(attr[NFQA_CAP_LEN])) > item.payload.size();
    }
    uint64_t seq = books_->next_seq++;
    books_->held.emplace(seq, std::move(held));
    ++books_->stats.packets;
    std::weak_ptr<Books> books = books_;
    item.reply = [books, seq](const Verdict& v) {
        if (std::shared_ptr<Books> b = books.lock()) b->Answer(seq, v);
    };
    dispatcher_.Submit(index_, std::move(item));
}

Status NfqueueSource::Flush() {
    Books& b = *books_;
    std::vector<HeldPacket> plan_in;
    std::vector<std::map<uint64_t, Books::Held>::iterator> at;
    for (auto it = b.held.begin(); it != b.held.end(); ++it) {
        plan_in.push_back(
            HeldPacket{it->second.answered, it->second.verdict, it->second.has_bytes});
        at.push_back(it);
    }
    std::vector<VerdictMessage> plan = PlanVerdicts(plan_in);
    std::vector<char> out(kSendBuffer);
    size_t used = 0;
    std::vector<VerdictMessage> in_buffer;
    // Sends what is buffered; only then are those packets off the books.
    auto send = [&]() -> Status {
        if (used == 0) return Status::Ok();
        if (mnl_socket_sendto(nl_, out.data(), used) < 0) {
            return Error(ErrorCode::kIo,
                         "sending verdicts to " + QueueName(queue_) + ": " + strerror(errno));
        }
        for (const VerdictMessage& m : in_buffer) {
            ++b.stats.verdict_messages;
            if (m.batch) ++b.stats.batch_verdicts;
            for (size_t i = m.first; i <= m.last; ++i) b.held.erase(at[i]);
        }
        in_buffer.clear();
        used = 0;
        return Status::Ok();
    };
    for (const VerdictMessage& m : plan) {
        const Books::Held& last = at[m.last]->second;
        size_t need = kVerdictOverhead + last.bytes.size();
        if (used + need > out.size()) HVKIT_RETURN_IF_ERROR(send());
        nlmsghdr* nlh = nfq_nlmsg_put(
            out.data() + used, m.batch ? NFQNL_MSG_VERDICT_BATCH : NFQNL_MSG_VERDICT, queue_);
        nfq_nlmsg_verdict_put(nlh, static_cast<int>(last.packet_id),
                              static_cast<int>(last.verdict));
        if (last.has_bytes) {
            nfq_nlmsg_verdict_put_pkt(nlh, last.bytes.data(),
                                      static_cast<uint32_t>(last.bytes.size()));
        }
        used += MNL_ALIGN(nlh->nlmsg_len);
        in_buffer.push_back(m);
    }
    return send();
}

}  // namespace hvkit::filterd
