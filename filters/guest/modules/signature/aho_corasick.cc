#include "aho_corasick.h"

#include <deque>

namespace hvkit::filters {

Result<AhoCorasick> AhoCorasick::Build(const std::vector<std::string>& patterns) {
    AhoCorasick automaton;
    automaton.pattern_count_ = patterns.size();
    automaton.transitions_.assign(256, 0);
    automaton.terminal_.emplace_back();

    // The trie. State 0 is the root, so 0 also means "no child yet".
    for (size_t id = 0; id < patterns.size(); ++id) {
        const std::string& pattern = patterns[id];
        if (pattern.empty()) {
            return Error(ErrorCode::kInvalidArgument,
                         "pattern " + std::to_string(id) + " is empty and would match everywhere");
        }
        uint32_t state = 0;
        for (unsigned char byte : pattern) {
            size_t slot = static_cast<size_t>(state) * 256 + byte;
            if (automaton.transitions_[slot] == 0) {
                if (automaton.terminal_.size() >= kMaxStates) {
                    return Error(ErrorCode::kTooLarge,
                                 "the patterns need more than " + std::to_string(kMaxStates) +
                                     " automaton states; use fewer or shorter patterns");
                }
                automaton.transitions_[slot] = static_cast<uint32_t>(automaton.terminal_.size());
                automaton.terminal_.emplace_back();
                automaton.transitions_.resize(automaton.transitions_.size() + 256, 0);
            }
            state = automaton.transitions_[slot];
        }
        automaton.terminal_[state].push_back(static_cast<uint32_t>(id));
    }

    // Failure links in breadth-first order, folded into the table: a missing
    // transition takes the one of the longest proper suffix that is a state.
    // When a state is dequeued its row holds only trie children; the rows of
    // shallower states (its failure state's included) are already complete.
    std::vector<uint32_t> failure(automaton.terminal_.size(), 0);
    automaton.output_link_.assign(automaton.terminal_.size(), kNoState);
    std::deque<uint32_t> queue;
    for (unsigned byte = 0; byte < 256; ++byte) {
        if (uint32_t child = automaton.transitions_[byte]; child != 0) queue.push_back(child);
    }
    while (!queue.empty()) {
        uint32_t state = queue.front();
        queue.pop_front();
        for (unsigned byte = 0; byte < 256; ++byte) {
            size_t slot = static_cast<size_t>(state) * 256 + byte;
            uint32_t fallback = automaton.Next(failure[state], static_cast<uint8_t>(byte));
            uint32_t child = automaton.transitions_[slot];
            if (child == 0) {
                automaton.transitions_[slot] = fallback;
                continue;
            }
            failure[child] = fallback;
            automaton.output_link_[child] =
                automaton.terminal_[fallback].empty() ? automaton.output_link_[fallback] : fallback;
            queue.push_back(child);
        }
    }
    return automaton;
}

std::optional<PatternMatch> AhoCorasick::FindFirst(std::span<const uint8_t> text) const {
    std::optional<PatternMatch> first;
    Scan(text, [&](const PatternMatch& match) {
        first = match;
        return false;
    });
    return first;
}

}  // namespace hvkit::filters
