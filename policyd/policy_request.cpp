// policy_request.cpp - see policy_request.hpp.
#include "policy_request.hpp"

#include <cstring>

namespace bg::policyd {

void PolicyRequest::clear() noexcept {
    for (std::string* s : {&request, &protocol_state, &recipient, &sender, &client_address, &client_name,
                           &sasl_username, &policy_context, &queue_id, &instance})
        s->clear();
    attributes = dropped_long = dropped_excess = dropped_junk = 0;
}

void RequestParser::next() noexcept {
    req_.clear();
    started_ = false;
    complete_ = false;
}

std::size_t RequestParser::feed(std::string_view in) {
    std::size_t pos = 0;
    while (pos < in.size() && !complete_) {
        started_ = true;
        const void* nl = std::memchr(in.data() + pos, '\n', in.size() - pos);
        const std::size_t end = nl ? static_cast<std::size_t>(static_cast<const char*>(nl) - in.data()) : in.size();
        const std::string_view piece = in.substr(pos, end - pos);
        if (!nl) {
            // No line end yet: keep the start of the line, unless it is already too long.
            if (!discarding_ && partial_.size() + piece.size() > limits_.max_line_bytes) {
                discarding_ = true;
                partial_.clear();
                ++req_.dropped_long;
            }
            if (!discarding_) partial_.append(piece);
            return in.size();
        }
        pos = end + 1;
        if (discarding_) {
            discarding_ = false;  // the end of the dropped line
            continue;
        }
        if (partial_.empty()) {
            line(piece);  // the common case: the whole line is in this read
        } else {
            if (partial_.size() + piece.size() > limits_.max_line_bytes) {
                ++req_.dropped_long;
                partial_.clear();
                continue;
            }
            partial_.append(piece);
            line(partial_);
            partial_.clear();
        }
    }
    return pos;
}

void RequestParser::line(std::string_view text) {
    if (!text.empty() && text.back() == '\r') text.remove_suffix(1);  // tolerate CRLF clients
    if (text.empty()) {
        complete_ = true;
        return;
    }
    if (text.size() > limits_.max_line_bytes) {
        ++req_.dropped_long;
        return;
    }
    const auto eq = text.find('=');
    if (eq == std::string_view::npos || eq == 0) {
        ++req_.dropped_junk;
        return;
    }
    if (req_.attributes >= limits_.max_attributes) {
        ++req_.dropped_excess;
        return;
    }
    ++req_.attributes;
    const std::string_view name = text.substr(0, eq);
    const std::string_view value = text.substr(eq + 1);
    std::string* field = nullptr;
    // Dispatch on the length first: most names Postfix sends are not ours.
    switch (name.size()) {
        case 6: if (name == "sender") field = &req_.sender; break;
        case 7: if (name == "request") field = &req_.request; break;
        case 8: if (name == "queue_id") field = &req_.queue_id; else if (name == "instance") field = &req_.instance; break;
        case 9: if (name == "recipient") field = &req_.recipient; break;
        case 11: if (name == "client_name") field = &req_.client_name; break;
        case 13: if (name == "sasl_username") field = &req_.sasl_username; break;
        case 14:
            if (name == "protocol_state") field = &req_.protocol_state;
            else if (name == "client_address") field = &req_.client_address;
            else if (name == "policy_context") field = &req_.policy_context;
            break;
        default: break;
    }
    if (field) field->assign(value);  // a repeated name: the last one counts
}

}  // namespace bg::policyd
