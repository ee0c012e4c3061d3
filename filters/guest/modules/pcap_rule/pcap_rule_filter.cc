// The pcap_rule module: a libpcap filter expression (the tcpdump language),
// compiled once to BPF and run on each packet as a raw IP frame; packets that
// match get the configured action, all others pass. File items always pass.
#include <pcap/pcap.h>

#include <memory>
#include <mutex>

#include "module_entry.h"

namespace hvkit::filters {
namespace {

// The largest IP packet short of an IPv6 jumbogram.
constexpr int kSnapLength = 65535;

class PcapRuleFilter {
  public:
    ~PcapRuleFilter() { pcap_freecode(&program_); }
    PcapRuleFilter(const PcapRuleFilter&) = delete;
    PcapRuleFilter& operator=(const PcapRuleFilter&) = delete;

    // Params: {"filter": "<expression>", "action": "drop"|"pass"}.
    static Result<std::unique_ptr<PcapRuleFilter>> Create(const Json& params) {
        HVKIT_RETURN_IF_ERROR(CheckKnownParams(params, {"filter", "action"}));
        HVKIT_ASSIGN_OR_RETURN(std::string expression, JsonString(params, "filter", "params"));
        HVKIT_ASSIGN_OR_RETURN(std::string action, JsonString(params, "action", "params"));
        hvfilter_inspect_verdict verdict;
        if (action == "drop") {
            verdict = HVFILTER_INSPECT_DROP;
        } else if (action == "pass") {
            verdict = HVFILTER_INSPECT_PASS;
        } else {
            return Error(ErrorCode::kInvalidArgument,
                         "params: 'action' is '" + action + "', expected \"drop\" or \"pass\"");
        }
        auto filter = std::unique_ptr<PcapRuleFilter>(new PcapRuleFilter(expression, verdict));
        HVKIT_RETURN_IF_ERROR(filter->Compile());
        return filter;
    }

    Inspection Inspect(const hvfilter_item& item, VerdictOutput& out) {
        if (item.source != HVFILTER_ITEM_NETWORK) return HVFILTER_INSPECT_PASS;
        pcap_pkthdr header{};
        header.caplen = static_cast<bpf_u_int32>(std::min<size_t>(item.len, kSnapLength));
        header.len = static_cast<bpf_u_int32>(std::min<size_t>(item.len, UINT32_MAX));
        if (pcap_offline_filter(&program_, &header, item.bytes) == 0) {
            return HVFILTER_INSPECT_PASS;
        }
        if (action_ == HVFILTER_INSPECT_DROP) out.ExplainDrop("pcap filter " + expression_);
        return action_;
    }

  private:
    PcapRuleFilter(std::string expression, hvfilter_inspect_verdict action)
        : expression_(std::move(expression)), action_(action) {}

    // Compiles the expression for raw IP frames (DLT_RAW: IPv4 or IPv6).
    Status Compile() {
        // libpcap before 1.8 had a non-reentrant compiler; one at a time costs
        // nothing at configuration time.
        static std::mutex compile_lock;
        std::lock_guard<std::mutex> lock(compile_lock);
        pcap_t* dead = pcap_open_dead(DLT_RAW, kSnapLength);
        if (dead == nullptr) return Error(ErrorCode::kIo, "libpcap: cannot open a dead handle");
        int rc = pcap_compile(dead, &program_, expression_.c_str(), 1, PCAP_NETMASK_UNKNOWN);
        std::string why = rc != 0 ? pcap_geterr(dead) : "";
        pcap_close(dead);
        if (rc != 0) {
            return Error(ErrorCode::kInvalidArgument,
                         "params: 'filter' \"" + expression_ + "\" does not compile: " + why);
        }
        return Status::Ok();
    }

    std::string expression_;
    hvfilter_inspect_verdict action_;
    bpf_program program_{};
};

}  // namespace
}  // namespace hvkit::filters

extern "C" const hvfilter_module* hvfilter_module_v1(void) {
    static const hvfilter_module table =
        hvkit::filters::MakeModuleTable<hvkit::filters::PcapRuleFilter>("pcap_rule", "1.0.0");
    return &table;
}
