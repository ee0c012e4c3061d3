// Names of hvchan status codes, for messages.
#include "hvkit/hvchan_guest.h"

namespace hvkit::hvchan {

std::string StatusName(uint32_t status) {
    switch (status) {
        case HVCHAN_OK:
            return "HVCHAN_OK";
        case HVCHAN_PENDING:
            return "HVCHAN_PENDING";
        case HVCHAN_E_UNKNOWN_CALL:
            return "HVCHAN_E_UNKNOWN_CALL";
        case HVCHAN_E_INVALID:
            return "HVCHAN_E_INVALID";
        case HVCHAN_E_RANGE:
            return "HVCHAN_E_RANGE";
        case HVCHAN_E_DENIED:
            return "HVCHAN_E_DENIED";
        case HVCHAN_E_STATE:
            return "HVCHAN_E_STATE";
        case HVCHAN_E_BAD_SIGNATURE:
            return "HVCHAN_E_BAD_SIGNATURE";
        case HVCHAN_E_HASH_MISMATCH:
            return "HVCHAN_E_HASH_MISMATCH";
        case HVCHAN_E_ROLLBACK:
            return "HVCHAN_E_ROLLBACK";
        case HVCHAN_E_TOO_LARGE:
            return "HVCHAN_E_TOO_LARGE";
        case HVCHAN_E_IO:
            return "HVCHAN_E_IO";
        case HVCHAN_E_BUSY:
            return "HVCHAN_E_BUSY";
        case HVCHAN_E_FEATURE:
            return "HVCHAN_E_FEATURE";
    }
    return "status " + std::to_string(status);
}

}  // namespace hvkit::hvchan
