// Tests of the log follower (common/maillog/log_follower.hpp) on real files: a growing log
// followed through rename rotation, copytruncate and restarts (with the position saved the way
// `ingest-log --follow` saves it); every line must be handed out exactly once.
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <unistd.h>

#include "maillog/log_follower.hpp"

namespace bg::maillog {

namespace {

namespace fs = std::filesystem;

class Follow : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::path(::testing::TempDir()) / ("bg_follow_" + std::to_string(::getpid()) + "_" +
                                                 ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
        fs::create_directories(dir_);
        log_ = (dir_ / "maillog").string();
        state_ = (dir_ / "position").string();
    }
    void TearDown() override { fs::remove_all(dir_); }

    // Appends lines "line N" for N in [from, to).
    void write(int from, int to, const std::string& path = "") {
        std::ofstream out(path.empty() ? log_ : path, std::ios::app | std::ios::binary);
        for (int i = from; i < to; ++i) out << "line " << i << "\n";
    }
    // Opens a follower from the saved position (if any), as a restarted process does.
    void start(int grace_ms = 0) {
        auto saved = load_position(state_);
        ASSERT_TRUE(saved);
        auto f = LogFollower::open(log_, *saved, 4096, grace_ms);
        ASSERT_TRUE(f) << f.error().message;
        f_ = std::move(*f);
    }
    // Polls until nothing more comes; saves the position after each batch.
    void drain() {
        for (;;) {
            auto n = f_->poll([&](std::string_view l, bool) { ++seen_[std::string(l)]; }, 7);
            ASSERT_TRUE(n) << n.error().message;
            ASSERT_TRUE(save_position(state_, f_->position()));
            if (*n == 0) break;
        }
    }
    // Every line in [0, n) seen exactly once, nothing else.
    void expect_exactly_once(int n) {
        EXPECT_EQ(seen_.size(), static_cast<std::size_t>(n));
        for (int i = 0; i < n; ++i) EXPECT_EQ(seen_["line " + std::to_string(i)], 1) << "line " << i;
    }

    fs::path dir_;
    std::string log_, state_;
    std::unique_ptr<LogFollower> f_;
    std::map<std::string, int> seen_;
};

}  // namespace

TEST_F(Follow, GrowingFileRenameRotationCopytruncateAndRestarts) {
    write(0, 10);
    start();
    drain();
    write(10, 15);
    // A partial line is not handed out until its newline arrives.
    { std::ofstream(log_, std::ios::app) << "line 1"; }
    drain();
    EXPECT_EQ(seen_.size(), 15u);
    { std::ofstream(log_, std::ios::app) << "5\n"; }
    drain();

    // Rename rotation: the writer adds to the old file before it reopens, then to a new one.
    fs::rename(log_, log_ + ".1");
    write(16, 20, log_ + ".1");
    write(20, 25);
    drain();
    EXPECT_GE(f_->rotations(), 1u);

    // Restart (the follower goes away, the position stays).
    f_.reset();
    write(25, 30);
    start();
    drain();

    // copytruncate: the content is copied away and the file truncated in place.
    fs::copy_file(log_, log_ + ".2");
    { std::ofstream(log_, std::ios::trunc); }
    write(30, 33);
    drain();

    // Restart after a rotation that happened while the follower was down.
    f_.reset();
    write(33, 36);
    fs::rename(log_, log_ + ".3");
    write(36, 40);
    start();
    drain();
    write(40, 42);
    drain();
    expect_exactly_once(42);
}

TEST_F(Follow, CopytruncateRefilledPastTheOffsetIsNoticed) {
    write(0, 5);
    start();
    drain();
    // Truncated and quickly refilled with more bytes than before: the size alone does not tell.
    { std::ofstream(log_, std::ios::trunc) << "other 0\nother 1\nother 2\nother 3\nother 4\nother 5\n"; }
    drain();
    EXPECT_EQ(seen_.size(), 11u);
    EXPECT_EQ(seen_["other 0"], 1);
    EXPECT_EQ(seen_["other 5"], 1);
}

TEST_F(Follow, ALogThatDoesNotExistYetIsWaitedFor) {
    start();
    drain();
    EXPECT_TRUE(seen_.empty());
    write(0, 3);
    drain();
    expect_exactly_once(3);
}

TEST_F(Follow, ARewrittenFileIsReadFromItsStart) {
    write(0, 5);
    start();
    drain();
    f_.reset();
    // Replaced while down by a different file of the same size: the hash differs.
    fs::remove(log_);
    { std::ofstream(log_) << "line 5\nline 6\nline 7\nline 8\nline 9\n"; }
    start();
    drain();
    expect_exactly_once(10);
}

TEST_F(Follow, LongLinesAreCutAndTheRestSkipped) {
    { std::ofstream(log_) << std::string(10000, 'x') << "\nshort\n" << std::string(5000, 'y') << "\n"; }
    auto f = LogFollower::open(log_, std::nullopt, 4096);
    ASSERT_TRUE(f);
    std::vector<std::pair<std::size_t, bool>> got;
    ASSERT_TRUE((*f)->poll([&](std::string_view l, bool cut) { got.emplace_back(l.size(), cut); }));
    ASSERT_EQ(got.size(), 3u);
    EXPECT_EQ(got[0], std::make_pair(std::size_t{4096}, true));
    EXPECT_EQ(got[1], std::make_pair(std::size_t{5}, false));
    EXPECT_EQ(got[2], std::make_pair(std::size_t{4096}, true));
}

TEST_F(Follow, StateFileRoundTripAndBadStateIsAnError) {
    const FollowPosition p{1, 2, 3, 0xdeadbeefcafef00dull};
    ASSERT_TRUE(save_position(state_, p));
    auto back = load_position(state_);
    ASSERT_TRUE(back);
    ASSERT_TRUE(*back);
    EXPECT_EQ(**back, p);
    EXPECT_FALSE(fs::exists(state_ + ".tmp"));
    { std::ofstream(state_) << "garbage\n"; }
    EXPECT_FALSE(load_position(state_));
}

}  // namespace bg::maillog
