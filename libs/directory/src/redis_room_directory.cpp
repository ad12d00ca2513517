// SPDX-License-Identifier: MIT
// RedisRoomDirectory: each RoomDirectory call is one script of redis_scripts.hpp.
#include "lanparty/directory/redis_room_directory.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <utility>

#include <fmt/format.h>

#include "lanparty/base/errc.hpp"
#include "redis_client.hpp"
#include "redis_scripts.hpp"
#include "validate.hpp"

namespace lanparty::directory {
namespace {

auto propagate(const Error& e) { return fail(e.code, e.context); }

std::string secs(Seconds t) { return std::to_string(t.time_since_epoch().count()); }

Result<std::int64_t> parse_secs(std::string_view text, std::string_view what) {
  std::int64_t v = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || ptr != text.data() + text.size()) {
    return fail(Errc::kCorruptFile,
                fmt::format("redis room directory: {} '{}' is not a number", what, text));
  }
  return v;
}

constexpr detail::Script kLookup{"lookup", detail::kLookupScript};
constexpr detail::Script kClaim{"claim", detail::kClaimScript};
constexpr detail::Script kTouch{"touch", detail::kTouchScript};
constexpr detail::Script kRevoke{"revoke", detail::kRevokeScript};
constexpr detail::Script kIsRevoked{"is_revoked", detail::kIsRevokedScript};
constexpr detail::Script kExpire{"expire", detail::kExpireScript};

}  // namespace

Status check_redis_prefix(std::string_view prefix) {
  const bool valid = !prefix.empty() && prefix.size() <= 64 &&
                     std::all_of(prefix.begin(), prefix.end(), [](char c) {
                       return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                              (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
                     });
  if (!valid) {
    return fail(Errc::kInvalidArgument,
                fmt::format("redis key prefix '{}' must be 1 to 64 of A-Z a-z 0-9 _ . -", prefix));
  }
  return ok();
}

struct RedisRoomDirectory::Impl {
  RedisDirectoryConfig config;
  detail::RedisClient client;

  explicit Impl(RedisDirectoryConfig c) : config(std::move(c)), client(config.endpoint) {}

  [[nodiscard]] std::string cutoff(Seconds now) const {
    return secs(detail::stale_cutoff(now, config.limits));
  }
  [[nodiscard]] Result<detail::Reply> run(const detail::Script& script,
                                          std::vector<std::string> args, std::string_view what) {
    args.insert(args.begin(), config.prefix);
    return client.eval(script, {}, args, what);
  }
};

RedisRoomDirectory::RedisRoomDirectory(std::unique_ptr<Impl> impl) noexcept
    : impl_(std::move(impl)) {}
RedisRoomDirectory::~RedisRoomDirectory() = default;

Result<std::unique_ptr<RedisRoomDirectory>> RedisRoomDirectory::open(RedisDirectoryConfig config) {
  if (config.limits.room_ttl <= std::chrono::seconds::zero()) {
    return fail(Errc::kInvalidArgument, "room directory: room_ttl must be positive");
  }
  if (config.limits.max_room_records == 0) {
    return fail(Errc::kInvalidArgument, "room directory: max_room_records must be positive");
  }
  if (config.expire_batch == 0) {
    return fail(Errc::kInvalidArgument, "room directory: expire_batch must be positive");
  }
  if (Status s = check_redis_prefix(config.prefix); !s) return propagate(s.error());
  auto impl = std::make_unique<Impl>(std::move(config));
  if (Status s = impl->client.connect(); !s) return propagate(s.error());

  // SET NX then GET: an empty server gets our version, a server of a newer relay is left
  // untouched and refused.
  const std::string key = impl->config.prefix + ":schema";
  const std::string version = std::to_string(kRedisSchemaVersion);
  const std::string_view set_args[] = {"SET", key, version, "NX"};
  if (auto r = impl->client.command(set_args, "writing the key space version"); !r) {
    return propagate(r.error());
  }
  const std::string_view get_args[] = {"GET", key};
  auto got = impl->client.command(get_args, "reading the key space version");
  if (!got) return propagate(got.error());
  auto stored = parse_secs(detail::text_of(**got), "key space version");
  if (!stored) return propagate(stored.error());
  if (*stored != kRedisSchemaVersion) {
    return fail(Errc::kInvalidArgument,
                fmt::format("room directory {} prefix '{}' has key space version {}, this relay "
                            "knows {}: run the matching lanparty-relay, or use another prefix",
                            impl->config.endpoint.describe(), impl->config.prefix, *stored,
                            kRedisSchemaVersion));
  }
  return std::unique_ptr<RedisRoomDirectory>(new RedisRoomDirectory(std::move(impl)));
}

Result<std::optional<RoomRecord>> RedisRoomDirectory::lookup(std::string_view room, Seconds now) {
  if (Status s = detail::check_room(room); !s) return propagate(s.error());
  auto r =
      impl_->run(kLookup, {std::string(room), secs(now), impl_->cutoff(now)}, "looking up a room");
  if (!r) return propagate(r.error());
  const redisReply& reply = **r;
  if (reply.type == REDIS_REPLY_NIL) return std::optional<RoomRecord>();
  if (reply.type != REDIS_REPLY_ARRAY || reply.elements < 2 || reply.elements % 2 != 0) {
    return fail(Errc::kParseError, "redis room directory: lookup returned an unexpected reply");
  }
  RoomRecord record;
  record.room = std::string(room);
  const std::string_view owner = detail::text_of(*reply.element[0]);
  if (owner.size() != record.owner_key.size()) {
    return fail(Errc::kCorruptFile,
                fmt::format("redis room directory: owner key of room {} is not 32 bytes", room));
  }
  std::memcpy(record.owner_key.data(), owner.data(), owner.size());
  auto seen = parse_secs(detail::text_of(*reply.element[1]), "last seen");
  if (!seen) return propagate(seen.error());
  record.last_seen = Seconds(std::chrono::seconds(*seen));
  for (std::size_t i = 2; i + 1 < reply.elements; i += 2) {
    Revocation revocation{std::string(detail::text_of(*reply.element[i])), std::nullopt};
    const std::string_view exp = detail::text_of(*reply.element[i + 1]);
    if (exp != "-") {
      auto e = parse_secs(exp, "revocation exp");
      if (!e) return propagate(e.error());
      revocation.exp = Seconds(std::chrono::seconds(*e));
    }
    record.revocations.push_back(std::move(revocation));
  }
  std::sort(record.revocations.begin(), record.revocations.end(),
            [](const Revocation& a, const Revocation& b) { return a.invite_id < b.invite_id; });
  return std::optional<RoomRecord>(std::move(record));
}

Result<ClaimOutcome> RedisRoomDirectory::claim(std::string_view room, const OwnerKey& owner,
                                               Seconds now) {
  if (Status s = detail::check_room(room); !s) return propagate(s.error());
  auto r = impl_->run(
      kClaim,
      {std::string(room), std::string(reinterpret_cast<const char*>(owner.data()), owner.size()),
       secs(now), impl_->cutoff(now), std::to_string(impl_->config.limits.max_room_records)},
      "claiming a room");
  if (!r) return propagate(r.error());
  const std::string_view answer = detail::text_of(**r);
  if (answer == "claimed") return ClaimOutcome::kClaimed;
  if (answer == "already_owner") return ClaimOutcome::kAlreadyOwner;
  if (answer == "owned_by_other") return ClaimOutcome::kOwnedByOther;
  if (answer == "full") return ClaimOutcome::kFull;
  return fail(Errc::kParseError, fmt::format("redis room directory: claim returned '{}'", answer));
}

Status RedisRoomDirectory::touch(std::string_view room, const OwnerKey& owner, Seconds now) {
  if (Status s = detail::check_room(room); !s) return s;
  auto r = impl_->run(
      kTouch,
      {std::string(room), std::string(reinterpret_cast<const char*>(owner.data()), owner.size()),
       secs(now), impl_->cutoff(now)},
      "updating last_seen");
  if (!r) return propagate(r.error());
  auto touched = detail::integer_of(**r, "touch");
  if (!touched) return propagate(touched.error());
  if (*touched == 0) {
    return fail(Errc::kNotFound,
                fmt::format("room directory {}: room {} has no live record owned by this key",
                            impl_->config.endpoint.describe(), room));
  }
  return ok();
}

Status RedisRoomDirectory::revoke(std::string_view room, std::string_view invite_id,
                                  std::optional<Seconds> exp, Seconds now) {
  if (Status s = detail::check_room(room); !s) return s;
  if (Status s = detail::check_invite_id(invite_id); !s) return s;
  auto r = impl_->run(kRevoke,
                      {std::string(room), std::string(invite_id), exp ? secs(*exp) : std::string(),
                       secs(now), impl_->cutoff(now)},
                      "revoking an invite");
  if (!r) return propagate(r.error());
  auto done = detail::integer_of(**r, "revoke");
  if (!done) return propagate(done.error());
  if (*done == 0) {
    return fail(Errc::kNotFound, fmt::format("room directory {}: room {} has no live record",
                                             impl_->config.endpoint.describe(), room));
  }
  return ok();
}

Result<bool> RedisRoomDirectory::is_revoked(std::string_view room, std::string_view invite_id,
                                            Seconds now) {
  if (Status s = detail::check_room(room); !s) return propagate(s.error());
  if (Status s = detail::check_invite_id(invite_id); !s) return propagate(s.error());
  auto r = impl_->run(kIsRevoked,
                      {std::string(room), std::string(invite_id), secs(now), impl_->cutoff(now)},
                      "checking a revocation");
  if (!r) return propagate(r.error());
  auto revoked = detail::integer_of(**r, "is_revoked");
  if (!revoked) return propagate(revoked.error());
  return *revoked != 0;
}

Result<Purged> RedisRoomDirectory::expire(Seconds now) {
  Purged total;
  for (;;) {
    auto r = impl_->run(kExpire,
                        {secs(now), impl_->cutoff(now), std::to_string(impl_->config.expire_batch)},
                        "expiring records");
    if (!r) return propagate(r.error());
    const redisReply& reply = **r;
    if (reply.type != REDIS_REPLY_ARRAY || reply.elements != 3) {
      return fail(Errc::kParseError, "redis room directory: expire returned an unexpected reply");
    }
    auto rooms = detail::integer_of(*reply.element[0], "expire");
    auto revs = detail::integer_of(*reply.element[1], "expire");
    auto more = detail::integer_of(*reply.element[2], "expire");
    if (!rooms || !revs || !more) {
      return fail(Errc::kParseError, "redis room directory: expire returned an unexpected reply");
    }
    total.rooms += static_cast<std::size_t>(*rooms);
    total.revocations += static_cast<std::size_t>(*revs);
    if (*more == 0) return total;
  }
}

}  // namespace lanparty::directory
