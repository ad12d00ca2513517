// SPDX-License-Identifier: MIT
// The relay gives back what a burst left behind: every few seconds the server's idle buffers
// (socket batch pages, the send queues of connections with nothing queued) and glibc's free
// heap go back to the OS, so after a flood or a big transfer the relay's size returns to what
// its live rooms need. Never per frame: one timer, a few system calls per period.
#pragma once

#include <chrono>

#include "lanparty/io/event_loop.hpp"
#include "lanparty/quic/server.hpp"

namespace lanparty::relay {

class MemoryTrim {
 public:
  static constexpr std::chrono::seconds kDefaultPeriod{5};

  // Starts the timer on loop; server and loop must outlive this object.
  MemoryTrim(io::EventLoop& loop, quic::Server& server,
             io::EventLoop::Clock::duration period = kDefaultPeriod);
  ~MemoryTrim();
  MemoryTrim(const MemoryTrim&) = delete;
  MemoryTrim& operator=(const MemoryTrim&) = delete;

  // One trim now (the timer's work); for tests.
  void trim_now() noexcept;

 private:
  void schedule();

  io::EventLoop& loop_;
  quic::Server& server_;
  io::EventLoop::Clock::duration period_;
  io::EventLoop::TimerId timer_ = 0;
};

}  // namespace lanparty::relay
