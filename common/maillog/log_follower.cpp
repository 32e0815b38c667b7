// log_follower.cpp - see log_follower.hpp.
#include "maillog/log_follower.hpp"

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace bg::maillog {

namespace {

constexpr std::size_t tail_bytes = 4096;  // several lines: log lines may end alike
constexpr std::size_t read_chunk = 64 * 1024;

std::int64_t now_ms() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

std::string errno_text() { return std::strerror(errno); }

// The hash of the (up to) tail_bytes bytes before `offset`, or nullopt if they cannot be read.
std::optional<std::uint64_t> tail_hash(int fd, std::uint64_t offset) {
    const std::size_t k = static_cast<std::size_t>(std::min<std::uint64_t>(offset, tail_bytes));
    char buf[tail_bytes];
    std::size_t got = 0;
    while (got < k) {
        const ssize_t n = ::pread(fd, buf + got, k - got, static_cast<off_t>(offset - k + got));
        if (n <= 0) return std::nullopt;
        got += static_cast<std::size_t>(n);
    }
    return fnv1a(std::string_view(buf, k));
}

bool matches(int fd, const FollowPosition& p) {
    struct stat st{};
    if (::fstat(fd, &st) != 0 || static_cast<std::uint64_t>(st.st_size) < p.offset) return false;
    const auto h = tail_hash(fd, p.offset);
    return h && *h == p.tail_hash;
}

std::string dir_of(const std::string& path) {
    const auto slash = path.rfind('/');
    if (slash == std::string::npos) return ".";
    return slash == 0 ? "/" : path.substr(0, slash);
}

// A file in `dir` with this device and inode (the log renamed by rotation), or "".
std::string find_by_inode(const std::string& dir, std::uint64_t dev, std::uint64_t ino) {
    DIR* d = ::opendir(dir.c_str());
    if (!d) return "";
    std::string found;
    int seen = 0;
    while (const dirent* e = ::readdir(d)) {
        if (++seen > 10000) break;  // a log directory, not a spool: bounded
        if (e->d_ino != ino) continue;
        const std::string p = dir + "/" + e->d_name;
        struct stat st{};
        if (::stat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode) && static_cast<std::uint64_t>(st.st_dev) == dev &&
            static_cast<std::uint64_t>(st.st_ino) == ino) {
            found = p;
            break;
        }
    }
    ::closedir(d);
    return found;
}

}  // namespace

std::uint64_t fnv1a(std::string_view bytes) noexcept {
    std::uint64_t h = 14695981039346656037ull;
    for (unsigned char c : bytes) {
        h ^= c;
        h *= 1099511628211ull;
    }
    return h;
}

struct LogFollower::Source {
    int fd = -1;
    std::uint64_t dev = 0, ino = 0;
    std::uint64_t read_pos = 0;      // next byte to read
    std::uint64_t offset = 0;        // after the last complete line handed out
    std::string partial;             // the incomplete line read so far (at most max_line bytes)
    bool partial_cut = false;        // the incomplete line was longer than max_line
    std::uint64_t checked_offset = 0, checked_hash = 0;  // to notice a truncate-and-refill
    // The last bytes read (ending at read_pos), so the position's hash is of the bytes as they
    // were read: a file truncated and refilled between the read and the save is still noticed.
    std::string tail;

    ~Source() {
        if (fd >= 0) ::close(fd);
    }
    static std::unique_ptr<Source> open_file(const std::string& path) {
        const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) return nullptr;
        auto s = std::make_unique<Source>();
        s->fd = fd;
        struct stat st{};
        if (::fstat(fd, &st) == 0) {
            s->dev = static_cast<std::uint64_t>(st.st_dev);
            s->ino = static_cast<std::uint64_t>(st.st_ino);
        }
        return s;
    }
    void seek(std::uint64_t at) {
        read_pos = offset = at;
        partial.clear();
        partial_cut = false;
        checked_offset = checked_hash = 0;
        tail.clear();
    }
    // Keeps `tail` ending at read_pos after `n` more bytes were read into `bytes`.
    void keep_tail(std::string_view bytes, std::size_t keep) {
        tail.append(bytes);
        if (tail.size() > 2 * keep) tail.erase(0, tail.size() - keep);
    }
    // The hash of the (up to) tail_bytes bytes before offset, from what was read when possible.
    std::optional<std::uint64_t> hash_at_offset() const {
        const std::size_t need = static_cast<std::size_t>(std::min<std::uint64_t>(offset, tail_bytes));
        const std::uint64_t back = read_pos - offset;
        if (tail.size() >= back + need)
            return fnv1a(std::string_view(tail).substr(tail.size() - static_cast<std::size_t>(back) - need, need));
        return tail_hash(fd, offset);
    }
};

LogFollower::LogFollower(std::string path, std::size_t max_line, int grace_ms)
    : path_(std::move(path)), max_line_(max_line ? max_line : 1), grace_ms_(grace_ms) {}

LogFollower::~LogFollower() = default;

Result<std::unique_ptr<LogFollower>> LogFollower::open(const std::string& path, std::optional<FollowPosition> saved,
                                                       std::size_t max_line, int rename_grace_ms) {
    std::unique_ptr<LogFollower> f(new LogFollower(path, max_line, rename_grace_ms));
    f->cur_ = Source::open_file(path);
    if (!f->cur_ && errno != ENOENT)
        return Error{path + ": " + errno_text()};
    if (!saved) return f;
    if (f->cur_ && f->cur_->dev == saved->device && f->cur_->ino == saved->inode) {
        if (matches(f->cur_->fd, *saved)) f->cur_->seek(saved->offset);
        return f;
    }
    // The saved file was rotated while we were not running: read the rest of it first.
    const std::string renamed = find_by_inode(dir_of(path), saved->device, saved->inode);
    if (renamed.empty()) return f;
    auto old = Source::open_file(renamed);
    if (old && old->dev == saved->device && old->ino == saved->inode && matches(old->fd, *saved)) {
        old->seek(saved->offset);
        f->old_ = std::move(old);
        f->old_deadline_ms_ = now_ms() + rename_grace_ms;
    }
    return f;
}

std::size_t LogFollower::drain(Source& s, const LineFn& on_line, std::size_t max_lines, bool at_end_flush) {
    std::size_t lines = 0;
    std::string buf(read_chunk, '\0');
    while (lines < max_lines) {
        const ssize_t n = ::pread(s.fd, buf.data(), buf.size(), static_cast<off_t>(s.read_pos));
        if (n <= 0) break;
        const std::string_view chunk(buf.data(), static_cast<std::size_t>(n));
        s.keep_tail(chunk, tail_bytes + max_line_ + 1);
        std::size_t start = 0;
        while (start < chunk.size()) {
            const auto nl = chunk.find('\n', start);
            const std::string_view seg = chunk.substr(start, nl == std::string_view::npos ? nl : nl - start);
            const std::size_t room = max_line_ - std::min(max_line_, s.partial.size());
            if (nl == std::string_view::npos) {
                s.partial.append(seg.substr(0, room));
                s.partial_cut = s.partial_cut || seg.size() > room;
                start = chunk.size();
                break;
            }
            if (s.partial.empty() && !s.partial_cut) {
                const bool cut = seg.size() > max_line_;
                on_line(seg.substr(0, max_line_), cut);
            } else {
                s.partial.append(seg.substr(0, room));
                on_line(s.partial, s.partial_cut || seg.size() > room);
                s.partial.clear();
                s.partial_cut = false;
            }
            s.offset = s.read_pos + nl + 1;
            start = nl + 1;
            if (++lines >= max_lines) break;
        }
        if (start < chunk.size() || lines >= max_lines) {
            // Stopped early: continue after the last complete line next time.
            const std::uint64_t unread = s.read_pos + static_cast<std::uint64_t>(n) - s.offset;
            if (s.tail.size() >= unread) s.tail.resize(s.tail.size() - static_cast<std::size_t>(unread));
            else s.tail.clear();
            s.read_pos = s.offset;
            s.partial.clear();
            s.partial_cut = false;
            return lines;
        }
        s.read_pos += static_cast<std::uint64_t>(n);
    }
    if (at_end_flush && (!s.partial.empty() || s.partial_cut)) {
        on_line(s.partial, s.partial_cut);
        s.partial.clear();
        s.partial_cut = false;
        s.offset = s.read_pos;
        ++lines;
    }
    return lines;
}

Result<std::size_t> LogFollower::poll(const LineFn& on_line, std::size_t max_lines) {
    std::size_t lines = 0;
    if (old_) {
        const bool done = now_ms() >= old_deadline_ms_;
        lines += drain(*old_, on_line, max_lines, done);
        if (done && lines < max_lines) old_.reset();
        if (lines >= max_lines) return lines;
    }
    if (!cur_) {
        cur_ = Source::open_file(path_);
        if (!cur_) {
            if (errno == ENOENT) return lines;
            return Error{path_ + ": " + errno_text()};
        }
    }
    struct stat st{};
    if (::stat(path_.c_str(), &st) != 0) {
        if (errno != ENOENT) return Error{path_ + ": " + errno_text()};
        // Renamed away and not re-created yet: keep reading what we have.
        return lines + drain(*cur_, on_line, max_lines - lines, false);
    }
    if (static_cast<std::uint64_t>(st.st_ino) != cur_->ino || static_cast<std::uint64_t>(st.st_dev) != cur_->dev) {
        // Rename rotation: finish the old file (a writer may still append to it for a while).
        lines += drain(*cur_, on_line, max_lines - lines, grace_ms_ <= 0);
        if (lines >= max_lines) return lines;
        if (old_) drain(*old_, on_line, SIZE_MAX, true);  // a second rotation within the grace period
        old_ = std::move(cur_);
        old_deadline_ms_ = now_ms() + grace_ms_;
        if (grace_ms_ <= 0) old_.reset();
        ++rotations_;
        cur_ = Source::open_file(path_);
        if (!cur_) return lines;
    }
    struct stat cst{};
    if (::fstat(cur_->fd, &cst) != 0) return Error{path_ + ": " + errno_text()};
    bool truncated = static_cast<std::uint64_t>(cst.st_size) < cur_->read_pos;
    if (!truncated && cur_->checked_offset > 0 && cur_->checked_offset <= cur_->offset) {
        const auto h = tail_hash(cur_->fd, cur_->checked_offset);
        truncated = !h || *h != cur_->checked_hash;
    }
    if (truncated) {
        // copytruncate (or the file rewritten in place): read it again from its beginning.
        cur_->seek(0);
        ++rotations_;
    }
    return lines + drain(*cur_, on_line, max_lines - lines, false);
}

FollowPosition LogFollower::position() const {
    FollowPosition p;
    if (!cur_) return p;
    p.device = cur_->dev;
    p.inode = cur_->ino;
    p.offset = cur_->offset;
    if (auto h = cur_->hash_at_offset()) {
        p.tail_hash = *h;
        cur_->checked_offset = p.offset;
        cur_->checked_hash = *h;
    }
    return p;
}

Result<std::optional<FollowPosition>> load_position(const std::string& path) {
    FILE* f = std::fopen(path.c_str(), "re");
    if (!f) {
        if (errno == ENOENT) return std::optional<FollowPosition>();
        return Error{path + ": " + errno_text()};
    }
    char buf[256] = {};
    const std::size_t n = std::fread(buf, 1, sizeof buf - 1, f);
    std::fclose(f);
    FollowPosition p;
    unsigned long long dev, ino, off, hash;
    int version = 0;
    if (n == 0 || std::sscanf(buf, "bounceguard-log-position %d %llu %llu %llu %llx", &version, &dev, &ino, &off,
                              &hash) != 5 || version != 1)
        return Error{path + ": not a position file this version writes; remove it to start over"};
    p.device = dev;
    p.inode = ino;
    p.offset = off;
    p.tail_hash = hash;
    return std::optional<FollowPosition>(p);
}

Result<void> save_position(const std::string& path, const FollowPosition& p) {
    const std::string tmp = path + ".tmp";
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0) return Error{tmp + ": " + errno_text()};
    char buf[160];
    const int len = std::snprintf(buf, sizeof buf, "bounceguard-log-position 1 %llu %llu %llu %016llx\n",
                                  static_cast<unsigned long long>(p.device), static_cast<unsigned long long>(p.inode),
                                  static_cast<unsigned long long>(p.offset),
                                  static_cast<unsigned long long>(p.tail_hash));
    const bool ok = ::write(fd, buf, static_cast<std::size_t>(len)) == len && ::fsync(fd) == 0;
    const int saved_errno = errno;
    ::close(fd);
    if (!ok) {
        errno = saved_errno;
        const std::string why = errno_text();
        ::unlink(tmp.c_str());
        return Error{tmp + ": " + why};
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) return Error{path + ": " + errno_text()};
    return {};
}

}  // namespace bg::maillog
