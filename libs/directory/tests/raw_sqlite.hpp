// SPDX-License-Identifier: MIT
// Direct SQLite access for tests that inspect or damage the file behind the interface.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include <gtest/gtest.h>

namespace lanparty::directory::testing_support {

class RawDb {
 public:
  explicit RawDb(const std::filesystem::path& path) {
    sqlite3* raw = nullptr;
    const int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE, nullptr);
    db_.reset(raw);
    EXPECT_EQ(rc, SQLITE_OK) << path << ": " << sqlite3_errstr(rc);
    sqlite3_busy_timeout(raw, 5000);
  }

  // The first column of the first row as text ("" when there is none); fails the test on
  // an error.
  std::string text(const char* sql) {
    sqlite3_stmt* raw = nullptr;
    int rc = sqlite3_prepare_v2(db_.get(), sql, -1, &raw, nullptr);
    std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> stmt(raw, sqlite3_finalize);
    EXPECT_EQ(rc, SQLITE_OK) << sql << ": " << sqlite3_errmsg(db_.get());
    if (rc != SQLITE_OK) return {};
    rc = sqlite3_step(raw);
    EXPECT_TRUE(rc == SQLITE_ROW || rc == SQLITE_DONE) << sql << ": " << sqlite3_errmsg(db_.get());
    if (rc != SQLITE_ROW || sqlite3_column_type(raw, 0) == SQLITE_NULL) return {};
    return reinterpret_cast<const char*>(sqlite3_column_text(raw, 0));
  }
  std::int64_t integer(const char* sql) {
    const std::string t = text(sql);
    return t.empty() ? 0 : std::stoll(t);
  }

  void exec(const char* sql) {
    const int rc = sqlite3_exec(db_.get(), sql, nullptr, nullptr, nullptr);
    EXPECT_EQ(rc, SQLITE_OK) << sql << ": " << sqlite3_errmsg(db_.get());
  }

 private:
  std::unique_ptr<sqlite3, int (*)(sqlite3*)> db_{nullptr, sqlite3_close};
};

}  // namespace lanparty::directory::testing_support
