#include "hvkit/status.h"

namespace hvkit {

const char* ErrorCodeName(ErrorCode code) {
    switch (code) {
        case ErrorCode::kOk:
            return "ok";
        case ErrorCode::kInvalidArgument:
            return "invalid-argument";
        case ErrorCode::kNotFound:
            return "not-found";
        case ErrorCode::kIo:
            return "io";
        case ErrorCode::kBadSignature:
            return "bad-signature";
        case ErrorCode::kHashMismatch:
            return "hash-mismatch";
        case ErrorCode::kRollback:
            return "rollback";
        case ErrorCode::kExpired:
            return "expired";
        case ErrorCode::kRefused:
            return "refused";
        case ErrorCode::kMalformed:
            return "malformed";
        case ErrorCode::kNetwork:
            return "network";
        case ErrorCode::kTooLarge:
            return "too-large";
        case ErrorCode::kConflict:
            return "conflict";
    }
    return "unknown";
}

}  // namespace hvkit
