// SPDX-License-Identifier: MIT
// SqliteRoomDirectory: one connection, statements prepared once at open, one transaction per
// call that writes, committed with an fsync before the call returns.
#include "lanparty/directory/sqlite_room_directory.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <utility>

#include <fmt/format.h>

#include "lanparty/base/check.hpp"
#include "lanparty/base/errc.hpp"
#include "validate.hpp"

// SQLITE_OPEN_NOFOLLOW arrived in 3.31, SQLITE_OPEN_EXRESCODE in 3.37 (Debian 12: 3.40).
static_assert(SQLITE_VERSION_NUMBER >= 3037000, "SQLite 3.37 or later is required");

namespace lanparty::directory {
namespace {

// Error codes of SQLite itself (extended result codes), with sqlite3_errstr as the message.
class SqliteCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "sqlite"; }
  std::string message(int value) const override { return sqlite3_errstr(value); }
};

const std::error_category& sqlite_category() noexcept {
  static const SqliteCategory category;
  return category;
}

struct DbCloser {
  // close_v2: never fails with SQLITE_BUSY; statements are finalized before the handle anyway.
  void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
};
struct StmtFinalizer {
  void operator()(sqlite3_stmt* stmt) const noexcept { sqlite3_finalize(stmt); }
};
using DbHandle = std::unique_ptr<sqlite3, DbCloser>;
using Stmt = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

std::int64_t to_db(Seconds t) noexcept { return t.time_since_epoch().count(); }
Seconds from_db(std::int64_t t) noexcept { return Seconds(std::chrono::seconds(t)); }

// The schema of kSchemaVersion. Revocations name their room (foreign key, no cascade): every
// delete of a room deletes its revocations first, explicitly, and the key turns a forgotten
// one into an error instead of an orphan.
constexpr const char* kSchemaSql = R"sql(
CREATE TABLE rooms (
  room      TEXT PRIMARY KEY NOT NULL,
  owner_key BLOB NOT NULL CHECK (length(owner_key) = 32),
  last_seen INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX rooms_by_last_seen ON rooms (last_seen);
CREATE TABLE revocations (
  room      TEXT NOT NULL REFERENCES rooms (room),
  invite_id TEXT NOT NULL,
  exp       INTEGER,
  PRIMARY KEY (room, invite_id)
) WITHOUT ROWID;
CREATE INDEX revocations_by_exp ON revocations (exp);
PRAGMA user_version = 1;
)sql";
static_assert(kSchemaVersion == 1, "kSchemaSql sets user_version: keep them in step");

// Resets and unbinds a statement on scope exit: a SELECT left mid-way would otherwise keep its
// read transaction open, and a SQLITE_STATIC binding would outlive the caller's buffer.
class Use {
 public:
  explicit Use(sqlite3_stmt* stmt) noexcept : stmt_(stmt) {}
  Use(const Use&) = delete;
  Use& operator=(const Use&) = delete;
  ~Use() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }

  // Bind failures are SQLITE_RANGE (a bug in this file) or SQLITE_TOOBIG (impossible: inputs
  // are bounded by the checks in validate.hpp), so they are invariants, not errors.
  Use& text(int index, std::string_view value) {
    LANPARTY_CHECK(value.size() <= static_cast<std::size_t>(std::numeric_limits<int>::max()));
    LANPARTY_CHECK(sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()),
                                     SQLITE_STATIC) == SQLITE_OK);
    return *this;
  }
  Use& blob(int index, const OwnerKey& key) {
    LANPARTY_CHECK(sqlite3_bind_blob(stmt_, index, key.data(), static_cast<int>(key.size()),
                                     SQLITE_STATIC) == SQLITE_OK);
    return *this;
  }
  Use& int64(int index, std::int64_t value) {
    LANPARTY_CHECK(sqlite3_bind_int64(stmt_, index, value) == SQLITE_OK);
    return *this;
  }
  Use& time(int index, Seconds value) { return int64(index, to_db(value)); }
  Use& optional_time(int index, std::optional<Seconds> value) {
    if (value) return time(index, *value);
    LANPARTY_CHECK(sqlite3_bind_null(stmt_, index) == SQLITE_OK);
    return *this;
  }

  // SQLITE_ROW, SQLITE_DONE or an (extended) error code.
  [[nodiscard]] int step() noexcept { return sqlite3_step(stmt_); }
  [[nodiscard]] sqlite3_stmt* get() const noexcept { return stmt_; }

 private:
  sqlite3_stmt* stmt_;
};

// Passes an error up unchanged.
auto propagate(const Error& e) { return fail(e.code, e.context); }

std::string column_text(sqlite3_stmt* stmt, int column) {
  const auto* data = reinterpret_cast<const char*>(sqlite3_column_text(stmt, column));
  const int size = sqlite3_column_bytes(stmt, column);
  if (data == nullptr || size <= 0) return {};
  return {data, static_cast<std::size_t>(size)};
}

}  // namespace

struct SqliteRoomDirectory::Impl {
  std::string path;
  Limits limits;
  DbHandle db;

  // Declared after `db`, so they are finalized before it is closed.
  Stmt begin_read;
  Stmt begin_write;
  Stmt commit;
  Stmt rollback;
  Stmt select_room;
  Stmt select_revocations;
  Stmt count_rooms;
  Stmt insert_room;
  Stmt update_last_seen;
  Stmt forget_revocations_of_room;
  Stmt forget_room;
  Stmt purge_expired_revocations;
  Stmt purge_revocations_of_stale;
  Stmt purge_stale_rooms;
  Stmt select_live_room;
  Stmt upsert_revocation;
  Stmt select_revoked;

  // An error for SQLite result `rc` while doing `what`, with the path and SQLite's message.
  [[nodiscard]] Error error(int rc, std::string_view what) const {
    if (rc == SQLITE_CANTOPEN_SYMLINK) {
      return Error{make_error_code(Errc::kInvalidArgument),
                   fmt::format("{} {}: the path contains a symbolic link, which the relay "
                               "refuses (whoever controls a link controls the room records); "
                               "give --state-dir as a path without links",
                               what, path)};
    }
    // errmsg is the more specific text when there is one; errstr(rc) is the code's name.
    const std::string_view generic = sqlite3_errstr(rc);
    const std::string_view specific = db ? sqlite3_errmsg(db.get()) : generic;
    const std::string detail = specific == generic ? std::string() : fmt::format(" ({})", specific);
    const int primary = rc & 0xff;
    if (primary == SQLITE_CORRUPT || primary == SQLITE_NOTADB) {
      return Error{make_error_code(Errc::kCorruptFile),
                   fmt::format("{} {}: {}{}; restore a backup, or move the file away to start "
                               "with no room records",
                               what, path, generic, detail)};
    }
    if (primary == SQLITE_CANTOPEN) {
      return Error{std::error_code(rc, sqlite_category()),
                   fmt::format("{} {}{} (does its directory exist, and may this user write "
                               "there?)",
                               what, path, detail)};
    }
    return Error{std::error_code(rc, sqlite_category()),
                 fmt::format("{} {}{}", what, path, detail)};
  }
  [[nodiscard]] auto failure(int rc, std::string_view what) const {
    Error e = error(rc, what);
    return fail(e.code, std::move(e.context));
  }

  [[nodiscard]] Status exec(const char* sql, std::string_view what) {
    const int rc = sqlite3_exec(db.get(), sql, nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) return failure(rc, what);
    return ok();
  }

  // Runs a statement that returns no rows (or whose rows are not wanted); returns the rows
  // it changed.
  [[nodiscard]] Result<std::size_t> run(Use& use, std::string_view what) {
    const int rc = use.step();
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) return failure(rc, what);
    return static_cast<std::size_t>(sqlite3_changes64(db.get()));
  }

  [[nodiscard]] Status prepare(Stmt& stmt, const char* sql, std::string_view what) {
    sqlite3_stmt* raw = nullptr;
    // PERSISTENT: these live as long as the connection, so SQLite keeps them out of its
    // lookaside pool.
    const int rc = sqlite3_prepare_v3(db.get(), sql, -1, SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
    stmt.reset(raw);
    if (rc != SQLITE_OK) return failure(rc, what);
    return ok();
  }

  // One transaction: rolled back on scope exit unless commit() succeeded. BEGIN IMMEDIATE for
  // writers takes the write lock up front, so the check and the write of a claim can never be
  // split by another writer, and a busy database fails at BEGIN rather than half-way.
  class Transaction {
   public:
    Transaction(Transaction&& other) noexcept
        : impl_(other.impl_), open_(std::exchange(other.open_, false)) {}
    Transaction& operator=(Transaction&&) = delete;
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;
    ~Transaction() {
      // SQLite rolls back by itself after some errors (SQLITE_FULL, SQLITE_IOERR): only roll
      // back a transaction that is still open.
      if (open_ && sqlite3_get_autocommit(impl_->db.get()) == 0) {
        Use use(impl_->rollback.get());
        (void)use.step();
      }
    }

    [[nodiscard]] static Result<Transaction> begin(Impl& impl, bool write, std::string_view what) {
      Use use(write ? impl.begin_write.get() : impl.begin_read.get());
      const int rc = use.step();
      if (rc != SQLITE_DONE) return impl.failure(rc, what);
      return Transaction(impl);
    }

    // With journal_mode=WAL and synchronous=FULL the WAL is fsync'ed before COMMIT returns.
    [[nodiscard]] Status commit(std::string_view what) {
      Use use(impl_->commit.get());
      const int rc = use.step();
      if (rc != SQLITE_DONE) return impl_->failure(rc, what);
      open_ = false;
      return ok();
    }

   private:
    explicit Transaction(Impl& impl) noexcept : impl_(&impl) {}
    Impl* impl_;
    bool open_ = true;
  };

  [[nodiscard]] Status prepare_all();
  [[nodiscard]] Status forget_if_stale(std::string_view room, Seconds cutoff);
  [[nodiscard]] Result<Purged> purge_stale(Seconds cutoff);
};

namespace {

// A new file's directory entry is durable only once its directory is fsync'ed. SQLite does
// that when it creates a journal or WAL, not for the database file itself; one fsync here
// at creation means not relying on the WAL living in the same directory.
Status sync_parent_dir(const std::filesystem::path& file) {
  std::filesystem::path dir = file.parent_path();
  if (dir.empty()) dir = ".";
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return fail_errno(errno, fmt::format("open {} (to fsync it)", dir.string()));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) return fail_errno(err, fmt::format("fsync {}", dir.string()));
  return ok();
}

}  // namespace

Status SqliteRoomDirectory::Impl::prepare_all() {
  struct Entry {
    Stmt* stmt;
    const char* sql;
  };
  const Entry entries[] = {
      {&begin_read, "BEGIN DEFERRED"},
      {&begin_write, "BEGIN IMMEDIATE"},
      {&commit, "COMMIT"},
      {&rollback, "ROLLBACK"},
      {&select_room, "SELECT owner_key, last_seen FROM rooms WHERE room = ?1"},
      {&select_revocations,
       "SELECT invite_id, exp FROM revocations WHERE room = ?1 AND (exp IS NULL OR exp > ?2) "
       "ORDER BY invite_id"},
      {&count_rooms, "SELECT count(*) FROM rooms"},
      {&insert_room, "INSERT INTO rooms (room, owner_key, last_seen) VALUES (?1, ?2, ?3)"},
      {&update_last_seen,
       "UPDATE rooms SET last_seen = ?3 WHERE room = ?1 AND owner_key = ?2 AND last_seen > ?4"},
      {&forget_revocations_of_room,
       "DELETE FROM revocations WHERE room = ?1 AND "
       "EXISTS (SELECT 1 FROM rooms WHERE room = ?1 AND last_seen <= ?2)"},
      {&forget_room, "DELETE FROM rooms WHERE room = ?1 AND last_seen <= ?2"},
      {&purge_expired_revocations, "DELETE FROM revocations WHERE exp <= ?1"},
      {&purge_revocations_of_stale,
       "DELETE FROM revocations WHERE room IN (SELECT room FROM rooms WHERE last_seen <= ?1)"},
      {&purge_stale_rooms, "DELETE FROM rooms WHERE last_seen <= ?1"},
      {&select_live_room, "SELECT 1 FROM rooms WHERE room = ?1 AND last_seen > ?2"},
      // Revoking again never shortens: no exp (until forgotten) wins, else the later exp.
      {&upsert_revocation,
       "INSERT INTO revocations (room, invite_id, exp) VALUES (?1, ?2, ?3) "
       "ON CONFLICT (room, invite_id) DO UPDATE SET exp = CASE "
       "WHEN exp IS NULL OR excluded.exp IS NULL THEN NULL ELSE max(exp, excluded.exp) END"},
      {&select_revoked,
       "SELECT 1 FROM revocations AS v JOIN rooms AS r ON r.room = v.room "
       "WHERE v.room = ?1 AND v.invite_id = ?2 AND (v.exp IS NULL OR v.exp > ?3) "
       "AND r.last_seen > ?4"},
  };
  for (const Entry& e : entries) {
    if (Status s = prepare(*e.stmt, e.sql, fmt::format("preparing `{}` for", e.sql)); !s) {
      return s;
    }
  }
  return ok();
}

// Inside a write transaction: drops `room` (revocations first) if it is past the TTL.
Status SqliteRoomDirectory::Impl::forget_if_stale(std::string_view room, Seconds cutoff) {
  {
    Use use(forget_revocations_of_room.get());
    use.text(1, room).time(2, cutoff);
    if (auto r = run(use, "forgetting the revocations of a stale room in"); !r) {
      return propagate(r.error());
    }
  }
  Use use(forget_room.get());
  use.text(1, room).time(2, cutoff);
  if (auto r = run(use, "forgetting a stale room in"); !r) return propagate(r.error());
  return ok();
}

// Inside a write transaction: drops every record past the TTL, revocations first.
Result<Purged> SqliteRoomDirectory::Impl::purge_stale(Seconds cutoff) {
  Purged purged;
  {
    Use use(purge_revocations_of_stale.get());
    use.time(1, cutoff);
    auto r = run(use, "purging revocations of stale rooms in");
    if (!r) return propagate(r.error());
    purged.revocations = *r;
  }
  Use use(purge_stale_rooms.get());
  use.time(1, cutoff);
  auto r = run(use, "purging stale rooms in");
  if (!r) return propagate(r.error());
  purged.rooms = *r;
  return purged;
}

SqliteRoomDirectory::SqliteRoomDirectory(std::unique_ptr<Impl> impl) noexcept
    : impl_(std::move(impl)) {}

SqliteRoomDirectory::~SqliteRoomDirectory() = default;

Result<std::unique_ptr<SqliteRoomDirectory>> SqliteRoomDirectory::open(SqliteConfig config) {
  if (config.limits.room_ttl <= std::chrono::seconds::zero()) {
    return fail(Errc::kInvalidArgument, "room directory: room_ttl must be positive");
  }
  if (config.limits.max_room_records == 0) {
    return fail(Errc::kInvalidArgument, "room directory: max_room_records must be positive");
  }
  if (config.busy_timeout < std::chrono::milliseconds::zero() ||
      config.busy_timeout.count() > std::numeric_limits<int>::max()) {
    return fail(Errc::kInvalidArgument, "room directory: busy_timeout out of range");
  }

  auto impl = std::make_unique<Impl>();
  impl->path = config.path.string();
  impl->limits = config.limits;

  // NOFOLLOW: a path with a symlink in it (the file or any directory above) is refused, not
  // followed, so a link planted in the state dir cannot redirect the records. NOMUTEX:
  // one thread uses the connection (see RoomDirectory), so SQLite's own locking is waste.
  // EXRESCODE: extended codes from open, so a symlink is told apart from other failures.
  const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOFOLLOW |
                    SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
  sqlite3* raw = nullptr;
  const int open_rc = sqlite3_open_v2(impl->path.c_str(), &raw, flags, nullptr);
  impl->db.reset(raw);  // a handle comes back even on failure and must be closed
  if (open_rc != SQLITE_OK) return impl->failure(open_rc, "opening");
  sqlite3_extended_result_codes(impl->db.get(), 1);
  sqlite3_busy_timeout(impl->db.get(), static_cast<int>(config.busy_timeout.count()));
  // Refuse SQL that could corrupt the file even from inside this process (writable_schema).
  sqlite3_db_config(impl->db.get(), SQLITE_DBCONFIG_DEFENSIVE, 1, nullptr);

  // The version is read before anything is written, so a newer relay's file is left as is.
  // This is also the first read: a file that is not a database fails here (SQLITE_NOTADB).
  std::int64_t version = 0;
  std::int64_t schema_objects = 0;
  {
    Stmt stmt;
    if (Status s = impl->prepare(stmt,
                                 "SELECT (SELECT user_version FROM pragma_user_version), "
                                 "(SELECT count(*) FROM sqlite_schema)",
                                 "reading");
        !s) {
      return propagate(s.error());
    }
    Use use(stmt.get());
    const int rc = use.step();
    if (rc != SQLITE_ROW) return impl->failure(rc, "reading the schema version of");
    version = sqlite3_column_int64(stmt.get(), 0);
    schema_objects = sqlite3_column_int64(stmt.get(), 1);
  }
  if (version > kSchemaVersion) {
    return fail(Errc::kInvalidArgument,
                fmt::format("room directory {} has schema version {}, newer than this relay "
                            "knows ({}): run the newer lanparty-relay, or move the file away to "
                            "start with no room records",
                            impl->path, version, kSchemaVersion));
  }
  if (version < 0 || (version == 0 && schema_objects > 0)) {
    return fail(Errc::kInvalidArgument,
                fmt::format("{} is an SQLite database but not a lanparty room directory; "
                            "point --state-dir elsewhere",
                            impl->path));
  }

  // WAL: readers never block the writer, and a commit appends to one file. It must be
  // checked: the pragma answers with the mode in force, which stays the old one when WAL is
  // unavailable (e.g. no shared memory on the file system).
  {
    Stmt stmt;
    if (Status s = impl->prepare(stmt, "PRAGMA journal_mode = WAL", "setting journal_mode=WAL on");
        !s) {
      return propagate(s.error());
    }
    Use use(stmt.get());
    const int rc = use.step();
    if (rc != SQLITE_ROW) return impl->failure(rc, "setting journal_mode=WAL on");
    const std::string mode = column_text(stmt.get(), 0);
    if (mode != "wal") {
      return fail(Errc::kUnsupportedPlatform,
                  fmt::format("room directory {}: journal_mode stays '{}', WAL is needed (is "
                              "the state dir on a network file system?)",
                              impl->path, mode));
    }
  }
  // FULL, not NORMAL: in WAL mode NORMAL syncs only at checkpoints, so the last transactions
  // can vanish on power loss even though the call returned. A claim answered with welcome
  // must survive (PROTOCOL.md section 7), so every commit fsyncs the WAL. Claims are once
  // per gateway hello, never per frame, so the fsync is affordable.
  if (Status s = impl->exec("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;", "configuring");
      !s) {
    return propagate(s.error());
  }

  if (version == 0) {
    // Re-read under the write lock: another process may have created the schema meanwhile.
    if (Status s = impl->exec("BEGIN IMMEDIATE", "creating the schema of"); !s) {
      return propagate(s.error());
    }
    Stmt stmt;
    if (Status s = impl->prepare(stmt, "PRAGMA user_version", "creating the schema of"); !s) {
      (void)impl->exec("ROLLBACK", "");
      return propagate(s.error());
    }
    std::int64_t current = 0;
    {
      Use use(stmt.get());
      const int rc = use.step();
      if (rc != SQLITE_ROW) {
        (void)impl->exec("ROLLBACK", "");
        return impl->failure(rc, "reading the schema version of");
      }
      current = sqlite3_column_int64(stmt.get(), 0);
    }
    stmt.reset();
    Status created = current == 0 ? impl->exec(kSchemaSql, "creating the schema of") : ok();
    if (created) created = impl->exec("COMMIT", "creating the schema of");
    if (!created) {
      if (sqlite3_get_autocommit(impl->db.get()) == 0) (void)impl->exec("ROLLBACK", "");
      return propagate(created.error());
    }
    if (Status s = sync_parent_dir(config.path); !s) return propagate(s.error());
  }

  // quick_check reads every page (O(size), once at start): a damaged file is reported here
  // with SQLite's findings rather than as a failed claim later.
  {
    Stmt stmt;
    if (Status s = impl->prepare(stmt, "PRAGMA quick_check(1)", "checking"); !s) {
      return propagate(s.error());
    }
    Use use(stmt.get());
    const int rc = use.step();
    if (rc != SQLITE_ROW) return impl->failure(rc, "checking");
    const std::string verdict = column_text(stmt.get(), 0);
    if (verdict != "ok") {
      return fail(Errc::kCorruptFile,
                  fmt::format("room directory {} is damaged (quick_check: {}); restore a "
                              "backup, or move the file away to start with no room records",
                              impl->path, verdict));
    }
  }

  if (Status s = impl->prepare_all(); !s) return propagate(s.error());
  return std::unique_ptr<SqliteRoomDirectory>(new SqliteRoomDirectory(std::move(impl)));
}

Result<std::optional<RoomRecord>> SqliteRoomDirectory::lookup(std::string_view room, Seconds now) {
  if (Status s = detail::check_room(room); !s) return propagate(s.error());
  Impl& db = *impl_;
  const Seconds cutoff = detail::stale_cutoff(now, db.limits);

  RoomRecord record;
  bool stale = false;
  {
    // A read transaction: the record and its revocations come from one snapshot.
    auto txn = Impl::Transaction::begin(db, /*write=*/false, "looking up a room in");
    if (!txn) return propagate(txn.error());
    {
      Use use(db.select_room.get());
      use.text(1, room);
      const int rc = use.step();
      if (rc == SQLITE_DONE) return std::optional<RoomRecord>();
      if (rc != SQLITE_ROW) return db.failure(rc, "looking up a room in");
      sqlite3_stmt* row = use.get();
      if (sqlite3_column_bytes(row, 0) != static_cast<int>(record.owner_key.size())) {
        return fail(Errc::kCorruptFile, fmt::format("room directory {}: owner key of room {} "
                                                    "is not 32 bytes",
                                                    db.path, room));
      }
      std::memcpy(record.owner_key.data(), sqlite3_column_blob(row, 0), record.owner_key.size());
      record.last_seen = from_db(sqlite3_column_int64(row, 1));
      stale = record.last_seen <= cutoff;
    }
    if (!stale) {
      Use use(db.select_revocations.get());
      use.text(1, room).time(2, now);
      int rc = SQLITE_ROW;
      while ((rc = use.step()) == SQLITE_ROW) {
        Revocation revocation{column_text(use.get(), 0), std::nullopt};
        if (sqlite3_column_type(use.get(), 1) != SQLITE_NULL) {
          revocation.exp = from_db(sqlite3_column_int64(use.get(), 1));
        }
        record.revocations.push_back(std::move(revocation));
      }
      if (rc != SQLITE_DONE) return db.failure(rc, "reading revocations in");
    }
    if (Status s = txn->commit("looking up a room in"); !s) return propagate(s.error());
  }

  if (stale) {
    // Forgotten in its own write transaction; the deletes re-check staleness themselves, so
    // a claim that slipped in between is not undone.
    auto txn = Impl::Transaction::begin(db, /*write=*/true, "forgetting a stale room in");
    if (!txn) return propagate(txn.error());
    if (Status s = db.forget_if_stale(room, cutoff); !s) return propagate(s.error());
    if (Status s = txn->commit("forgetting a stale room in"); !s) {
      return propagate(s.error());
    }
    return std::optional<RoomRecord>();
  }
  record.room = std::string(room);
  return std::optional<RoomRecord>(std::move(record));
}

Result<ClaimOutcome> SqliteRoomDirectory::claim(std::string_view room, const OwnerKey& owner,
                                                Seconds now) {
  if (Status s = detail::check_room(room); !s) return propagate(s.error());
  Impl& db = *impl_;
  const Seconds cutoff = detail::stale_cutoff(now, db.limits);
  constexpr std::string_view kWhat = "claiming a room in";

  auto txn = Impl::Transaction::begin(db, /*write=*/true, kWhat);
  if (!txn) return propagate(txn.error());
  if (Status s = db.forget_if_stale(room, cutoff); !s) return propagate(s.error());

  ClaimOutcome outcome = ClaimOutcome::kClaimed;
  bool exists = false;
  {
    Use use(db.select_room.get());
    use.text(1, room);
    const int rc = use.step();
    if (rc == SQLITE_ROW) {
      exists = true;
      const void* key = sqlite3_column_blob(use.get(), 0);
      const bool same = sqlite3_column_bytes(use.get(), 0) == static_cast<int>(owner.size()) &&
                        std::memcmp(key, owner.data(), owner.size()) == 0;
      outcome = same ? ClaimOutcome::kAlreadyOwner : ClaimOutcome::kOwnedByOther;
    } else if (rc != SQLITE_DONE) {
      return db.failure(rc, kWhat);
    }
  }

  if (outcome == ClaimOutcome::kAlreadyOwner) {
    Use use(db.update_last_seen.get());
    use.text(1, room).blob(2, owner).time(3, now).time(4, cutoff);
    if (auto r = db.run(use, kWhat); !r) return propagate(r.error());
  } else if (!exists) {
    auto count = [&]() -> Result<std::uint64_t> {
      Use use(db.count_rooms.get());
      const int rc = use.step();
      if (rc != SQLITE_ROW) return db.failure(rc, kWhat);
      return static_cast<std::uint64_t>(sqlite3_column_int64(use.get(), 0));
    };
    auto records = count();
    if (!records) return propagate(records.error());
    if (*records >= db.limits.max_room_records) {
      // Stale records do not hold places: purge them all before answering kFull.
      if (auto r = db.purge_stale(cutoff); !r) return propagate(r.error());
      records = count();
      if (!records) return propagate(records.error());
    }
    if (*records >= db.limits.max_room_records) {
      outcome = ClaimOutcome::kFull;
    } else {
      Use use(db.insert_room.get());
      use.text(1, room).blob(2, owner).time(3, now);
      if (auto r = db.run(use, kWhat); !r) return propagate(r.error());
    }
  }

  // Committed even for kOwnedByOther / kFull: the stale records forgotten on the way stay
  // forgotten.
  if (Status s = txn->commit(kWhat); !s) return propagate(s.error());
  return outcome;
}

Status SqliteRoomDirectory::touch(std::string_view room, const OwnerKey& owner, Seconds now) {
  if (Status s = detail::check_room(room); !s) return s;
  Impl& db = *impl_;
  // One statement is its own transaction, committed (and fsync'ed) by the step.
  Use use(db.update_last_seen.get());
  use.text(1, room).blob(2, owner).time(3, now).time(4, detail::stale_cutoff(now, db.limits));
  auto changed = db.run(use, "updating last_seen in");
  if (!changed) return propagate(changed.error());
  if (*changed == 0) {
    return fail(Errc::kNotFound, fmt::format("room directory {}: room {} has no live record "
                                             "owned by this key",
                                             db.path, room));
  }
  return ok();
}

Status SqliteRoomDirectory::revoke(std::string_view room, std::string_view invite_id,
                                   std::optional<Seconds> exp, Seconds now) {
  if (Status s = detail::check_room(room); !s) return s;
  if (Status s = detail::check_invite_id(invite_id); !s) return s;
  Impl& db = *impl_;
  constexpr std::string_view kWhat = "revoking an invite in";

  auto txn = Impl::Transaction::begin(db, /*write=*/true, kWhat);
  if (!txn) return propagate(txn.error());
  {
    Use use(db.select_live_room.get());
    use.text(1, room).time(2, detail::stale_cutoff(now, db.limits));
    const int rc = use.step();
    if (rc == SQLITE_DONE) {
      return fail(Errc::kNotFound,
                  fmt::format("room directory {}: room {} has no live record", db.path, room));
    }
    if (rc != SQLITE_ROW) return db.failure(rc, kWhat);
  }
  if (exp && *exp <= now) return ok();  // already refused as invite_expired
  {
    Use use(db.upsert_revocation.get());
    use.text(1, room).text(2, invite_id).optional_time(3, exp);
    if (auto r = db.run(use, kWhat); !r) return propagate(r.error());
  }
  return txn->commit(kWhat);
}

Result<bool> SqliteRoomDirectory::is_revoked(std::string_view room, std::string_view invite_id,
                                             Seconds now) {
  if (Status s = detail::check_room(room); !s) return propagate(s.error());
  if (Status s = detail::check_invite_id(invite_id); !s) return propagate(s.error());
  Impl& db = *impl_;
  Use use(db.select_revoked.get());
  use.text(1, room).text(2, invite_id).time(3, now).time(4, detail::stale_cutoff(now, db.limits));
  const int rc = use.step();
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return db.failure(rc, "checking a revocation in");
}

Result<Purged> SqliteRoomDirectory::expire(Seconds now) {
  Impl& db = *impl_;
  const Seconds cutoff = detail::stale_cutoff(now, db.limits);
  constexpr std::string_view kWhat = "expiring records in";

  auto txn = Impl::Transaction::begin(db, /*write=*/true, kWhat);
  if (!txn) return propagate(txn.error());
  Purged expired;
  {
    Use use(db.purge_expired_revocations.get());
    use.time(1, now);
    auto r = db.run(use, kWhat);
    if (!r) return propagate(r.error());
    expired.revocations = *r;
  }
  auto stale = db.purge_stale(cutoff);
  if (!stale) return propagate(stale.error());
  const Purged purged{.rooms = stale->rooms,
                      .revocations = expired.revocations + stale->revocations};
  if (Status s = txn->commit(kWhat); !s) return propagate(s.error());
  return purged;
}

}  // namespace lanparty::directory
