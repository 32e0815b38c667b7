// records.cpp - the names of event sources, as stored and as the CLI prints them.
#include "store/records.hpp"

#include <array>
#include <utility>

namespace bg {

namespace {
constexpr std::array<std::pair<EventSource, std::string_view>, 5> sources{{
    {EventSource::DsnInternal, "dsn-internal"},
    {EventSource::DsnRemote, "dsn-remote"},
    {EventSource::Maillog, "maillog"},
    {EventSource::Manual, "manual"},
    {EventSource::Import, "import"},
}};
}  // namespace

std::string_view to_string(EventSource s) noexcept {
    for (const auto& [src, name] : sources)
        if (src == s) return name;
    return "unknown";
}

std::optional<EventSource> parse_event_source(std::string_view s) noexcept {
    for (const auto& [src, name] : sources)
        if (name == s) return src;
    return std::nullopt;
}

}  // namespace bg
