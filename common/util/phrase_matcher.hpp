// phrase_matcher.hpp - finds which of many literal phrases occur in a text, ASCII case-
// insensitively, in one pass: an Aho-Corasick automaton compiled into a dense transition table
// over byte classes.
// Why not RE2::Set for the phrases: with the ~1,000 unanchored literals of the shipped rules its
// lazily built DFA spends ~750 ns on a 110-byte reply (measured, bench/bench_classify); this
// automaton does the same scan in a fraction of that. RE2::Set still runs the few real regexes.
// SECURITY: matching is linear in the text with a fixed per-byte cost; the automaton's size is
// bounded by the total length of the phrases (operator input, checked at compile()).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "util/result.hpp"

namespace bg {

class PhraseMatcher {
public:
    // Registers a phrase; `tag` is reported when it occurs (several phrases may share a tag).
    void add(std::string_view phrase, int tag);
    // Builds the automaton. Fails when the phrases are too many/long (over max_states).
    Result<void> compile(std::size_t max_states = 1 << 20);

    // Appends to `tags` the tag of every phrase that occurs in `text` (a tag may repeat).
    void match(std::string_view text, std::vector<int>& tags) const;
    // Calls on_match(tag, end) for every occurrence; `end` is the offset just past the phrase.
    template <class F>
    void scan(std::string_view text, F&& on_match) const {
        if (next_.empty()) return;
        std::uint32_t row = 0;
        const std::uint32_t* next = next_.data();
        for (std::size_t i = 0; i < text.size(); ++i) {
            const std::uint32_t v = next[row + byte_class_[static_cast<unsigned char>(text[i])]];
            row = v & ~has_output;
            if (v & has_output) {
                const std::size_t s = row / classes_;
                for (std::uint32_t k = out_begin_[s]; k < out_begin_[s + 1]; ++k) on_match(out_[k], i + 1);
            }
        }
    }

    bool empty() const noexcept { return phrases_.empty(); }
    std::size_t states() const noexcept { return out_begin_.empty() ? 0 : out_begin_.size() - 1; }

private:
    static constexpr std::uint32_t has_output = 0x80000000u;  // flag bit in next_ values
    std::vector<std::pair<std::string, int>> phrases_;
    std::uint8_t byte_class_[256] = {};
    std::size_t classes_ = 1;
    std::vector<std::uint32_t> next_;       // row (state * classes_) + class -> next row | has_output
    std::vector<std::uint32_t> out_begin_;  // per state: [out_begin_[s], out_begin_[s+1]) in out_
    std::vector<int> out_;                  // tags ending at each state (through suffix links too)
};

}  // namespace bg
