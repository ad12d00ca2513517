// SPDX-License-Identifier: MIT
// A counting global operator new for the tests that prove a frame path allocates nothing once
// warm: AllocationCount counts every C++ heap allocation between its construction and stop().
// It replaces operator new for the whole test binary, so exactly one source file of a binary
// may include it.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <new>

namespace lanparty::testing_support {
inline std::atomic<bool> g_counting_allocations{false};
inline std::atomic<std::uint64_t> g_allocations{0};

class AllocationCount {
 public:
  AllocationCount() {
    g_allocations = 0;
    g_counting_allocations = true;
  }
  AllocationCount(const AllocationCount&) = delete;
  AllocationCount& operator=(const AllocationCount&) = delete;
  std::uint64_t stop() {
    g_counting_allocations = false;
    return g_allocations.load();
  }
};
// Whether this binary's operator new is the counting one: a test that asserts zero must also
// know it could have seen more.
[[nodiscard]] inline bool allocation_counter_in_effect() {
  AllocationCount count;
  // A direct call: unlike a new-expression, the compiler may not leave it out.
  ::operator delete(::operator new(1));
  return count.stop() == 1;
}
}  // namespace lanparty::testing_support

void* operator new(std::size_t size) {
  if (lanparty::testing_support::g_counting_allocations.load(std::memory_order_relaxed)) {
    ++lanparty::testing_support::g_allocations;
  }
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) { return ::operator new(size); }
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
