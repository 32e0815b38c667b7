// log_follower.hpp - follows a growing log file like `tail -F`, through rotation, and keeps a
// position that survives a restart: the file's device and inode, the offset after the last
// complete line handed out, and a hash of the bytes before that offset (so a file truncated
// and refilled to the same length is not mistaken for the old one).
//   - rename rotation (logrotate's default, newsyslog): the old file is read to its end, and for
//     a grace period after the switch whatever a writer still appends to it; then the new file
//     is read from its beginning;
//   - copytruncate: the file shrinks below the offset (or the bytes before the offset change):
//     it is read again from the beginning;
//   - restart: reading resumes at the saved offset when the path still names the saved file; if
//     the file was renamed meanwhile, the renamed file is found in the same directory by its
//     inode, read from the saved offset to its end, and then the new file from its beginning.
// A line is handed out only once it is complete (ends in a newline); a partial last line waits,
// except at the end of a rotated file. Lines longer than max_line are cut (the rest skipped).
// LIMITATION: with copytruncate, lines written between the copy and the truncation are lost (a
// property of copytruncate); a renamed file that was also compressed cannot be found again.
// SECURITY: the log is written by the MTA (trusted) but its content is remote text: lines are
// capped; the state file is written atomically (temporary file, fsync, rename).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "util/result.hpp"

namespace bg::maillog {

struct FollowPosition {
    std::uint64_t device = 0;
    std::uint64_t inode = 0;
    std::uint64_t offset = 0;     // after the last complete line handed out
    std::uint64_t tail_hash = 0;  // FNV-1a of the (up to) 4096 bytes before offset

    bool operator==(const FollowPosition&) const = default;
};

// "bounceguard-log-position 1 DEV INO OFFSET HASH\n". nullopt when the file does not exist.
Result<std::optional<FollowPosition>> load_position(const std::string& path);
Result<void> save_position(const std::string& path, const FollowPosition& p);

class LogFollower {
public:
    using LineFn = std::function<void(std::string_view line, bool truncated)>;

    // Opens `path` (which may not exist yet: it is waited for) and places the reading position
    // as the header says.
    static Result<std::unique_ptr<LogFollower>> open(const std::string& path, std::optional<FollowPosition> saved,
                                                     std::size_t max_line, int rename_grace_ms = 5000);
    ~LogFollower();
    LogFollower(const LogFollower&) = delete;
    LogFollower& operator=(const LogFollower&) = delete;

    // Hands out the complete lines available now (at most max_lines), noticing rotation first.
    // Returns how many lines were handed out.
    Result<std::size_t> poll(const LineFn& on_line, std::size_t max_lines = 10000);

    // The position to save once the lines handed out so far are processed.
    FollowPosition position() const;
    std::uint64_t rotations() const noexcept { return rotations_; }

private:
    struct Source;
    explicit LogFollower(std::string path, std::size_t max_line, int grace_ms);
    Result<void> reopen_current(bool from_start);
    std::size_t drain(Source& s, const LineFn& on_line, std::size_t max_lines, bool at_end_flush);

    std::string path_;
    std::size_t max_line_;
    int grace_ms_;
    std::unique_ptr<Source> cur_;
    std::unique_ptr<Source> old_;      // a rotated file still being read
    std::int64_t old_deadline_ms_ = 0;
    std::uint64_t rotations_ = 0;
};

// FNV-1a 64 of bytes (the position's tail hash).
std::uint64_t fnv1a(std::string_view bytes) noexcept;

}  // namespace bg::maillog
