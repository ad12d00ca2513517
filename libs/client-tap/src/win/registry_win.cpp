// SPDX-License-Identifier: MIT
// RegistryApi over advapi32: RegOpenKeyExW/RegEnumKeyExW/RegGetValueW, UTF-16 inside,
// UTF-8 outside. Read-only: discovery never writes the registry.
#include <string>
#include <vector>

#include <fmt/format.h>
#include <windows.h>

#include "lanparty/client_tap/tap_windows.hpp"
#include "win/win_util.hpp"

namespace lanparty::client_tap {
namespace {

HKEY to_hkey(RegistryRoot root) noexcept {
  return root == RegistryRoot::kLocalMachine ? HKEY_LOCAL_MACHINE : HKEY_CURRENT_USER;
}

const char* root_name(RegistryRoot root) noexcept {
  return root == RegistryRoot::kLocalMachine ? "HKLM" : "HKCU";
}

class KeyCloser {
 public:
  explicit KeyCloser(HKEY key) noexcept : key_(key) {}
  KeyCloser(const KeyCloser&) = delete;
  KeyCloser& operator=(const KeyCloser&) = delete;
  ~KeyCloser() { ::RegCloseKey(key_); }

 private:
  HKEY key_;
};

class WinRegistry final : public RegistryApi {
 public:
  Result<std::vector<std::string>> enum_subkeys(RegistryRoot root, std::string_view path) override {
    const std::string where = fmt::format("{}\\{}", root_name(root), path);
    HKEY key = nullptr;
    const LSTATUS opened =
        ::RegOpenKeyExW(to_hkey(root), win::widen(path).c_str(), 0, KEY_READ, &key);
    if (opened != ERROR_SUCCESS) {
      return win::error(static_cast<DWORD>(opened), fmt::format("RegOpenKeyEx({})", where));
    }
    const KeyCloser closer(key);
    std::vector<std::string> names;
    // Key names are at most 255 characters (registry element size limits).
    wchar_t name[256];
    for (DWORD i = 0;; ++i) {
      DWORD length = static_cast<DWORD>(std::size(name));
      const LSTATUS rc = ::RegEnumKeyExW(key, i, name, &length, nullptr, nullptr, nullptr, nullptr);
      if (rc == ERROR_NO_MORE_ITEMS) break;
      if (rc != ERROR_SUCCESS) {
        return win::error(static_cast<DWORD>(rc), fmt::format("RegEnumKeyEx({}, {})", where, i));
      }
      names.push_back(win::narrow(std::wstring_view(name, length)));
    }
    return names;
  }

  Result<std::string> read_string(RegistryRoot root, std::string_view path,
                                  std::string_view value) override {
    const std::string where = fmt::format("{}\\{} value {}", root_name(root), path, value);
    const std::wstring wpath = win::widen(path);
    const std::wstring wvalue = win::widen(value);
    // Size first, then read: values are short (ids, GUIDs), but nothing here assumes it.
    // RRF_RT_REG_SZ also NUL-terminates, which a raw RegQueryValueEx does not promise.
    DWORD bytes = 0;
    LSTATUS rc = ::RegGetValueW(to_hkey(root), wpath.c_str(), wvalue.c_str(), RRF_RT_REG_SZ,
                                nullptr, nullptr, &bytes);
    if (rc != ERROR_SUCCESS) {
      return win::error(static_cast<DWORD>(rc), fmt::format("RegGetValue({})", where));
    }
    std::wstring text(bytes / sizeof(wchar_t) + 1, L'\0');
    bytes = static_cast<DWORD>(text.size() * sizeof(wchar_t));
    rc = ::RegGetValueW(to_hkey(root), wpath.c_str(), wvalue.c_str(), RRF_RT_REG_SZ, nullptr,
                        text.data(), &bytes);
    if (rc != ERROR_SUCCESS) {
      return win::error(static_cast<DWORD>(rc), fmt::format("RegGetValue({})", where));
    }
    text.resize(wcsnlen(text.c_str(), text.size()));
    return win::narrow(text);
  }
};

}  // namespace

Result<std::unique_ptr<RegistryApi>> make_registry_api() {
  return std::unique_ptr<RegistryApi>(std::make_unique<WinRegistry>());
}

}  // namespace lanparty::client_tap
