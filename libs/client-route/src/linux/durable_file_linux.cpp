// SPDX-License-Identifier: MIT
// replace_file_durably with POSIX calls: fsync the data, rename, fsync the directory.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include <fmt/format.h>

#include "durable_file.hpp"
#include "lanparty/base/errc.hpp"

namespace lanparty::client_route::detail {

Status replace_file_durably(const std::filesystem::path& path, std::string_view bytes) {
  std::filesystem::path temp = path;
  temp += ".tmp";
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return fail_errno(errno, fmt::format("create {}", temp.string()));
  std::size_t done = 0;
  int err = 0;
  while (done < bytes.size() && err == 0) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno != EINTR) err = errno;
    if (n > 0) done += static_cast<std::size_t>(n);
  }
  if (err == 0 && ::fsync(fd) != 0) err = errno;
  if (::close(fd) != 0 && err == 0) err = errno;
  if (err == 0 && ::rename(temp.c_str(), path.c_str()) != 0) err = errno;
  if (err != 0) {
    ::unlink(temp.c_str());
    return fail_errno(err, fmt::format("write {} over {}", temp.string(), path.string()));
  }
  // The rename lives in the directory: flush it too, or a power cut may bring the old name back.
  const std::filesystem::path dir = path.has_parent_path() ? path.parent_path() : ".";
  if (const int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dir_fd >= 0) {
    (void)::fsync(dir_fd);
    ::close(dir_fd);
  }
  return ok();
}

}  // namespace lanparty::client_route::detail
