// What the repository server answers to a GET or HEAD: maps a request path to
// a file under the root without ever leaving it, and applies a Range header.
// Pure logic on the filesystem; repo_server.cc turns the answer into HTTP.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace hvkit::repo {

struct StaticAnswer {
    int status = 404;           // 200, 206, 400, 403, 404 or 416
    std::string file;           // 200/206: the file to send from
    int64_t offset = 0;         // 200/206: first byte to send
    int64_t length = 0;         // 200/206: bytes to send
    std::string content_type;   // 200/206
    std::string content_range;  // 206 and 416
    std::string text;           // other statuses: a short explanation for the body
};

// Answers a request for the percent-encoded (path) of a request target under
// (root), which must be canonical (absolute, no symlinks). Refuses ".."
// segments (also encoded), NUL and backslash with 403, a file reached through a
// symlink that leaves (root) with 403, anything that is not a readable regular
// file with 404. (range) is the Range header, nullptr when absent. A non-empty
// (served_directories) limits answers to files inside those top-level
// directories of (root) (symlinks included); anything else is 404.
StaticAnswer AnswerStaticFile(const std::string& root, std::string_view path,
                              const std::string* range,
                              const std::vector<std::string>& served_directories = {});

// "application/json" for .json, "application/octet-stream" for anything else.
std::string ContentTypeFor(std::string_view file);

}  // namespace hvkit::repo
