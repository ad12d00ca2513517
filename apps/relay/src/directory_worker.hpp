// SPDX-License-Identifier: MIT
// Where the relay's room-record calls run. The relay's loop forwards every frame, so it must
// never wait on a networked directory (Redis): DirectoryWorker runs each call on its own
// thread and hands the completion back to the loop through an eventfd. InlineDirectory runs
// both at once, in the caller's stack: the single-relay SQLite path, as before.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "lanparty/base/result.hpp"
#include "lanparty/directory/room_directory.hpp"
#include "lanparty/directory/room_homing.hpp"
#include "lanparty/io/event_loop.hpp"

namespace lanparty::relay {

// A directory call: runs with the directory (on whichever thread owns it) and returns what
// to do next on the loop thread.
using DirectoryCall = std::function<std::function<void()>(directory::RoomDirectory&)>;
// A call to the cluster's homing (which relay a room lives on): runs with it on the worker
// thread, or with null when the call waited past its deadline or the worker is overloaded.
using HomingCall = std::function<std::function<void()>(directory::RoomHoming*)>;

struct DirectoryWorkerStats {
  std::uint64_t calls = 0;           // calls run against the directory (homing calls included)
  std::uint64_t queue_expired = 0;   // calls that waited past max_queue_wait: answered with errors
  std::uint64_t queue_full = 0;      // calls refused at once: max_queued were waiting
  std::uint64_t latency_us_sum = 0;  // submit to completion, of every call
  std::uint64_t latency_us_max = 0;
  std::uint64_t last_latency_us = 0;
  std::size_t queued = 0;
};

// Where homing calls run (only a relay of a Redis cluster has one).
class HomingExecutor {
 public:
  virtual ~HomingExecutor() = default;
  // Runs `call` on the worker thread, in order with the directory calls, then its completion
  // on the loop thread. Homing calls still queued when the worker stops are run (without
  // their completions): the relay's last call gives up its leases.
  virtual void submit_homing(HomingCall call) = 0;
};

class DirectoryExecutor {
 public:
  virtual ~DirectoryExecutor() = default;
  // Runs `call`, then its completion on the loop thread. Called from the loop thread only.
  virtual void submit(DirectoryCall call) = 0;
  // Whether completions run later (from the loop) rather than inside submit().
  [[nodiscard]] virtual bool deferred() const noexcept = 0;
  // The cluster's homing, when the executor has one.
  [[nodiscard]] virtual HomingExecutor* homing() noexcept { return nullptr; }
  // The worker's counters, when calls run on a worker.
  [[nodiscard]] virtual std::optional<DirectoryWorkerStats> worker_stats() const {
    return std::nullopt;
  }
};

// Runs the call and its completion inside submit().
class InlineDirectory final : public DirectoryExecutor {
 public:
  explicit InlineDirectory(directory::RoomDirectory& directory) noexcept : directory_(directory) {}
  void submit(DirectoryCall call) override { call(directory_)(); }
  [[nodiscard]] bool deferred() const noexcept override { return false; }

 private:
  directory::RoomDirectory& directory_;
};

// Answers every call with an error (kTimedOut, `why`): what a call gets when the worker is
// overloaded or the call waited past its deadline in the queue.
class UnavailableDirectory final : public directory::RoomDirectory {
 public:
  explicit UnavailableDirectory(std::string why) : why_(std::move(why)) {}
  Result<std::optional<directory::RoomRecord>> lookup(std::string_view,
                                                      directory::Seconds) override;
  Result<directory::ClaimOutcome> claim(std::string_view, const directory::OwnerKey&,
                                        directory::Seconds) override;
  Status touch(std::string_view, const directory::OwnerKey&, directory::Seconds) override;
  Status revoke(std::string_view, std::string_view, std::optional<directory::Seconds>,
                directory::Seconds) override;
  Result<bool> is_revoked(std::string_view, std::string_view, directory::Seconds) override;
  Result<directory::Purged> expire(directory::Seconds) override;

 private:
  std::string why_;
};

struct DirectoryWorkerConfig {
  // A call that has waited this long in the queue is not run: its hello is refused rather
  // than kept waiting while Redis is down (each call is further bounded by the endpoint's
  // connect and command timeouts).
  std::chrono::milliseconds max_queue_wait{3000};
  std::size_t max_queued = 4096;
};

// One thread, calls run in submission order. Completions run on the loop thread, from the
// eventfd's callback. Destroying the worker runs the homing calls still queued, drops the
// directory calls and every completion not run, and joins the thread.
class DirectoryWorker final : public DirectoryExecutor, public HomingExecutor {
 public:
  // `homing` (optional): the cluster's homing, called on the same thread as `directory`.
  [[nodiscard]] static Result<std::unique_ptr<DirectoryWorker>> start(
      io::EventLoop& loop, std::unique_ptr<directory::RoomDirectory> directory,
      DirectoryWorkerConfig config = {}, std::unique_ptr<directory::RoomHoming> homing = nullptr);
  ~DirectoryWorker() override;
  DirectoryWorker(const DirectoryWorker&) = delete;
  DirectoryWorker& operator=(const DirectoryWorker&) = delete;

  void submit(DirectoryCall call) override;
  void submit_homing(HomingCall call) override;
  [[nodiscard]] bool deferred() const noexcept override { return true; }
  [[nodiscard]] HomingExecutor* homing() noexcept override {
    return homing_ != nullptr ? this : nullptr;
  }
  [[nodiscard]] std::optional<DirectoryWorkerStats> worker_stats() const override {
    return stats();
  }
  // Read on the loop thread.
  [[nodiscard]] DirectoryWorkerStats stats() const;

 private:
  using Clock = std::chrono::steady_clock;
  struct Job {
    DirectoryCall call;  // one of the two is set
    HomingCall homing_call;
    Clock::time_point submitted;
  };
  struct Done {
    std::function<void()> completion;
    Clock::time_point submitted;
  };
  DirectoryWorker(io::EventLoop& loop, std::unique_ptr<directory::RoomDirectory> directory,
                  std::unique_ptr<directory::RoomHoming> homing, DirectoryWorkerConfig config,
                  int event_fd);
  void enqueue(Job job);
  [[nodiscard]] std::function<void()> run_job(Job& job);
  void run();
  void on_wake();

  io::EventLoop& loop_;
  std::unique_ptr<directory::RoomDirectory> directory_;
  std::unique_ptr<directory::RoomHoming> homing_;
  DirectoryWorkerConfig config_;
  int event_fd_;
  mutable std::mutex mutex_;
  std::condition_variable wake_worker_;
  std::deque<Job> jobs_;
  std::deque<Done> done_;
  bool stopping_ = false;
  DirectoryWorkerStats stats_;  // guarded by mutex_
  std::thread thread_;          // last: started once everything above exists
};

}  // namespace lanparty::relay
