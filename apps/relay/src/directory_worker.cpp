// SPDX-License-Identifier: MIT
#include "directory_worker.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

#include <fmt/format.h>

#include "lanparty/base/errc.hpp"

namespace lanparty::relay {

Result<std::optional<directory::RoomRecord>> UnavailableDirectory::lookup(std::string_view,
                                                                          directory::Seconds) {
  return fail(Errc::kTimedOut, why_);
}
Result<directory::ClaimOutcome> UnavailableDirectory::claim(std::string_view,
                                                            const directory::OwnerKey&,
                                                            directory::Seconds) {
  return fail(Errc::kTimedOut, why_);
}
Status UnavailableDirectory::touch(std::string_view, const directory::OwnerKey&,
                                   directory::Seconds) {
  return fail(Errc::kTimedOut, why_);
}
Status UnavailableDirectory::revoke(std::string_view, std::string_view,
                                    std::optional<directory::Seconds>, directory::Seconds) {
  return fail(Errc::kTimedOut, why_);
}
Result<bool> UnavailableDirectory::is_revoked(std::string_view, std::string_view,
                                              directory::Seconds) {
  return fail(Errc::kTimedOut, why_);
}
Result<directory::Purged> UnavailableDirectory::expire(directory::Seconds) {
  return fail(Errc::kTimedOut, why_);
}

Result<std::unique_ptr<DirectoryWorker>> DirectoryWorker::start(
    io::EventLoop& loop, std::unique_ptr<directory::RoomDirectory> directory,
    DirectoryWorkerConfig config, std::unique_ptr<directory::RoomHoming> homing) {
  const int fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd < 0) return fail_errno(errno, "eventfd for the directory worker");
  std::unique_ptr<DirectoryWorker> worker(
      new DirectoryWorker(loop, std::move(directory), std::move(homing), config, fd));
  DirectoryWorker* raw = worker.get();
  if (auto s = loop.add_fd(fd, io::EventLoop::kReadable, [raw](std::uint32_t) { raw->on_wake(); });
      !s) {
    return fail(s.error().code, s.error().context);
  }
  return worker;
}

DirectoryWorker::DirectoryWorker(io::EventLoop& loop,
                                 std::unique_ptr<directory::RoomDirectory> directory,
                                 std::unique_ptr<directory::RoomHoming> homing,
                                 DirectoryWorkerConfig config, int event_fd)
    : loop_(loop),
      directory_(std::move(directory)),
      homing_(std::move(homing)),
      config_(config),
      event_fd_(event_fd),
      thread_([this] { run(); }) {}

DirectoryWorker::~DirectoryWorker() {
  {
    const std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_worker_.notify_one();
  thread_.join();  // a call in progress finishes first: bounded by the directory's timeouts
  loop_.remove_fd(event_fd_);
  ::close(event_fd_);
}

void DirectoryWorker::submit(DirectoryCall call) {
  enqueue(Job{.call = std::move(call), .homing_call = {}, .submitted = Clock::now()});
}

void DirectoryWorker::submit_homing(HomingCall call) {
  enqueue(Job{.call = {}, .homing_call = std::move(call), .submitted = Clock::now()});
}

void DirectoryWorker::enqueue(Job job) {
  {
    const std::lock_guard lock(mutex_);
    if (jobs_.size() < config_.max_queued) {
      jobs_.push_back(std::move(job));
      stats_.queued = jobs_.size();
      wake_worker_.notify_one();
      return;
    }
    ++stats_.queue_full;
  }
  // Overloaded: answered at once, on the loop, with an error (never blocks the loop).
  if (job.homing_call) {
    job.homing_call(nullptr)();
    return;
  }
  UnavailableDirectory unavailable(
      fmt::format("room directory: {} calls already waiting", config_.max_queued));
  job.call(unavailable)();
}

DirectoryWorkerStats DirectoryWorker::stats() const {
  const std::lock_guard lock(mutex_);
  return stats_;
}

std::function<void()> DirectoryWorker::run_job(Job& job) {
  const bool expired = Clock::now() - job.submitted > config_.max_queue_wait;
  if (expired) {
    const std::lock_guard lock(mutex_);
    ++stats_.queue_expired;
  }
  if (job.homing_call) return job.homing_call(expired ? nullptr : homing_.get());
  if (expired) {
    UnavailableDirectory unavailable(fmt::format(
        "room directory: no answer within {} ms (is it down?)", config_.max_queue_wait.count()));
    return job.call(unavailable);
  }
  return job.call(*directory_);
}

void DirectoryWorker::run() {
  for (;;) {
    Job job;
    {
      std::unique_lock lock(mutex_);
      wake_worker_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });
      if (stopping_) break;
      job = std::move(jobs_.front());
      jobs_.pop_front();
      stats_.queued = jobs_.size();
    }
    std::function<void()> completion = run_job(job);
    {
      const std::lock_guard lock(mutex_);
      ++stats_.calls;
      done_.push_back(Done{std::move(completion), job.submitted});
    }
    const std::uint64_t one = 1;
    // EAGAIN only when the counter is about to overflow: the loop is waking anyway.
    (void)!::write(event_fd_, &one, sizeof one);
  }
  // Stopping: the homing calls left (a shutdown's unregister) still run, each bounded by the
  // endpoint's timeouts; their completions would find no relay and are dropped.
  std::deque<Job> left;
  {
    const std::lock_guard lock(mutex_);
    left.swap(jobs_);
  }
  for (Job& job : left) {
    if (job.homing_call && homing_ != nullptr) (void)job.homing_call(homing_.get());
  }
}

void DirectoryWorker::on_wake() {
  std::uint64_t count = 0;
  (void)!::read(event_fd_, &count, sizeof count);
  std::deque<Done> ready;
  {
    const std::lock_guard lock(mutex_);
    ready.swap(done_);
  }
  for (Done& d : ready) {
    const auto us = static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - d.submitted).count());
    {
      const std::lock_guard lock(mutex_);
      stats_.latency_us_sum += us;
      stats_.last_latency_us = us;
      if (us > stats_.latency_us_max) stats_.latency_us_max = us;
    }
    if (d.completion) d.completion();
  }
}

}  // namespace lanparty::relay
