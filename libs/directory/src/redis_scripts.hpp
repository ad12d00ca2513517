// SPDX-License-Identifier: MIT
// The Lua scripts behind RedisRoomDirectory and RedisRoomHoming. Redis runs a script
// atomically, so every check and its write happen in one step: no read-then-write race
// between relays. Key space (P = the cluster prefix, ARGV[1] of every script):
//   P:room:<room>        hash  owner (32 raw bytes), seen (Unix seconds)
//   P:revoked:<room>     hash  invite id -> exp (Unix seconds) or "-" (until forgotten)
//   P:rooms-by-seen      zset  room -> seen: counts records, finds stale ones
//   P:revoked-by-exp     zset  <invite id><room> -> exp: finds lapsed revocations
//   P:home:<room>        string  relay id, with a PX lease
//   P:relay:<id>         hash  addr, load, instance, with a short PX time to live (liveness)
//   P:relays             set   relay ids (pruned when their hash is gone)
//   P:schema             string  key space version
// Room times are the caller's clock (passed in, as for SQLite); leases are Redis's clock,
// the one clock every relay of the cluster shares. Keys are built inside the scripts from
// P, so a Redis Cluster (which needs every key in KEYS) is not supported: one primary.
#pragma once

#include <string_view>

namespace lanparty::directory::detail {

// Shared by the room scripts: forget(room) deletes a record with its revocations and
// returns how many revocations went.
#define LANPARTY_REDIS_PRELUDE                                                                 \
  "local P = ARGV[1]\n"                                                                        \
  "local function forget(room)\n"                                                              \
  "  local vk = P .. ':revoked:' .. room\n"                                                    \
  "  local ids = redis.call('HKEYS', vk)\n"                                                    \
  "  for _, id in ipairs(ids) do redis.call('ZREM', P .. ':revoked-by-exp', id .. room) end\n" \
  "  redis.call('DEL', vk, P .. ':room:' .. room)\n"                                           \
  "  redis.call('ZREM', P .. ':rooms-by-seen', room)\n"                                        \
  "  return #ids\n"                                                                            \
  "end\n"

// ARGV: P, room, now, cutoff. Nil, or {owner, seen, id1, exp1, ...} of revocations in force.
inline constexpr std::string_view kLookupScript = LANPARTY_REDIS_PRELUDE R"lua(
local room, now, cutoff = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local rec = redis.call('HMGET', P .. ':room:' .. room, 'owner', 'seen')
if not rec[1] then return false end
if tonumber(rec[2]) <= cutoff then forget(room) return false end
local out = {rec[1], rec[2]}
local revs = redis.call('HGETALL', P .. ':revoked:' .. room)
for i = 1, #revs, 2 do
  local exp = revs[i + 1]
  if exp == '-' or tonumber(exp) > now then
    out[#out + 1] = revs[i]
    out[#out + 1] = exp
  end
end
return out
)lua";

// ARGV: P, room, owner, now, cutoff, max. One of claimed, already_owner, owned_by_other, full.
inline constexpr std::string_view kClaimScript = LANPARTY_REDIS_PRELUDE R"lua(
local room, owner, cutoff, max = ARGV[2], ARGV[3], tonumber(ARGV[5]), tonumber(ARGV[6])
local rk, zk = P .. ':room:' .. room, P .. ':rooms-by-seen'
local rec = redis.call('HMGET', rk, 'owner', 'seen')
if rec[1] and tonumber(rec[2]) <= cutoff then
  forget(room)
  rec = {false, false}
end
if rec[1] then
  if rec[1] ~= owner then return 'owned_by_other' end
  redis.call('HSET', rk, 'seen', ARGV[4])
  redis.call('ZADD', zk, ARGV[4], room)
  return 'already_owner'
end
local n = redis.call('ZCARD', zk)
if n >= max then
  -- stale records hold no places: purge them all before answering full
  for _, r in ipairs(redis.call('ZRANGEBYSCORE', zk, '-inf', ARGV[5])) do forget(r) end
  n = redis.call('ZCARD', zk)
end
if n >= max then return 'full' end
redis.call('HSET', rk, 'owner', owner, 'seen', ARGV[4])
redis.call('ZADD', zk, ARGV[4], room)
return 'claimed'
)lua";

// ARGV: P, room, owner, now, cutoff. 1 touched, 0 no live record with this owner.
inline constexpr std::string_view kTouchScript = R"lua(
local P, room, owner, cutoff = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[5])
local rk = P .. ':room:' .. room
local rec = redis.call('HMGET', rk, 'owner', 'seen')
if rec[1] ~= owner or tonumber(rec[2]) <= cutoff then return 0 end
redis.call('HSET', rk, 'seen', ARGV[4])
redis.call('ZADD', P .. ':rooms-by-seen', ARGV[4], room)
return 1
)lua";

// ARGV: P, room, invite id, exp ('' = none), now, cutoff. 1 done (or nothing to do), 0 no
// live record. Revoking again never shortens: "-" beats any exp, else the later exp.
inline constexpr std::string_view kRevokeScript = R"lua(
local P, room, id, exp = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local now, cutoff = tonumber(ARGV[5]), tonumber(ARGV[6])
local seen = redis.call('HGET', P .. ':room:' .. room, 'seen')
if not seen or tonumber(seen) <= cutoff then return 0 end
if exp ~= '' and tonumber(exp) <= now then return 1 end
local vk, ek = P .. ':revoked:' .. room, P .. ':revoked-by-exp'
local cur = redis.call('HGET', vk, id)
if cur == '-' then return 1 end
if exp == '' then
  redis.call('HSET', vk, id, '-')
  redis.call('ZREM', ek, id .. room)
elseif (not cur) or tonumber(exp) > tonumber(cur) then
  redis.call('HSET', vk, id, exp)
  redis.call('ZADD', ek, exp, id .. room)
end
return 1
)lua";

// ARGV: P, room, invite id, now, cutoff. 1 revoked, 0 not.
inline constexpr std::string_view kIsRevokedScript = R"lua(
local P, room, id, now, cutoff = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local seen = redis.call('HGET', P .. ':room:' .. room, 'seen')
if not seen or tonumber(seen) <= cutoff then return 0 end
local exp = redis.call('HGET', P .. ':revoked:' .. room, id)
if not exp then return 0 end
if exp == '-' or tonumber(exp) > now then return 1 end
return 0
)lua";

// ARGV: P, now, cutoff, batch. {rooms purged, revocations purged, 1 if there may be more}.
// Members of revoked-by-exp are the 16-byte invite id followed by the room name.
inline constexpr std::string_view kExpireScript = LANPARTY_REDIS_PRELUDE R"lua(
local batch = tonumber(ARGV[4])
local ek, zk = P .. ':revoked-by-exp', P .. ':rooms-by-seen'
local lapsed = redis.call('ZRANGEBYSCORE', ek, '-inf', ARGV[2], 'LIMIT', 0, batch)
for _, m in ipairs(lapsed) do
  redis.call('HDEL', P .. ':revoked:' .. string.sub(m, 17), string.sub(m, 1, 16))
  redis.call('ZREM', ek, m)
end
local revs = #lapsed
local stale = redis.call('ZRANGEBYSCORE', zk, '-inf', ARGV[3], 'LIMIT', 0, batch)
for _, r in ipairs(stale) do revs = revs + forget(r) end
local more = 0
if #lapsed == batch or #stale == batch then more = 1 end
return {#stale, revs, more}
)lua";

// ARGV: P, id, addr, load, ttl_ms, instance. Registers or refreshes a relay: {1}; or, when
// another live process (another instance) holds the id, writes nothing: {0, its instance,
// its pttl_ms}. Two relays with one --advertise would otherwise share one id and its rooms.
inline constexpr std::string_view kRegisterScript = R"lua(
local P, id, inst = ARGV[1], ARGV[2], ARGV[6]
local k = P .. ':relay:' .. id
local cur = redis.call('HGET', k, 'instance')
if cur and cur ~= inst then return {0, cur, redis.call('PTTL', k)} end
redis.call('HSET', k, 'addr', ARGV[3], 'load', ARGV[4], 'instance', inst)
redis.call('PEXPIRE', k, ARGV[5])
redis.call('SADD', P .. ':relays', id)
return {1}
)lua";

// ARGV: P, id, instance, rooms... Removes the relay and the homes it holds among `rooms`,
// unless another instance holds the id (then nothing is touched: 0).
inline constexpr std::string_view kUnregisterScript = R"lua(
local P, id = ARGV[1], ARGV[2]
local k = P .. ':relay:' .. id
local cur = redis.call('HGET', k, 'instance')
if cur and cur ~= ARGV[3] then return 0 end
redis.call('DEL', k)
redis.call('SREM', P .. ':relays', id)
for i = 4, #ARGV do
  local hk = P .. ':home:' .. ARGV[i]
  if redis.call('GET', hk) == id then redis.call('DEL', hk) end
end
return 1
)lua";

// ARGV: P. {id1, addr1, load1, ...} of the registered relays; drops ids whose hash expired.
inline constexpr std::string_view kRelaysScript = R"lua(
local P = ARGV[1]
local out = {}
for _, id in ipairs(redis.call('SMEMBERS', P .. ':relays')) do
  local r = redis.call('HMGET', P .. ':relay:' .. id, 'addr', 'load')
  if r[1] then
    out[#out + 1] = id
    out[#out + 1] = r[1]
    out[#out + 1] = r[2] or '0'
  else
    redis.call('SREM', P .. ':relays', id)
  end
end
return out
)lua";

// ARGV: P, room, me, lease_ms. Homes the room on `me` unless another live relay (one whose
// registration has not expired) holds its lease. {1, me, my addr} or {0, other, its addr}.
inline constexpr std::string_view kHomeScript = R"lua(
local P, room, me, lease = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local hk = P .. ':home:' .. room
local cur = redis.call('GET', hk)
if cur and cur ~= me then
  local addr = redis.call('HGET', P .. ':relay:' .. cur, 'addr')
  if addr then return {0, cur, addr} end
end
redis.call('SET', hk, me, 'PX', lease)
return {1, me, redis.call('HGET', P .. ':relay:' .. me, 'addr') or ''}
)lua";

// ARGV: P, me, lease_ms, rooms... Extends my leases; re-takes a lease that ran out when
// nobody else took it. Returns the rooms another live relay holds now (lost).
inline constexpr std::string_view kRefreshScript = R"lua(
local P, me, lease = ARGV[1], ARGV[2], ARGV[3]
local lost = {}
for i = 4, #ARGV do
  local hk = P .. ':home:' .. ARGV[i]
  local cur = redis.call('GET', hk)
  if cur == me then
    redis.call('PEXPIRE', hk, lease)
  elseif cur and redis.call('EXISTS', P .. ':relay:' .. cur) == 1 then
    lost[#lost + 1] = ARGV[i]
  else
    redis.call('SET', hk, me, 'PX', lease)
  end
end
return lost
)lua";

// ARGV: P, room. Nil when the room has no home on a live relay, else {id, addr, pttl_ms}.
inline constexpr std::string_view kWhoScript = R"lua(
local P, room = ARGV[1], ARGV[2]
local hk = P .. ':home:' .. room
local cur = redis.call('GET', hk)
if not cur then return false end
local addr = redis.call('HGET', P .. ':relay:' .. cur, 'addr')
if not addr then return false end
return {cur, addr, redis.call('PTTL', hk)}
)lua";

// ARGV: P, room, me. Gives up my lease of the room (it emptied here); 1 if I held it.
inline constexpr std::string_view kReleaseScript = R"lua(
local hk = ARGV[1] .. ':home:' .. ARGV[2]
if redis.call('GET', hk) == ARGV[3] then
  redis.call('DEL', hk)
  return 1
end
return 0
)lua";

#undef LANPARTY_REDIS_PRELUDE

}  // namespace lanparty::directory::detail
