// SPDX-License-Identifier: MIT
#include "memory_trim.hpp"

#include <malloc.h>

namespace lanparty::relay {

MemoryTrim::MemoryTrim(io::EventLoop& loop, quic::Server& server,
                       io::EventLoop::Clock::duration period)
    : loop_(loop), server_(server), period_(period) {
  schedule();
}

MemoryTrim::~MemoryTrim() {
  if (timer_ != 0) loop_.cancel_timer(timer_);
}

void MemoryTrim::trim_now() noexcept {
  server_.release_idle_memory();
  // glibc keeps freed memory for reuse; only a large free heap is worth the milliseconds a
  // trim takes.
  constexpr std::size_t kTrimAboveFreeBytes = 1024 * 1024;
  if (::mallinfo2().fordblks >= kTrimAboveFreeBytes) ::malloc_trim(0);
}

void MemoryTrim::schedule() {
  timer_ = loop_.add_timer(loop_.now() + period_, [this] {
    timer_ = 0;
    trim_now();
    schedule();
  });
}

}  // namespace lanparty::relay
