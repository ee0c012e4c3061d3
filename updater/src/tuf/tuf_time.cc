// TUF's one time format, "YYYY-MM-DDTHH:MM:SSZ" (UTC), to and from seconds.
#include <ctime>

#include "hvkit/tuf/metadata.h"

namespace hvkit::tuf {

Result<int64_t> ParseTufTime(std::string_view text, std::string_view context) {
    struct tm tm {};
    std::string s(text);
    const char* end = strptime(s.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (end == nullptr || *end != '\0' || s.size() != 20) {
        return Error(ErrorCode::kMalformed, std::string(context) + ": expires \"" + s +
                                                "\" is not of the form YYYY-MM-DDTHH:MM:SSZ");
    }
    // Only real instants in their one spelling (no 30 February, no second 60,
    // years 1000-9999), so a parsed expiry always serialises back to its input.
    int64_t seconds = static_cast<int64_t>(timegm(&tm));
    if (FormatTufTime(seconds) != s) {
        return Error(ErrorCode::kMalformed, std::string(context) + ": expires \"" + s +
                                                "\" is not a valid UTC date and time");
    }
    return seconds;
}

std::string FormatTufTime(int64_t unix_seconds) {
    time_t t = static_cast<time_t>(unix_seconds);
    struct tm tm {};
    gmtime_r(&t, &tm);
    char buf[32];
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

}  // namespace hvkit::tuf
