// SPDX-License-Identifier: MIT
// Discovery against the real registry (wine in CI): the test builds its own copy of the
// adapter class key under HKCU, points discovery at it, and deletes it afterwards.
#include <gtest/gtest.h>

#include <random>
#include <string>

#include <windows.h>

#include "lanparty/base/errc.hpp"
#include "lanparty/client_tap/tap_windows.hpp"

namespace lanparty::client_tap {
namespace {

std::wstring wide(const std::string& s) { return std::wstring(s.begin(), s.end()); }

bool key_exists(const std::string& path) {
  HKEY key = nullptr;
  if (::RegOpenKeyExW(HKEY_CURRENT_USER, wide(path).c_str(), 0, KEY_READ, &key) != ERROR_SUCCESS) {
    return false;
  }
  ::RegCloseKey(key);
  return true;
}

// HKCU\Software\lanparty-test-<random>\Class, removed whole on destruction.
class TestSubtree {
 public:
  TestSubtree() {
    std::random_device random;
    root_ = "Software\\lanparty-test-" + std::to_string(random());
    class_key_ = root_ + "\\Class";
  }
  TestSubtree(const TestSubtree&) = delete;
  TestSubtree& operator=(const TestSubtree&) = delete;
  ~TestSubtree() { ::RegDeleteTreeW(HKEY_CURRENT_USER, wide(root_).c_str()); }

  // Creates Class\<subkey> with the given string values (an empty value is left out).
  void adapter(const std::string& subkey, const std::string& component, const std::string& guid) {
    HKEY key = nullptr;
    const std::wstring path = wide(class_key_ + "\\" + subkey);
    ASSERT_EQ(::RegCreateKeyExW(HKEY_CURRENT_USER, path.c_str(), 0, nullptr, 0, KEY_WRITE, nullptr,
                                &key, nullptr),
              ERROR_SUCCESS);
    const auto set = [key](const wchar_t* name, const std::string& value) {
      if (value.empty()) return;
      const std::wstring w = wide(value);
      ASSERT_EQ(::RegSetValueExW(key, name, 0, REG_SZ, reinterpret_cast<const BYTE*>(w.c_str()),
                                 static_cast<DWORD>((w.size() + 1) * sizeof(wchar_t))),
                ERROR_SUCCESS);
    };
    set(L"ComponentId", component);
    set(L"NetCfgInstanceId", guid);
    ::RegCloseKey(key);
  }
  [[nodiscard]] const std::string& class_key() const { return class_key_; }
  [[nodiscard]] const std::string& root() const { return root_; }

 private:
  std::string root_;
  std::string class_key_;
};

TEST(RegistryDiscoveryWin, FindsTheTapAdaptersOfATestSubtree) {
  auto registry = make_registry_api();
  ASSERT_TRUE(registry) << registry.error().describe();
  TestSubtree tree;
  tree.adapter("0000", "PCI\\VEN_8086&DEV_15B8", "{11111111-1111-1111-1111-111111111111}");
  tree.adapter("0001", "tap0901", "{22222222-2222-2222-2222-222222222222}");
  tree.adapter("0002", "root\\tap0901", "{33333333-3333-3333-3333-333333333333}");
  tree.adapter("0003", "tap0901", "");  // half-installed: no NetCfgInstanceId
  tree.adapter("Properties", "", "");

  auto found = discover_tap_adapters(**registry, RegistryRoot::kCurrentUser, tree.class_key());
  ASSERT_TRUE(found) << found.error().describe();
  const std::vector<TapAdapter> expected{
      {"{22222222-2222-2222-2222-222222222222}", "tap0901", "0001"},
      {"{33333333-3333-3333-3333-333333333333}", "root\\tap0901", "0002"},
  };
  EXPECT_EQ(*found, expected);
}

TEST(RegistryDiscoveryWin, TestSubtreeIsRemovedAfterwards) {
  std::string root;
  {
    TestSubtree tree;
    tree.adapter("0000", "tap0901", "{22222222-2222-2222-2222-222222222222}");
    root = tree.root();
    EXPECT_TRUE(key_exists(root));
  }
  EXPECT_FALSE(key_exists(root));
}

TEST(RegistryDiscoveryWin, MissingClassKeyIsNotFound) {
  auto registry = make_registry_api();
  ASSERT_TRUE(registry);
  auto found = discover_tap_adapters(**registry, RegistryRoot::kCurrentUser,
                                     "Software\\lanparty-test-does-not-exist\\Class");
  ASSERT_FALSE(found);
  EXPECT_EQ(found.error().code, Errc::kNotFound);
  EXPECT_NE(found.error().context.find("lanparty-test-does-not-exist"), std::string::npos);
}

TEST(RegistryDiscoveryWin, ReadsUtf8RoundTripOfNonAsciiValues) {
  auto registry = make_registry_api();
  ASSERT_TRUE(registry);
  TestSubtree tree;
  tree.adapter("0000", "tap0901", "{22222222-2222-2222-2222-222222222222}");
  HKEY key = nullptr;
  const std::wstring path = wide(tree.class_key() + "\\0000");
  ASSERT_EQ(::RegOpenKeyExW(HKEY_CURRENT_USER, path.c_str(), 0, KEY_WRITE, &key), ERROR_SUCCESS);
  const std::wstring name = L"Caf\u00e9 LAN";
  ASSERT_EQ(
      ::RegSetValueExW(key, L"DriverDesc", 0, REG_SZ, reinterpret_cast<const BYTE*>(name.c_str()),
                       static_cast<DWORD>((name.size() + 1) * sizeof(wchar_t))),
      ERROR_SUCCESS);
  ::RegCloseKey(key);
  auto text = (*registry)->read_string(RegistryRoot::kCurrentUser, tree.class_key() + "\\0000",
                                       "DriverDesc");
  ASSERT_TRUE(text) << text.error().describe();
  EXPECT_EQ(*text, "Caf\xc3\xa9 LAN");
}

}  // namespace
}  // namespace lanparty::client_tap
