// deadline_thread.hpp - one thread that runs a callback when an armed deadline passes, and
// otherwise sleeps (no periodic wake-ups). The callback says which deadline to wait for next,
// if any. The SQLite store uses it to end a lookup snapshot left idle.
// LIMITATION: the callback runs on the thread without the object's lock; arm() may be called
// from it or from any other thread. The destructor stops and joins the thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

namespace bg {

class DeadlineThread {
public:
    using Clock = std::chrono::steady_clock;
    using Callback = std::function<std::optional<Clock::time_point>()>;

    explicit DeadlineThread(Callback fn);
    ~DeadlineThread();
    DeadlineThread(const DeadlineThread&) = delete;
    DeadlineThread& operator=(const DeadlineThread&) = delete;

    // Runs the callback at `deadline`, or earlier if an earlier deadline is already armed.
    void arm(Clock::time_point deadline);

private:
    void run();

    Callback fn_;
    std::mutex mu_;
    std::condition_variable cv_;
    bool stop_ = false;
    std::optional<Clock::time_point> deadline_;  // under mu_
    std::thread thread_;                         // last: starts once the rest is built
};

}  // namespace bg
