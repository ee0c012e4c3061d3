// Cutting one client's byte stream into request lines, with the line cap.
#include "control/control.h"

namespace hvkit::hvmm {

std::vector<ControlLineBuffer::Line> ControlLineBuffer::Feed(std::string_view bytes) {
    std::vector<Line> lines;
    while (!bytes.empty()) {
        size_t nl = bytes.find('\n');
        std::string_view piece = bytes.substr(0, nl);
        if (skipping_) {
            // The rest of an overlong line: dropped up to its newline.
        } else if (partial_.size() + piece.size() > kMaxControlLine) {
            lines.push_back({.too_long = true, .text = {}});
            partial_.clear();
            skipping_ = true;
        } else {
            partial_.append(piece);
        }
        if (nl == std::string_view::npos) break;
        if (!skipping_) lines.push_back({.too_long = false, .text = std::move(partial_)});
        partial_.clear();
        skipping_ = false;
        bytes.remove_prefix(nl + 1);
    }
    return lines;
}

}  // namespace hvkit::hvmm
