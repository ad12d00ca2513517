// SPDX-License-Identifier: MIT
// RedisRoomHoming: registration, leases and lookups, each one script of redis_scripts.hpp.
#include "lanparty/directory/redis_room_homing.hpp"

#include <algorithm>
#include <charconv>
#include <random>
#include <system_error>
#include <utility>

#include <fmt/format.h>

#include "lanparty/base/errc.hpp"
#include "lanparty/directory/redis_room_directory.hpp"
#include "redis_client.hpp"
#include "redis_scripts.hpp"
#include "validate.hpp"

namespace lanparty::directory {
namespace {

auto propagate(const Error& e) { return fail(e.code, e.context); }

constexpr detail::Script kRegister{"register", detail::kRegisterScript};
constexpr detail::Script kUnregister{"unregister", detail::kUnregisterScript};
constexpr detail::Script kRelays{"relays", detail::kRelaysScript};
constexpr detail::Script kHome{"home", detail::kHomeScript};
constexpr detail::Script kRefresh{"refresh", detail::kRefreshScript};
constexpr detail::Script kWho{"who", detail::kWhoScript};
constexpr detail::Script kRelease{"release", detail::kReleaseScript};

auto unexpected_reply(std::string_view what) {
  return fail(Errc::kParseError,
              fmt::format("redis room homing: {} returned an unexpected reply", what));
}

std::string str(const redisReply* r) { return std::string(detail::text_of(*r)); }

// 64 random bits in hex: tells two processes with one relay id apart (not a secret).
std::string random_instance() {
  std::random_device device;
  const std::uint64_t bits = (std::uint64_t{device()} << 32) | device();
  return fmt::format("{:016x}", bits);
}

}  // namespace

struct RedisRoomHoming::Impl {
  RedisHomingConfig config;
  detail::RedisClient client;
  std::string instance = random_instance();

  explicit Impl(RedisHomingConfig c) : config(std::move(c)), client(config.endpoint) {}

  [[nodiscard]] Result<detail::Reply> run(const detail::Script& script,
                                          std::vector<std::string> args, std::string_view what) {
    args.insert(args.begin(), config.prefix);
    return client.eval(script, {}, args, what);
  }
};

RedisRoomHoming::RedisRoomHoming(std::unique_ptr<Impl> impl) noexcept : impl_(std::move(impl)) {}
RedisRoomHoming::~RedisRoomHoming() = default;

Result<std::unique_ptr<RedisRoomHoming>> RedisRoomHoming::open(RedisHomingConfig config) {
  if (Status s = check_redis_prefix(config.prefix); !s) return propagate(s.error());
  if (config.relay_id.empty() || config.relay_id.size() > 255) {
    return fail(Errc::kInvalidArgument, "room homing: the relay id must be 1 to 255 bytes");
  }
  return std::unique_ptr<RedisRoomHoming>(
      new RedisRoomHoming(std::make_unique<Impl>(std::move(config))));
}

const std::string& RedisRoomHoming::relay_id() const noexcept { return impl_->config.relay_id; }

const std::string& RedisRoomHoming::instance() const noexcept { return impl_->instance; }

Status RedisRoomHoming::register_relay(std::string_view address, std::uint64_t load,
                                       std::chrono::milliseconds ttl,
                                       std::chrono::milliseconds* conflict_ttl) {
  if (Status s = detail::check_homing_duration(ttl, "a registration's ttl"); !s) return s;
  if (address.empty()) return fail(Errc::kInvalidArgument, "room homing: empty relay address");
  auto r = impl_->run(kRegister,
                      {impl_->config.relay_id, std::string(address), std::to_string(load),
                       std::to_string(ttl.count()), impl_->instance},
                      "registering this relay");
  if (!r) return propagate(r.error());
  const redisReply& reply = **r;
  if (reply.type != REDIS_REPLY_ARRAY || reply.elements < 1 ||
      reply.element[0]->type != REDIS_REPLY_INTEGER) {
    return unexpected_reply("register");
  }
  if (reply.element[0]->integer == 1) return ok();
  if (reply.elements != 3 || reply.element[2]->type != REDIS_REPLY_INTEGER) {
    return unexpected_reply("register");
  }
  const std::chrono::milliseconds left{std::max<long long>(reply.element[2]->integer, 0)};
  if (conflict_ttl != nullptr) *conflict_ttl = left;
  return fail(
      std::make_error_code(std::errc::address_in_use),
      fmt::format("relay {} is already registered in this cluster by another live "
                  "relay process (instance {}, this relay is {}; registered for {} ms "
                  "more unless it refreshes): each relay needs its own --advertise",
                  impl_->config.relay_id, str(reply.element[1]), impl_->instance, left.count()));
}

Status RedisRoomHoming::unregister_relay(std::span<const std::string> rooms) {
  std::vector<std::string> args{impl_->config.relay_id, impl_->instance};
  args.insert(args.end(), rooms.begin(), rooms.end());
  auto r = impl_->run(kUnregister, std::move(args), "unregistering this relay");
  if (!r) return propagate(r.error());
  return ok();
}

Result<std::vector<RelayEntry>> RedisRoomHoming::relays() {
  auto r = impl_->run(kRelays, {}, "listing relays");
  if (!r) return propagate(r.error());
  const redisReply& reply = **r;
  if (reply.type != REDIS_REPLY_ARRAY || reply.elements % 3 != 0) return unexpected_reply("relays");
  std::vector<RelayEntry> out;
  for (std::size_t i = 0; i < reply.elements; i += 3) {
    RelayEntry e{.id = str(reply.element[i]), .address = str(reply.element[i + 1]), .load = 0};
    const std::string_view load = detail::text_of(*reply.element[i + 2]);
    (void)std::from_chars(load.data(), load.data() + load.size(), e.load);
    out.push_back(std::move(e));
  }
  return out;
}

Result<Home> RedisRoomHoming::home(std::string_view room, std::chrono::milliseconds lease) {
  if (Status s = detail::check_room(room); !s) return propagate(s.error());
  if (Status s = detail::check_homing_duration(lease, "a lease"); !s) return propagate(s.error());
  auto r =
      impl_->run(kHome, {std::string(room), impl_->config.relay_id, std::to_string(lease.count())},
                 "homing a room");
  if (!r) return propagate(r.error());
  const redisReply& reply = **r;
  if (reply.type != REDIS_REPLY_ARRAY || reply.elements != 3) return unexpected_reply("home");
  return Home{.relay_id = str(reply.element[1]),
              .address = str(reply.element[2]),
              .mine = reply.element[0]->integer == 1};
}

Result<std::vector<std::string>> RedisRoomHoming::refresh(std::span<const std::string> rooms,
                                                          std::chrono::milliseconds lease) {
  if (Status s = detail::check_homing_duration(lease, "a lease"); !s) return propagate(s.error());
  std::vector<std::string> lost;
  if (rooms.empty()) return lost;
  // In batches: one script blocks the whole server while it runs, and 5000 leases in one
  // (a busy relay) took tens of milliseconds in bench/directory; 256 take about one.
  constexpr std::size_t kBatch = 256;
  for (std::size_t first = 0; first < rooms.size(); first += kBatch) {
    const auto batch = rooms.subspan(first, std::min(kBatch, rooms.size() - first));
    std::vector<std::string> args{impl_->config.relay_id, std::to_string(lease.count())};
    args.insert(args.end(), batch.begin(), batch.end());
    auto r = impl_->run(kRefresh, std::move(args), "refreshing leases");
    if (!r) return propagate(r.error());
    const redisReply& reply = **r;
    if (reply.type != REDIS_REPLY_ARRAY) return unexpected_reply("refresh");
    for (std::size_t i = 0; i < reply.elements; ++i) lost.push_back(str(reply.element[i]));
  }
  return lost;
}

Result<std::optional<Home>> RedisRoomHoming::home_of(std::string_view room) {
  if (Status s = detail::check_room(room); !s) return propagate(s.error());
  auto r = impl_->run(kWho, {std::string(room)}, "asking who is home");
  if (!r) return propagate(r.error());
  const redisReply& reply = **r;
  if (reply.type == REDIS_REPLY_NIL) return std::optional<Home>();
  if (reply.type != REDIS_REPLY_ARRAY || reply.elements != 3) return unexpected_reply("who");
  Home home{.relay_id = str(reply.element[0]), .address = str(reply.element[1]), .mine = false};
  home.mine = home.relay_id == impl_->config.relay_id;
  return std::optional<Home>(std::move(home));
}

Status RedisRoomHoming::release(std::string_view room) {
  if (Status s = detail::check_room(room); !s) return s;
  auto r = impl_->run(kRelease, {std::string(room), impl_->config.relay_id}, "releasing a lease");
  if (!r) return propagate(r.error());
  return ok();
}

}  // namespace lanparty::directory
