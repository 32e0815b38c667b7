// ses_notification.hpp - Amazon SES event notifications (Bounce, Complaint, Delivery) as they
// arrive by mail through SNS: a JSON document (often a JSON string inside another JSON
// document) in a text body. Only the fields bounceguard needs are read, by a small scanner.
// SECURITY: untrusted text; the scanner is linear, never recurses, and caps records and values.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "dsn/bounce_parser.hpp"

namespace bg::dsn {

struct SesNotification {
    BounceKind kind = BounceKind::Dsn;  // Dsn (bounce or delivery) or Feedback (complaint)
    std::vector<BounceRecord> records;
};

// nullopt when the text is not an SES notification.
std::optional<SesNotification> parse_ses_notification(std::string_view text, const BounceLimits& limits);

}  // namespace bg::dsn
