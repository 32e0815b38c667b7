// line_reader.cpp - see line_reader.hpp.
#include "line_reader.hpp"

namespace bg::cli {

bool LineReader::next(std::string& line, bool& truncated) {
    line.clear();
    truncated = false;
    auto* buf = in_.rdbuf();
    bool any = false;
    for (;;) {
        const int c = buf->sbumpc();
        if (c == std::char_traits<char>::eof()) {
            in_.setstate(std::ios::eofbit);
            return any;
        }
        any = true;
        if (c == '\n') return true;
        if (line.size() < max_) line.push_back(static_cast<char>(c));
        else truncated = true;
    }
}

}  // namespace bg::cli
