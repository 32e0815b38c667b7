// logging.hpp - spdlog setup for every program: stderr, or syslog with the mail facility, one
// `event key=value` line per decision. No global registry: each program owns its logger.
// SECURITY: values from outside pass through log_value() (printable, clipped) before logging.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <spdlog/logger.h>

#include "config/config.hpp"
#include "util/result.hpp"

namespace bg {

// `program` is appended to the syslog ident ("bounceguard/policyd"); foreground forces stderr.
Result<std::shared_ptr<spdlog::logger>> make_logger(const LogConfig& config, std::string_view program,
                                                    bool foreground);

// Untrusted text made safe for a log line: control bytes folded, clipped to max bytes,
// quoted when it has spaces. "a b" => "\"a b\"".
std::string log_value(std::string_view untrusted, std::size_t max = 200);

}  // namespace bg
