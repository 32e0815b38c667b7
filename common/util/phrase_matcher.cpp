// phrase_matcher.cpp - see phrase_matcher.hpp. Classic Aho-Corasick: a trie of the lower-cased
// phrases, failure links by breadth-first search, then every missing transition filled in from
// the failure state so that matching is one table lookup per byte.
#include "util/phrase_matcher.hpp"

#include <algorithm>
#include <map>
#include <queue>

#include "util/text.hpp"

namespace bg {

void PhraseMatcher::add(std::string_view phrase, int tag) { phrases_.emplace_back(text::to_lower(phrase), tag); }

Result<void> PhraseMatcher::compile(std::size_t max_states) {
    // Byte classes: one per distinct (lower-cased) byte used by a phrase, 0 for all others.
    std::fill(std::begin(byte_class_), std::end(byte_class_), std::uint8_t{0});
    classes_ = 1;
    for (const auto& [p, tag] : phrases_) {
        for (const char c : p) {
            auto& cls = byte_class_[static_cast<unsigned char>(c)];
            if (cls == 0) {
                if (classes_ == 255) return Error{"rules: phrases use too many distinct bytes"};
                cls = static_cast<std::uint8_t>(classes_++);
            }
        }
    }
    for (int c = 'A'; c <= 'Z'; ++c) byte_class_[c] = byte_class_[c - 'A' + 'a'];

    // The trie, with sparse edges while building.
    std::vector<std::map<std::uint8_t, std::uint32_t>> edges(1);
    std::vector<std::vector<int>> tags(1);
    for (const auto& [p, tag] : phrases_) {
        std::uint32_t s = 0;
        for (const char c : p) {
            const std::uint8_t cls = byte_class_[static_cast<unsigned char>(c)];
            auto it = edges[s].find(cls);
            if (it == edges[s].end()) {
                if (edges.size() >= max_states) return Error{"rules: the phrases are too many or too long"};
                it = edges[s].emplace(cls, static_cast<std::uint32_t>(edges.size())).first;
                edges.emplace_back();
                tags.emplace_back();
            }
            s = it->second;
        }
        tags[s].push_back(tag);
    }

    // Breadth-first: failure links, dense transitions, and outputs merged along failure links.
    const std::size_t n = edges.size();
    if (n * classes_ >= has_output) return Error{"rules: the phrases are too many or too long"};
    next_.assign(n * classes_, 0);
    std::vector<std::uint32_t> fail(n, 0);
    std::queue<std::uint32_t> queue;
    for (const auto& [cls, child] : edges[0]) {
        next_[cls] = child;
        queue.push(child);
    }
    while (!queue.empty()) {
        const std::uint32_t s = queue.front();
        queue.pop();
        const auto& f_tags = tags[fail[s]];
        tags[s].insert(tags[s].end(), f_tags.begin(), f_tags.end());
        for (std::size_t cls = 0; cls < classes_; ++cls) {
            const auto it = edges[s].find(static_cast<std::uint8_t>(cls));
            if (it == edges[s].end()) {
                next_[s * classes_ + cls] = next_[fail[s] * classes_ + cls];
            } else {
                fail[it->second] = next_[fail[s] * classes_ + cls];
                next_[s * classes_ + cls] = it->second;
                queue.push(it->second);
            }
        }
    }
    out_begin_.assign(n + 1, 0);
    out_.clear();
    for (std::size_t s = 0; s < n; ++s) {
        auto& t = tags[s];
        std::sort(t.begin(), t.end());
        t.erase(std::unique(t.begin(), t.end()), t.end());
        out_begin_[s] = static_cast<std::uint32_t>(out_.size());
        out_.insert(out_.end(), t.begin(), t.end());
    }
    out_begin_[n] = static_cast<std::uint32_t>(out_.size());
    // Pre-multiply the targets into row offsets and flag the states that have output, so that
    // the matching loop is one load per byte (no multiply, no second table on the hot path).
    for (auto& t : next_)
        t = t * static_cast<std::uint32_t>(classes_) | (out_begin_[t] != out_begin_[t + 1] ? has_output : 0);
    return Ok{};
}

void PhraseMatcher::match(std::string_view text, std::vector<int>& tags) const {
    scan(text, [&](int tag, std::size_t) { tags.push_back(tag); });
}

}  // namespace bg
