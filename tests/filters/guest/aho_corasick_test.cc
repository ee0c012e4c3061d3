// The Aho–Corasick matcher against the obvious quadratic search, on fixed
// tricky pattern sets and on random ones over small alphabets, where
// overlaps, shared prefixes and suffix relations are the rule.
#include "aho_corasick.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

namespace hvkit::filters {
namespace {

std::span<const uint8_t> Bytes(const std::string& s) {
    return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// Every (pattern, end) pair, by direct comparison at every offset.
std::vector<PatternMatch> NaiveMatches(const std::vector<std::string>& patterns,
                                       const std::string& text) {
    std::vector<PatternMatch> matches;
    for (size_t id = 0; id < patterns.size(); ++id) {
        const std::string& p = patterns[id];
        for (size_t start = 0; start + p.size() <= text.size(); ++start) {
            if (text.compare(start, p.size(), p) == 0) matches.push_back({id, start + p.size()});
        }
    }
    return matches;
}

std::vector<PatternMatch> AllMatches(const AhoCorasick& automaton, const std::string& text) {
    std::vector<PatternMatch> matches;
    automaton.Scan(Bytes(text), [&](const PatternMatch& m) {
        matches.push_back(m);
        return true;
    });
    return matches;
}

void Sort(std::vector<PatternMatch>& matches) {
    std::sort(matches.begin(), matches.end(), [](const PatternMatch& a, const PatternMatch& b) {
        return std::tie(a.end, a.pattern) < std::tie(b.end, b.pattern);
    });
}

void ExpectSameAsNaive(const std::vector<std::string>& patterns, const std::string& text) {
    Result<AhoCorasick> automaton = AhoCorasick::Build(patterns);
    ASSERT_TRUE(automaton.ok()) << automaton.status().message();
    std::vector<PatternMatch> expected = NaiveMatches(patterns, text);
    std::vector<PatternMatch> actual = AllMatches(*automaton, text);
    // Scan reports in order of end offset.
    for (size_t i = 1; i < actual.size(); ++i) ASSERT_LE(actual[i - 1].end, actual[i].end);
    Sort(expected);
    Sort(actual);
    ASSERT_EQ(actual, expected);
    std::optional<PatternMatch> first = automaton->FindFirst(Bytes(text));
    if (expected.empty()) {
        EXPECT_FALSE(first.has_value());
    } else {
        ASSERT_TRUE(first.has_value());
        EXPECT_EQ(first->end, expected.front().end);
    }
}

TEST(AhoCorasickTest, ClassicExampleFindsOverlapsAndSuffixes) {
    std::vector<std::string> patterns = {"he", "she", "his", "hers"};
    Result<AhoCorasick> automaton = AhoCorasick::Build(patterns);
    ASSERT_TRUE(automaton.ok());
    std::vector<PatternMatch> matches = AllMatches(*automaton, "ushers");
    // "she" and "he" both end at 4 (longest first), "hers" at 6.
    std::vector<PatternMatch> expected = {{1, 4}, {0, 4}, {3, 6}};
    EXPECT_EQ(matches, expected);
}

TEST(AhoCorasickTest, PrefixesSuffixesAndRepeatsAllReported) {
    ExpectSameAsNaive({"a", "aa", "aaa", "aaaa"}, "aaaaaaa");
    ExpectSameAsNaive({"abcd", "bcd", "cd", "d", "abc", "ab"}, "xabcdabcdx");
    ExpectSameAsNaive({"aba", "bab", "abab"}, "abababababa");
    ExpectSameAsNaive({"same", "same", "am"}, "samesame");  // duplicates keep both ids
}

TEST(AhoCorasickTest, BinaryBytesIncludingZeroAndHighBytes) {
    std::string zero(1, '\0');
    std::vector<std::string> patterns = {zero + zero, std::string("\xff\x00\xff", 3), "\x80\x81",
                                         std::string("\x00\x80", 2)};
    std::string text = std::string("\x00\x00\x00\xff\x00\xff\x80\x81\x00\x80", 10);
    ExpectSameAsNaive(patterns, text);
}

TEST(AhoCorasickTest, NoMatchAndEmptyText) {
    ExpectSameAsNaive({"needle"}, "haystack without it");
    ExpectSameAsNaive({"x"}, "");
}

TEST(AhoCorasickTest, RandomPatternSetsAgreeWithNaiveSearch) {
    std::mt19937 rng(20261121);
    for (int round = 0; round < 400; ++round) {
        // Small alphabets force overlaps; the full byte range covers binary input.
        int alphabet = round % 4 == 3 ? 256 : 2 + round % 3;
        auto random_string = [&](size_t max_len, size_t min_len) {
            std::uniform_int_distribution<size_t> len(min_len, max_len);
            std::uniform_int_distribution<int> byte(0, alphabet - 1);
            std::string s(len(rng), '\0');
            for (char& c : s) c = static_cast<char>(alphabet == 256 ? byte(rng) : 'a' + byte(rng));
            return s;
        };
        std::vector<std::string> patterns;
        size_t count = 1 + rng() % 12;
        for (size_t i = 0; i < count; ++i) {
            if (!patterns.empty() && rng() % 3 == 0) {
                // A prefix or suffix of an earlier pattern.
                const std::string& base = patterns[rng() % patterns.size()];
                size_t cut = 1 + rng() % base.size();
                patterns.push_back(rng() % 2 ? base.substr(0, cut)
                                             : base.substr(base.size() - cut));
            } else {
                patterns.push_back(random_string(6, 1));
            }
        }
        std::string text = random_string(300, 0);
        SCOPED_TRACE("round " + std::to_string(round));
        ExpectSameAsNaive(patterns, text);
        if (HasFatalFailure()) return;
    }
}

TEST(AhoCorasickTest, ScanStopsWhenTheCallbackSaysSo) {
    Result<AhoCorasick> automaton = AhoCorasick::Build({"a"});
    ASSERT_TRUE(automaton.ok());
    int calls = 0;
    automaton->Scan(Bytes("aaaa"), [&](const PatternMatch&) { return ++calls < 2; });
    EXPECT_EQ(calls, 2);
}

TEST(AhoCorasickTest, RefusesEmptyPatternAndTooManyStates) {
    Result<AhoCorasick> empty = AhoCorasick::Build({"ok", ""});
    ASSERT_FALSE(empty.ok());
    EXPECT_NE(empty.status().message().find("pattern 1 is empty"), std::string::npos);

    Result<AhoCorasick> huge = AhoCorasick::Build({std::string(AhoCorasick::kMaxStates, 'a')});
    ASSERT_FALSE(huge.ok());
    EXPECT_EQ(huge.status().code(), ErrorCode::kTooLarge);
}

}  // namespace
}  // namespace hvkit::filters
