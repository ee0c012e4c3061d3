// Aho–Corasick multi-pattern matching: finds every occurrence of every pattern
// in one pass over the text, overlapping ones included, in time linear in the
// text plus the matches.
//
// The automaton is a full transition table (256 entries per state), so each
// text byte costs one table lookup; the price is 1 KiB per state, which is why
// Build() caps the number of states (about the patterns' total length).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "hvkit/status.h"

namespace hvkit::filters {

// One occurrence: pattern (pattern) ends just before text offset (end).
struct PatternMatch {
    size_t pattern = 0;
    size_t end = 0;
    bool operator==(const PatternMatch&) const = default;
};

class AhoCorasick {
  public:
    // The state cap: 65536 states, a 64 MiB table at most.
    static constexpr size_t kMaxStates = 1 << 16;

    // Builds the automaton for (patterns), byte strings numbered by position.
    // Refuses an empty pattern or patterns needing more than kMaxStates states.
    static Result<AhoCorasick> Build(const std::vector<std::string>& patterns);

    // Calls (on_match)(PatternMatch) for every occurrence in (text), in order
    // of end offset (patterns ending at the same offset: longest first); stops
    // early when it returns false.
    template <typename OnMatch>
    void Scan(std::span<const uint8_t> text, OnMatch&& on_match) const;

    // The occurrence that ends first in (text), if any.
    std::optional<PatternMatch> FindFirst(std::span<const uint8_t> text) const;

    size_t pattern_count() const { return pattern_count_; }
    size_t state_count() const { return terminal_.size(); }

  private:
    static constexpr uint32_t kNoState = UINT32_MAX;

    AhoCorasick() = default;
    uint32_t Next(uint32_t state, uint8_t byte) const {
        return transitions_[static_cast<size_t>(state) * 256 + byte];
    }

    size_t pattern_count_ = 0;
    std::vector<uint32_t> transitions_;  // state * 256 + byte -> state
    // The patterns that end exactly at each state (a pattern may repeat).
    std::vector<std::vector<uint32_t>> terminal_;
    // The nearest state on the failure chain that ends a pattern, or kNoState.
    std::vector<uint32_t> output_link_;
};

template <typename OnMatch>
void AhoCorasick::Scan(std::span<const uint8_t> text, OnMatch&& on_match) const {
    uint32_t state = 0;
    for (size_t i = 0; i < text.size(); ++i) {
        state = Next(state, text[i]);
        for (uint32_t s = terminal_[state].empty() ? output_link_[state] : state; s != kNoState;
             s = output_link_[s]) {
            for (uint32_t pattern : terminal_[s]) {
                if (!on_match(PatternMatch{pattern, i + 1})) return;
            }
        }
    }
}

}  // namespace hvkit::filters
