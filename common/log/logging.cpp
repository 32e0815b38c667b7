// logging.cpp - see logging.hpp.
#include "log/logging.hpp"

#include <syslog.h>

#include <array>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/sinks/syslog_sink.h>
#include <utility>

#include "util/text.hpp"

namespace bg {

namespace {

constexpr std::array<std::pair<std::string_view, int>, 10> facilities{{
    {"mail", LOG_MAIL}, {"daemon", LOG_DAEMON}, {"local0", LOG_LOCAL0}, {"local1", LOG_LOCAL1},
    {"local2", LOG_LOCAL2}, {"local3", LOG_LOCAL3}, {"local4", LOG_LOCAL4}, {"local5", LOG_LOCAL5},
    {"local6", LOG_LOCAL6}, {"local7", LOG_LOCAL7}}};

}  // namespace

Result<std::shared_ptr<spdlog::logger>> make_logger(const LogConfig& config, std::string_view program,
                                                    bool foreground) {
    const auto level = spdlog::level::from_str(config.level);
    if (level == spdlog::level::off && config.level != "off") return Error{"log.level: unknown level " + config.level};
    std::shared_ptr<spdlog::logger> logger;
    const std::string name(program);
    try {
        if (config.target == "syslog" && !foreground) {
            int facility = -1;
            for (const auto& [n, f] : facilities)
                if (n == config.facility) facility = f;
            if (facility < 0) return Error{"log.syslog_facility: unknown facility " + config.facility};
            const std::string ident = config.ident + (program.empty() ? "" : "/" + name);
            logger = std::make_shared<spdlog::logger>(
                name, std::make_shared<spdlog::sinks::syslog_sink_mt>(ident, LOG_PID, facility, true));
            logger->set_pattern("%v");
        } else {
            logger = std::make_shared<spdlog::logger>(name, std::make_shared<spdlog::sinks::stderr_sink_mt>());
            logger->set_pattern("%Y-%m-%dT%H:%M:%S%z %n[%P]: %l: %v");
        }
    } catch (const spdlog::spdlog_ex& e) {
        return Error{std::string("cannot set up logging: ") + e.what()};
    }
    logger->set_level(level);
    logger->flush_on(spdlog::level::warn);
    return logger;
}

std::string log_value(std::string_view untrusted, std::size_t max) {
    std::string v = text::valid_utf8(text::clip(text::printable(untrusted), max));
    if (v.empty()) return "\"\"";
    const bool quote = v.find_first_of(" \"=") != std::string::npos;
    if (!quote) return v;
    std::string out = "\"";
    for (char c : v) {
        if (c == '"' || c == '\\') out.push_back('\\');
        out.push_back(c);
    }
    out.push_back('"');
    return out;
}

}  // namespace bg
