// hvchan statuses and hvkit's ErrorCodes: one table, used by both sides.
// hvmm turns the error a call ended in into its status (StatusForError);
// the guest turns the status back into the error it reports
// (ErrorForStatus), so `hvupdate` exits with the class of failure hvmm
// found: a refusal is "refused" (exit 3) on both sides of the channel, never
// "usage". Names are the ABI's, for messages.
//
// Rules the table keeps (tests/hypervisor/hvchan_status_table_test.cc):
// every hvchan_status has exactly one row; every ErrorCode hvmm can end a
// call with has a row, and the first row for a code is the status hvmm
// sends for it.
#pragma once

#include <cstdint>
#include <string>

#include "hvkit/hvchan_abi.h"
#include "hvkit/status.h"

namespace hvkit::hvchan {

struct StatusRow {
    hvchan_status status;
    const char* name;
    ErrorCode error;  // what the guest reports for (status)
};

// In the order hvmm looks codes up: for codes with several rows, the first
// is what hvmm sends (kRefused: REFUSED, not DENIED; kConflict: STATE).
inline constexpr StatusRow kStatusTable[] = {
    {HVCHAN_OK, "HVCHAN_OK", ErrorCode::kOk},
    {HVCHAN_E_INVALID, "HVCHAN_E_INVALID", ErrorCode::kInvalidArgument},
    {HVCHAN_E_NOT_FOUND, "HVCHAN_E_NOT_FOUND", ErrorCode::kNotFound},
    {HVCHAN_E_IO, "HVCHAN_E_IO", ErrorCode::kIo},
    {HVCHAN_E_BAD_SIGNATURE, "HVCHAN_E_BAD_SIGNATURE", ErrorCode::kBadSignature},
    {HVCHAN_E_HASH_MISMATCH, "HVCHAN_E_HASH_MISMATCH", ErrorCode::kHashMismatch},
    {HVCHAN_E_ROLLBACK, "HVCHAN_E_ROLLBACK", ErrorCode::kRollback},
    {HVCHAN_E_EXPIRED, "HVCHAN_E_EXPIRED", ErrorCode::kExpired},
    {HVCHAN_E_REFUSED, "HVCHAN_E_REFUSED", ErrorCode::kRefused},
    {HVCHAN_E_MALFORMED, "HVCHAN_E_MALFORMED", ErrorCode::kMalformed},
    {HVCHAN_E_TOO_LARGE, "HVCHAN_E_TOO_LARGE", ErrorCode::kTooLarge},
    {HVCHAN_E_STATE, "HVCHAN_E_STATE", ErrorCode::kConflict},
    // Statuses only the channel itself produces.
    {HVCHAN_E_DENIED, "HVCHAN_E_DENIED", ErrorCode::kRefused},
    {HVCHAN_E_BUSY, "HVCHAN_E_BUSY", ErrorCode::kConflict},
    {HVCHAN_PENDING, "HVCHAN_PENDING", ErrorCode::kConflict},
    {HVCHAN_E_UNKNOWN_CALL, "HVCHAN_E_UNKNOWN_CALL", ErrorCode::kInvalidArgument},
    {HVCHAN_E_RANGE, "HVCHAN_E_RANGE", ErrorCode::kInvalidArgument},
    {HVCHAN_E_FEATURE, "HVCHAN_E_FEATURE", ErrorCode::kInvalidArgument},
};

// The row of (status); none for a number the ABI does not define.
inline const StatusRow* FindStatus(uint32_t status) {
    for (const StatusRow& row : kStatusTable) {
        if (row.status == status) return &row;
    }
    return nullptr;
}

// hvmm's side: the status a call that failed with (code) returns. kNetwork,
// the one code no host update step produces, goes as HVCHAN_E_IO.
inline hvchan_status StatusForError(ErrorCode code) {
    for (const StatusRow& row : kStatusTable) {
        if (row.error == code) return row.status;
    }
    return HVCHAN_E_IO;
}

// The guest's side: the error for (status); an undefined number is kIo
// (the host said something this guest cannot read).
inline ErrorCode ErrorForStatus(uint32_t status) {
    const StatusRow* row = FindStatus(status);
    return row != nullptr ? row->error : ErrorCode::kIo;
}

// "HVCHAN_E_RANGE", or "status 99" for an undefined number.
inline std::string StatusName(uint32_t status) {
    const StatusRow* row = FindStatus(status);
    return row != nullptr ? row->name : "status " + std::to_string(status);
}

}  // namespace hvkit::hvchan
