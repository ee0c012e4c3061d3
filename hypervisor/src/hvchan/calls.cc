// hvchan's dispatch table: the calls every hvmm answers (info, echo) and, in
// the same table, each call family's rows (update_calls.cc). Numbers come from
// hvchan_abi.h and are never reused.
#include <cstring>
#include <vector>

#include "hvchan/hvchan.h"

namespace hvkit::hvmm {

namespace {

// Copies (text) into (field) NUL-terminated, cut to fit.
template <size_t N>
void CopyString(char (&field)[N], const std::string& text) {
    size_t n = std::min(text.size(), N - 1);
    memcpy(field, text.data(), n);
    memset(field + n, 0, N - n);
}

hvchan_status Info(HvchanCall& call) {
    hvchan_info info{};
    info.abi_version = HVCHAN_ABI_VERSION;
    info.hv_version = call.host.hv_version;
    info.host_features = HvchanHostFeatures(call.host);
    info.update_permitted = call.host.update_permitted ? 1 : 0;
    CopyString(info.hv_version_string, call.host.hv_version_string);
    CopyString(info.committed_version_string, call.host.committed_version_string);
    auto out = call.memory.Slice(HvchanMemory::Area::kCallOut, 0, sizeof info);
    if (!out) return HVCHAN_E_IO;  // the output area is smaller than the ABI says: a host bug
    memcpy(out->data(), &info, sizeof info);
    call.rets[0] = sizeof info;
    return HVCHAN_OK;
}

// args: input-area offset, length, output-area offset.
hvchan_status Echo(HvchanCall& call) {
    uint64_t in_offset = call.args[0], length = call.args[1], out_offset = call.args[2];
    auto in = call.memory.Slice(HvchanMemory::Area::kCallIn, in_offset, length);
    auto out = call.memory.Slice(HvchanMemory::Area::kCallOut, out_offset, length);
    if (!in || !out) return HVCHAN_E_RANGE;
    // The areas are disjoint; memmove anyway, the guest may race us on the bytes.
    memmove(out->data(), in->data(), length);
    call.rets[0] = length;
    return HVCHAN_OK;
}

const HvchanCallSpec kBaseCalls[] = {
    {HVCHAN_CALL_INFO, "info", 0, Info},
    {HVCHAN_CALL_ECHO, "echo", 0, Echo},
};

// Every family's rows, in one table.
std::vector<HvchanCallSpec> AllCalls() {
    std::vector<HvchanCallSpec> all(std::begin(kBaseCalls), std::end(kBaseCalls));
    all.insert(all.end(), std::begin(kHvchanUpdateCalls), std::end(kHvchanUpdateCalls));
    return all;
}

}  // namespace

std::span<const HvchanCallSpec> HvchanCallTable() {
    static const std::vector<HvchanCallSpec> table = AllCalls();
    return table;
}

uint64_t HvchanHostFeatures(const HvchanHostInfo& host) {
    return host.update_permitted ? HVCHAN_F_UPDATE : 0;
}

}  // namespace hvkit::hvmm
