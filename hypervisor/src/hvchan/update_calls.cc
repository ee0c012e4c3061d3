// hvchan's update family: the guest's side of a hypervisor update, mapped onto
// UpdateService. Each handler copies what it needs out of shared memory before
// checking it (another vCPU may change those bytes meanwhile) and turns the
// service's errors into hvchan statuses by the table both sides share
// (hvkit/hvchan_status_table.h).
#include <cstring>
#include <vector>

#include "hvchan/hvchan.h"
#include "hvkit/hvchan_status_table.h"

namespace hvkit::hvmm {

namespace {

// Records (status) and (why) for UPDATE_STATUS and returns it.
hvchan_status Done(HvchanCall& call, hvchan_status status, std::string_view why = "") {
    call.update->RecordLastCall(status, why);
    return status;
}

hvchan_status Done(HvchanCall& call, const Status& st) {
    return Done(call, hvchan::StatusForError(st.code()), st.message());
}

// args: input offset, length (header + manifest).
hvchan_status Begin(HvchanCall& call) {
    if (call.update == nullptr) return HVCHAN_E_DENIED;
    auto in = call.memory.Slice(HvchanMemory::Area::kCallIn, call.args[0], call.args[1]);
    if (!in) return Done(call, HVCHAN_E_RANGE);
    if (in->size() < sizeof(hvchan_update_begin)) return Done(call, HVCHAN_E_INVALID);
    hvchan_update_begin header;
    memcpy(&header, in->data(), sizeof header);
    if (header.reserved != 0 || header.manifest_size != in->size() - sizeof header) {
        return Done(call, HVCHAN_E_INVALID);
    }
    if (header.manifest_size > HVCHAN_UPDATE_MAX_MANIFEST) return Done(call, HVCHAN_E_TOO_LARGE);
    UpdateService::Begin begin;
    begin.package_size = header.package_size;
    memcpy(begin.package_sha256.data(), header.package_sha256, 32);
    begin.manifest.assign(reinterpret_cast<const char*>(in->data()) + sizeof header,
                          header.manifest_size);
    auto session = call.update->BeginSession(begin);
    if (!session.ok()) return Done(call, session.status());
    call.rets[0] = *session;
    return Done(call, HVCHAN_OK);
}

// args: session, package offset, input offset, length (hash + chunk).
hvchan_status Write(HvchanCall& call) {
    if (call.update == nullptr) return HVCHAN_E_DENIED;
    auto in = call.memory.Slice(HvchanMemory::Area::kCallIn, call.args[2], call.args[3]);
    if (!in) return Done(call, HVCHAN_E_RANGE);
    if (in->size() <= sizeof(hvchan_update_chunk)) return Done(call, HVCHAN_E_INVALID);
    if (in->size() - sizeof(hvchan_update_chunk) > HVCHAN_UPDATE_MAX_CHUNK) {
        return Done(call, HVCHAN_E_TOO_LARGE);
    }
    // One copy, then everything is checked and written from it.
    std::vector<uint8_t> copy(in->begin(), in->end());
    Sha256Digest sha256;
    memcpy(sha256.data(), copy.data(), sha256.size());
    std::span<const uint8_t> chunk(copy.data() + sizeof(hvchan_update_chunk),
                                   copy.size() - sizeof(hvchan_update_chunk));
    auto received = call.update->Write(call.args[0], call.args[1], chunk, sha256);
    if (!received.ok()) return Done(call, received.status());
    call.rets[0] = *received;
    return Done(call, HVCHAN_OK);
}

hvchan_status End(HvchanCall& call) {
    if (call.update == nullptr) return HVCHAN_E_DENIED;
    return Done(call, call.update->End(call.args[0]));
}

hvchan_status Commit(HvchanCall& call) {
    if (call.update == nullptr) return HVCHAN_E_DENIED;
    return Done(call, call.update->Commit(call.args[0]));
}

hvchan_status Abort(HvchanCall& call) {
    if (call.update == nullptr) return HVCHAN_E_DENIED;
    return Done(call, call.update->Abort(call.args[0]));
}

hvchan_status Report(HvchanCall& call) {
    if (call.update == nullptr) return HVCHAN_E_DENIED;
    hvchan_update_status report = call.update->Report();
    auto out = call.memory.Slice(HvchanMemory::Area::kCallOut, 0, sizeof report);
    if (!out) return HVCHAN_E_IO;
    memcpy(out->data(), &report, sizeof report);
    call.rets[0] = sizeof report;
    return HVCHAN_OK;
}

hvchan_status Rollback(HvchanCall& call) {
    if (call.update == nullptr) return HVCHAN_E_DENIED;
    hvchan_status status = Done(call, call.update->Rollback());
    Report(call);
    return status;
}

}  // namespace

const HvchanCallSpec kHvchanUpdateCalls[7] = {
    {HVCHAN_CALL_UPDATE_BEGIN, "update-begin", 0, Begin},
    {HVCHAN_CALL_UPDATE_WRITE, "update-write", 0, Write},
    {HVCHAN_CALL_UPDATE_END, "update-end", 0, End},
    {HVCHAN_CALL_UPDATE_COMMIT, "update-commit", 0, Commit},
    {HVCHAN_CALL_UPDATE_ABORT, "update-abort", 0, Abort},
    {HVCHAN_CALL_UPDATE_STATUS, "update-status", 0, Report},
    {HVCHAN_CALL_UPDATE_ROLLBACK, "update-rollback", 0, Rollback},
};

}  // namespace hvkit::hvmm
