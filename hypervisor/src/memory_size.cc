// "--mem 512M": sizes as people write them.
#include "hvkit/cli_args.h"
#include "hvmm.h"

namespace hvkit::hvmm {

Result<uint64_t> ParseMemorySize(const std::string& text) {
    std::string digits = text;
    uint64_t unit = 1ull << 20;  // plain numbers are MiB
    if (!digits.empty()) {
        switch (digits.back()) {
            case 'K':
            case 'k':
                unit = 1ull << 10;
                digits.pop_back();
                break;
            case 'M':
            case 'm':
                unit = 1ull << 20;
                digits.pop_back();
                break;
            case 'G':
            case 'g':
                unit = 1ull << 30;
                digits.pop_back();
                break;
            default:
                break;
        }
    }
    auto value = cli::ParseInteger("--mem", digits, 1, int64_t{1} << 40);
    if (!value.ok()) {
        return Error(ErrorCode::kInvalidArgument,
                     "--mem '" + text + "': expected a size such as 512M, 2G or 1048576K");
    }
    uint64_t bytes = 0;
    if (__builtin_mul_overflow(static_cast<uint64_t>(*value), unit, &bytes)) {
        return Error(ErrorCode::kInvalidArgument, "--mem '" + text + "' is too large");
    }
    if (bytes % 4096 != 0) {
        return Error(ErrorCode::kInvalidArgument,
                     "--mem '" + text + "' is not a whole number of 4 KiB pages");
    }
    return bytes;
}

}  // namespace hvkit::hvmm
