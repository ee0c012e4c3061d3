#include "static_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <optional>
#include <vector>

#include "hvkit/net/byte_range.h"

namespace hvkit::repo {

namespace {

StaticAnswer Refuse(int status, std::string text) {
    StaticAnswer answer;
    answer.status = status;
    answer.text = std::move(text) + "\n";
    return answer;
}

int HexValue(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

std::optional<std::string> PercentDecode(std::string_view in) {
    std::string out;
    out.reserve(in.size());
    for (size_t i = 0; i < in.size(); ++i) {
        if (in[i] != '%') {
            out.push_back(in[i]);
            continue;
        }
        if (i + 2 >= in.size()) return std::nullopt;
        int hi = HexValue(in[i + 1]);
        int lo = HexValue(in[i + 2]);
        if (hi < 0 || lo < 0) return std::nullopt;
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
    }
    return out;
}

// The decoded path as segments, or the refusal. Decoding comes first, so
// "%2e%2e" and "..%2f" are seen as the ".." they are.
std::optional<StaticAnswer> SplitPath(std::string_view encoded,
                                      std::vector<std::string>* segments) {
    auto decoded = PercentDecode(encoded);
    if (!decoded) return Refuse(400, "malformed percent-encoding in the request path");
    if (decoded->find('\0') != std::string::npos || decoded->find('\\') != std::string::npos) {
        return Refuse(403, "refused: NUL or backslash in the request path");
    }
    size_t start = 0;
    while (start <= decoded->size()) {
        size_t end = decoded->find('/', start);
        if (end == std::string::npos) end = decoded->size();
        std::string segment = decoded->substr(start, end - start);
        if (segment == "." || segment == "..") {
            return Refuse(403, "refused: the request path has a '.' or '..' segment");
        }
        if (!segment.empty()) segments->push_back(std::move(segment));
        start = end + 1;
    }
    return std::nullopt;
}

bool IsInside(const std::string& root, const std::string& path) {
    if (root == "/") return true;
    return path.size() > root.size() && path.compare(0, root.size(), root) == 0 &&
           path[root.size()] == '/';
}

}  // namespace

std::string ContentTypeFor(std::string_view file) {
    constexpr std::string_view kJson = ".json";
    if (file.size() >= kJson.size() && file.substr(file.size() - kJson.size()) == kJson) {
        return "application/json";
    }
    return "application/octet-stream";
}

StaticAnswer AnswerStaticFile(const std::string& root, std::string_view path,
                              const std::string* range,
                              const std::vector<std::string>& served_directories) {
    std::vector<std::string> segments;
    if (auto refusal = SplitPath(path, &segments)) return *refusal;
    if (segments.empty()) return Refuse(404, "not found (no directory listings)");
    std::string served_root = root;
    if (!served_directories.empty()) {
        bool served = false;
        for (const auto& dir : served_directories) served = served || segments[0] == dir;
        if (!served || segments.size() < 2) return Refuse(404, "not found");
        served_root = root + "/" + segments[0];
    }

    std::string candidate = root;
    for (const auto& segment : segments) candidate += "/" + segment;

    // Resolve symlinks, then require the result to stay under the root.
    char resolved[PATH_MAX];
    if (realpath(candidate.c_str(), resolved) == nullptr) {
        if (errno == EACCES) return Refuse(403, "forbidden");
        return Refuse(404, "not found");
    }
    std::string file = resolved;
    if (!IsInside(served_root, file)) {
        return Refuse(403, "refused: the path leaves the served directory");
    }

    struct stat st;
    if (stat(file.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return Refuse(404, "not found");
    if (access(file.c_str(), R_OK) != 0) return Refuse(403, "forbidden");

    int64_t size = st.st_size;
    StaticAnswer answer;
    answer.file = file;
    answer.content_type = ContentTypeFor(file);
    answer.status = 200;
    answer.offset = 0;
    answer.length = size;
    if (range != nullptr) {
        RangeDecision decision = DecideRange(*range, size);
        if (decision.kind == RangeDecision::Kind::kUnsatisfiable) {
            StaticAnswer unsatisfiable = Refuse(416, "requested range not satisfiable");
            unsatisfiable.content_range = FormatUnsatisfiedRange(size);
            return unsatisfiable;
        }
        if (decision.kind == RangeDecision::Kind::kPartial) {
            answer.status = 206;
            answer.offset = decision.range.first;
            answer.length = decision.range.length();
            answer.content_range = FormatContentRange(decision.range, size);
        }
    }
    return answer;
}

}  // namespace hvkit::repo
