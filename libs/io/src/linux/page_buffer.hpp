// SPDX-License-Identifier: MIT
// Anonymous, page-aligned memory for a socket's batch buffers. Its pages become resident
// only as traffic first touches them, and release() hands them back to the kernel, so the
// high-water mark of one burst (a flood, a file transfer) does not stay in the relay's size.
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <new>
#include <utility>
#include <vector>

namespace lanparty::io {

class PageBuffer {
 public:
  explicit PageBuffer(std::size_t bytes) : size_(bytes) {
    void* mapped =
        ::mmap(nullptr, mapped_bytes(), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mapped == MAP_FAILED) throw std::bad_alloc();
    data_ = static_cast<std::uint8_t*>(mapped);
  }
  ~PageBuffer() {
    if (data_ != nullptr) ::munmap(data_, mapped_bytes());
  }
  PageBuffer(const PageBuffer&) = delete;
  PageBuffer& operator=(const PageBuffer&) = delete;
  PageBuffer(PageBuffer&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}
  PageBuffer& operator=(PageBuffer&&) = delete;

  [[nodiscard]] std::uint8_t* data() const noexcept { return data_; }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }

  // The contents are gone afterwards (the pages read as zeros when touched again): only for
  // a buffer that holds nothing live. A failure leaves the pages resident, nothing worse.
  void release() noexcept { (void)::madvise(data_, mapped_bytes(), MADV_DONTNEED); }

  // Bytes of the buffer that are resident in memory now (mincore: a system call; for
  // metrics and tests, not per packet). 0 if the kernel does not say.
  [[nodiscard]] std::size_t resident_bytes() const {
    const std::size_t page = page_size();
    std::vector<unsigned char> pages(mapped_bytes() / page);
    if (::mincore(data_, mapped_bytes(), pages.data()) != 0) return 0;
    std::size_t resident = 0;
    for (unsigned char flags : pages) resident += (flags & 1U) != 0 ? page : 0;
    return resident;
  }

 private:
  static std::size_t page_size() noexcept {
    return static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
  }
  [[nodiscard]] std::size_t mapped_bytes() const noexcept {
    const std::size_t page = page_size();
    return (size_ + page - 1) / page * page;
  }

  std::uint8_t* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace lanparty::io
