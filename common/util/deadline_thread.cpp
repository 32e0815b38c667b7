// deadline_thread.cpp - see deadline_thread.hpp.
#include "util/deadline_thread.hpp"

#include <utility>

namespace bg {

DeadlineThread::DeadlineThread(Callback fn) : fn_(std::move(fn)), thread_([this] { run(); }) {}

DeadlineThread::~DeadlineThread() {
    {
        std::lock_guard lock(mu_);
        stop_ = true;
    }
    cv_.notify_one();
    thread_.join();
}

void DeadlineThread::arm(Clock::time_point deadline) {
    {
        std::lock_guard lock(mu_);
        if (deadline_ && *deadline_ <= deadline) return;
        deadline_ = deadline;
    }
    cv_.notify_one();
}

void DeadlineThread::run() {
    std::unique_lock lock(mu_);
    for (;;) {
        cv_.wait(lock, [this] { return stop_ || deadline_.has_value(); });
        if (stop_) return;
        // Wakes at the deadline, or earlier when arm() sets an earlier one.
        const auto due = *deadline_;
        if (cv_.wait_until(lock, due, [&] { return stop_ || !deadline_ || *deadline_ < due; })) {
            if (stop_) return;
            continue;
        }
        deadline_.reset();
        lock.unlock();
        const auto next = fn_();
        lock.lock();
        if (next && (!deadline_ || *next < *deadline_)) deadline_ = next;
    }
}

}  // namespace bg
