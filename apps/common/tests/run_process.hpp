// SPDX-License-Identifier: MIT
// Runs one of our binaries to its end, stdout and stderr together, in a scratch directory:
// what a person typing the command would see, and its exit code.
#pragma once

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "child_process.hpp"

namespace lanparty::apps::testing {

struct ProcessResult {
  std::optional<int> exit_code;  // nullopt: killed after the timeout, or died of a signal
  std::string output;
};

inline ProcessResult run_process(const std::string& binary, std::vector<std::string> args,
                                 std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  ChildProcess child(binary, args);
  ProcessResult result;
  if (!child.started()) {
    result.output = "posix_spawn failed";
    return result;
  }
  result.exit_code = child.wait_exit(timeout);  // killed on timeout when `child` goes
  result.output = child.output();
  return result;
}

// A fresh directory under the system's temporary directory, removed with everything in it.
class ScratchDir {
 public:
  ScratchDir() {
    std::string templ = (std::filesystem::temp_directory_path() / "lanparty-app-XXXXXX").string();
    if (::mkdtemp(templ.data()) != nullptr) path_ = templ;
  }
  ~ScratchDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }
  std::filesystem::path write(const std::string& name, const std::string& text) const {
    const auto file = path_ / name;
    std::ofstream(file) << text;
    return file;
  }

 private:
  std::filesystem::path path_;
};

}  // namespace lanparty::apps::testing
