// message_walker.hpp - walks the message files an operator names: single files, maildir
// folders (new/ and cur/), plain folders of messages (recursively, bounded depth) and mbox files
// (mboxrd "From " quoting undone). Shared by `bounceguard parse` and `bounceguard ingest`.
// SECURITY: each message is capped at max_bytes (+1 so the parser can tell it was cut); folder
// depth is bounded; a file that cannot be read is reported and the walk goes on.
#pragma once

#include <functional>
#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

namespace bg::cli {

// Called once per message: the file, its index in an mbox (0 for a single file), the raw text.
// Returns false when the message could not be handled (the walk goes on; the result is false).
using MessageFn = std::function<bool(const std::string& file, long index, std::string_view raw)>;

// True when every path and message was read and handled. Errors go to err as
// "bounceguard: COMMAND: PATH: reason".
bool walk_messages(const std::vector<std::string>& paths, std::size_t max_bytes, std::string_view command,
                   std::ostream& err, const MessageFn& each);

}  // namespace bg::cli
