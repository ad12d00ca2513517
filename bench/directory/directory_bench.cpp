// SPDX-License-Identifier: MIT
// Load test of the Redis room directory (issue 17): N rooms claimed and homed over R
// simulated relays (one thread and one connection pair each, as each relay's directory
// worker), then looked up; prints claim/home/lookup/who/refresh latency percentiles and the
// server's memory per room (INFO memory). Starts its own redis-server (AOF everysec, as
// docs/architecture.md asks of production) unless --redis names one. See README.md.
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "lanparty/directory/redis_room_directory.hpp"
#include "lanparty/directory/redis_room_homing.hpp"

namespace {

using namespace lanparty;
using namespace lanparty::directory;
using Clock = std::chrono::steady_clock;

struct Samples {
  std::vector<double> us;
  void add(Clock::duration d) {
    us.push_back(std::chrono::duration<double, std::micro>(d).count());
  }
};

void print_row(std::string_view what, std::vector<double> us) {
  if (us.empty()) return;
  std::sort(us.begin(), us.end());
  auto at = [&](double q) {
    return us[std::min(us.size() - 1,
                       static_cast<std::size_t>(q * static_cast<double>(us.size())))];
  };
  fmt::print("{:<22} {:>8} {:>9.0f} {:>9.0f} {:>9.0f} {:>9.0f}\n", what, us.size(), at(0.5),
             at(0.99), at(0.999), us.back());
}

// `redis-cli ... INFO memory` -> used_memory in bytes (redis-cli comes with redis-server).
long long used_memory(const std::string& cli_target) {
  const std::string cmd = fmt::format("redis-cli {} INFO memory", cli_target);
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return -1;
  char line[512];
  long long value = -1;
  while (std::fgets(line, sizeof line, p) != nullptr) {
    if (std::sscanf(line, "used_memory:%lld", &value) == 1) break;
  }
  ::pclose(p);
  return value;
}

class OwnServer {
 public:
  explicit OwnServer(const std::filesystem::path& dir) : dir_(dir) {
    std::filesystem::create_directories(dir_);
    sock_ = (dir_ / "redis.sock").string();
    pid_ = ::fork();
    if (pid_ == 0) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      ::execl("/usr/bin/redis-server", "redis-server", "--port", "0", "--unixsocket", sock_.c_str(),
              "--unixsocketperm", "700", "--save", "", "--appendonly", "yes", "--appendfsync",
              "everysec", "--dir", dir_.c_str(), "--logfile", (dir_ / "redis.log").c_str(),
              static_cast<char*>(nullptr));
      ::_exit(127);
    }
    for (int i = 0; i < 500; ++i) {
      if (std::system(fmt::format("redis-cli -s {} PING >/dev/null 2>&1", sock_).c_str()) == 0) {
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    fmt::print(stderr, "redis-server did not start; see {}/redis.log\n", dir_.string());
    std::exit(1);
  }
  ~OwnServer() {
    ::kill(pid_, SIGTERM);
    ::waitpid(pid_, nullptr, 0);
    std::filesystem::remove_all(dir_);
  }
  [[nodiscard]] const std::string& socket() const { return sock_; }

 private:
  std::filesystem::path dir_;
  std::string sock_;
  pid_t pid_ = -1;
};

OwnerKey owner_of(std::size_t room) {
  OwnerKey k{};
  for (std::size_t i = 0; i < k.size(); ++i)
    k[i] = static_cast<std::uint8_t>((room * 131 + i * 7) & 0xff);
  return k;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Load test of the Redis room directory and room homing"};
  std::size_t rooms = 100000;
  std::size_t relays = 20;
  std::size_t lookups = 100000;
  std::string redis_url;
  app.add_option("--rooms", rooms, "rooms claimed and homed")->check(CLI::Range(1, 10000000));
  app.add_option("--relays", relays, "simulated relays (threads)")->check(CLI::Range(1, 256));
  app.add_option("--lookups", lookups, "lookups (and who-is-home) after the claims");
  app.add_option("--redis", redis_url,
                 "an existing server (redis://HOST:PORT/DB); default: start one (AOF everysec) "
                 "on a unix socket in a temp dir");
  CLI11_PARSE(app, argc, argv);

  std::unique_ptr<OwnServer> own;
  RedisEndpoint endpoint;
  std::string cli_target;
  if (redis_url.empty()) {
    own = std::make_unique<OwnServer>(std::filesystem::temp_directory_path() /
                                      fmt::format("lanparty-dirbench-{}", ::getpid()));
    endpoint.unix_path = own->socket();
    cli_target = "-s " + own->socket();
  } else {
    auto parsed = parse_redis_url(redis_url);
    if (!parsed) {
      fmt::print(stderr, "{}\n", parsed.error().describe());
      return 2;
    }
    endpoint = *parsed;
    cli_target = endpoint.unix_path.empty()
                     ? fmt::format("-h {} -p {} -n {}", endpoint.host, endpoint.port, endpoint.db)
                     : fmt::format("-s {} -n {}", endpoint.unix_path, endpoint.db);
  }
  endpoint.command_timeout = std::chrono::seconds(5);
  const std::string prefix = fmt::format("bench{}", ::getpid());
  const Seconds now{std::chrono::seconds(1'800'000'000)};
  const Limits limits{.room_ttl = kDefaultRoomTtl, .max_room_records = rooms + 1};

  const long long mem_before = used_memory(cli_target);
  std::vector<Samples> claim(relays), home(relays), lookup(relays), who(relays), refresh(relays);
  std::atomic<int> errors{0};
  std::atomic<std::size_t> unexpected{0};
  auto run_phase = [&](auto body) {
    std::vector<std::thread> threads;
    for (std::size_t r = 0; r < relays; ++r) threads.emplace_back(body, r);
    for (auto& t : threads) t.join();
  };

  std::vector<std::unique_ptr<RedisRoomDirectory>> dirs(relays);
  std::vector<std::unique_ptr<RedisRoomHoming>> homes(relays);
  for (std::size_t r = 0; r < relays; ++r) {
    auto d = RedisRoomDirectory::open({.endpoint = endpoint, .prefix = prefix, .limits = limits});
    auto h = RedisRoomHoming::open(
        {.endpoint = endpoint, .prefix = prefix, .relay_id = fmt::format("relay{}", r)});
    if (!d || !h) {
      fmt::print(stderr, "{}\n", (!d ? d.error() : h.error()).describe());
      return 1;
    }
    if (auto s = (*h)->register_relay(fmt::format("10.213.99.{}:4433", r + 1), 0,
                                      std::chrono::minutes(10));
        !s) {
      fmt::print(stderr, "{}\n", s.error().describe());
      return 1;
    }
    dirs[r] = std::move(*d);
    homes[r] = std::move(*h);
  }

  // Phase 1: relay r claims and homes rooms r, r + R, r + 2R, ...
  const auto t1 = Clock::now();
  run_phase([&](std::size_t r) {
    for (std::size_t i = r; i < rooms; i += relays) {
      const std::string name = fmt::format("ROOM{:07}", i);
      auto a = Clock::now();
      auto c = dirs[r]->claim(name, owner_of(i), now);
      auto b = Clock::now();
      claim[r].add(b - a);
      auto h = homes[r]->home(name, kDefaultHomeLease * 60);  // long: phase 2 must see them
      home[r].add(Clock::now() - b);
      if (!c || !h) {
        ++errors;
      } else if (*c != ClaimOutcome::kClaimed || !h->mine) {
        ++unexpected;
      }
    }
  });
  const double claim_secs = std::chrono::duration<double>(Clock::now() - t1).count();
  const long long mem_after = used_memory(cli_target);

  // Phase 2: random lookups and who-is-home from every relay.
  const auto t2 = Clock::now();
  run_phase([&](std::size_t r) {
    std::mt19937_64 rng(r + 1);
    std::uniform_int_distribution<std::size_t> pick(0, rooms - 1);
    for (std::size_t n = r; n < lookups; n += relays) {
      const std::size_t i = pick(rng);
      const std::string name = fmt::format("ROOM{:07}", i);
      auto a = Clock::now();
      auto rec = dirs[r]->lookup(name, now);
      auto b = Clock::now();
      lookup[r].add(b - a);
      auto w = homes[r]->home_of(name);
      who[r].add(Clock::now() - b);
      if (!rec || !w) {
        ++errors;
      } else if (!*rec || !*w || (*w)->relay_id != fmt::format("relay{}", i % relays)) {
        ++unexpected;
      }
    }
  });
  const double lookup_secs = std::chrono::duration<double>(Clock::now() - t2).count();

  // Phase 3: each relay refreshes all its leases in one call, 5 times.
  run_phase([&](std::size_t r) {
    std::vector<std::string> mine;
    for (std::size_t i = r; i < rooms; i += relays) mine.push_back(fmt::format("ROOM{:07}", i));
    for (int k = 0; k < 5; ++k) {
      auto a = Clock::now();
      auto lost = homes[r]->refresh(mine, kDefaultHomeLease);
      refresh[r].add(Clock::now() - a);
      if (!lost) {
        ++errors;
      } else if (!lost->empty()) {
        ++unexpected;
      }
    }
  });

  auto merge = [](const std::vector<Samples>& per) {
    std::vector<double> all;
    for (const auto& s : per) all.insert(all.end(), s.us.begin(), s.us.end());
    return all;
  };
  fmt::print(
      "rooms {} over {} relays, {} server; claims+homes {:.1f} s ({:.0f} rooms/s), "
      "lookups+who {:.1f} s\n",
      rooms, relays, own ? "own (unix socket, AOF everysec)" : endpoint.describe(), claim_secs,
      static_cast<double>(rooms) / claim_secs, lookup_secs);
  fmt::print("{:<22} {:>8} {:>9} {:>9} {:>9} {:>9}\n", "call (microseconds)", "n", "p50", "p99",
             "p99.9", "max");
  print_row("claim", merge(claim));
  print_row("home", merge(home));
  print_row("lookup", merge(lookup));
  print_row("home_of", merge(who));
  print_row(fmt::format("refresh {} leases", rooms / relays), merge(refresh));
  if (mem_before >= 0 && mem_after >= 0) {
    fmt::print(
        "used_memory {} -> {} bytes: {:.0f} bytes per room (record, index entry, home "
        "lease)\n",
        mem_before, mem_after,
        static_cast<double>(mem_after - mem_before) / static_cast<double>(rooms));
  }
  fmt::print("errors {}, unexpected answers {}\n", errors.load(), unexpected.load());
  return errors == 0 && unexpected == 0 ? 0 : 1;
}
