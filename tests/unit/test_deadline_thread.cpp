// test_deadline_thread.cpp - DeadlineThread: the callback runs once its deadline passes (not
// before), an earlier deadline overtakes a later one, the callback's answer re-arms it, and the
// destructor returns with a deadline still pending.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "util/deadline_thread.hpp"

namespace bg {
namespace {

using namespace std::chrono_literals;
using Clock = DeadlineThread::Clock;

template <class P>
bool eventually(P pred, std::chrono::milliseconds within = 5000ms) {
    const auto end = Clock::now() + within;
    while (Clock::now() < end) {
        if (pred()) return true;
        std::this_thread::sleep_for(2ms);
    }
    return pred();
}

TEST(DeadlineThread, RunsOnceTheDeadlinePassesNotBefore) {
    std::atomic<int> calls{0};
    std::atomic<long long> late_by_ms{-1};
    const auto due = Clock::now() + 150ms;
    DeadlineThread t([&] {
        late_by_ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - due).count();
        ++calls;
        return std::optional<Clock::time_point>{};
    });
    t.arm(due);
    ASSERT_TRUE(eventually([&] { return calls.load() == 1; }));
    EXPECT_GE(late_by_ms.load(), 0);
    std::this_thread::sleep_for(100ms);
    EXPECT_EQ(calls.load(), 1) << "nothing armed: no further call";
}

TEST(DeadlineThread, AnEarlierDeadlineOvertakesALaterOne) {
    std::atomic<int> calls{0};
    DeadlineThread t([&] {
        ++calls;
        return std::optional<Clock::time_point>{};
    });
    t.arm(Clock::now() + 60s);
    t.arm(Clock::now() + 20ms);
    EXPECT_TRUE(eventually([&] { return calls.load() == 1; }, 3000ms));
}

TEST(DeadlineThread, TheCallbackReArmsUntilItSaysNoMore) {
    std::atomic<int> calls{0};
    DeadlineThread t([&]() -> std::optional<Clock::time_point> {
        if (++calls < 3) return Clock::now() + 10ms;
        return std::nullopt;
    });
    t.arm(Clock::now());
    ASSERT_TRUE(eventually([&] { return calls.load() == 3; }));
    std::this_thread::sleep_for(60ms);
    EXPECT_EQ(calls.load(), 3);
}

TEST(DeadlineThread, DestructorReturnsWithADeadlinePending) {
    std::atomic<int> calls{0};
    const auto t0 = Clock::now();
    {
        DeadlineThread t([&] {
            ++calls;
            return std::optional<Clock::time_point>{};
        });
        t.arm(Clock::now() + 3600s);
    }
    EXPECT_LT(Clock::now() - t0, 2s);
    EXPECT_EQ(calls.load(), 0);
}

}  // namespace
}  // namespace bg
