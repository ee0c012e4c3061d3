// HTTP single byte ranges (RFC 9110, section 14): the Range header a client
// sends and the Content-Range header a server answers with. Shared by the
// fetcher (resuming downloads) and the development repository server.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "hvkit/status.h"

namespace hvkit {

// The inclusive byte range [first, last] of a representation.
struct ByteRange {
    int64_t first = 0;
    int64_t last = -1;
    int64_t length() const { return last - first + 1; }
};

// How a server answers a Range header.
struct RangeDecision {
    enum class Kind {
        kFull,           // no usable Range: 200 with the whole representation
        kPartial,        // 206 with (range) and a Content-Range header
        kUnsatisfiable,  // 416 with "Content-Range: bytes */size"
    };
    Kind kind = Kind::kFull;
    ByteRange range;
};

// Interprets the Range header (value) for a representation of (size) bytes.
// One range of the "bytes" unit is honoured ("bytes=a-b", "bytes=a-",
// "bytes=-n", the end clamped to the size); a malformed header, another unit or
// several ranges yield kFull, which RFC 9110 allows a server to do.
RangeDecision DecideRange(std::string_view value, int64_t size);

// "bytes=(first)-": the Range header value that asks for everything from (first).
std::string FormatRangeFrom(int64_t first);

// "bytes (range.first)-(range.last)/(size)": the Content-Range of a 206 answer.
std::string FormatContentRange(const ByteRange& range, int64_t size);

// "bytes */(size)": the Content-Range of a 416 answer.
std::string FormatUnsatisfiedRange(int64_t size);

// A Content-Range header as a client reads it. (range) is absent for
// "bytes */size"; (size) is -1 when the server wrote "*" for the complete length.
struct ContentRange {
    std::optional<ByteRange> range;
    int64_t size = -1;
};

// Parses the Content-Range header (value); kMalformed unless it is
// "bytes a-b/size", "bytes a-b/*" or "bytes */size" with a <= b < size.
Result<ContentRange> ParseContentRange(std::string_view value);

}  // namespace hvkit
