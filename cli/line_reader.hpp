// line_reader.hpp - reads lines of untrusted input with a cap: a longer line is cut at the cap
// and the rest of it is skipped, so one huge line cannot exhaust memory.
#pragma once

#include <cstddef>
#include <istream>
#include <string>

namespace bg::cli {

class LineReader {
public:
    LineReader(std::istream& in, std::size_t max_line) : in_(in), max_(max_line) {}
    // False at end of input. `truncated` tells whether the line was longer than the cap.
    bool next(std::string& line, bool& truncated);

private:
    std::istream& in_;
    std::size_t max_;
};

}  // namespace bg::cli
