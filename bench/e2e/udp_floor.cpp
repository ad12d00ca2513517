// SPDX-License-Identifier: MIT
// Floors under the party's figures on the e2e harness: the same hops and system calls as
// client, relay and gateway, with no QUIC, no crypto and no policy. Run by
// bench/e2e/relay_floor.sh (CPU) and bench/e2e/rtt_floor.sh (round trip).
//
// CPU: the sender sends one UDP GSO train per interval (as the client does with a burst read
// from its TAP); the forwarder reads it with UDP_GRO and recvmmsg, sends it on as one train and
// answers the sender with one small datagram (the relay's ACK); the sink answers each train
// with one small datagram (the gateway's ACK), which the forwarder reads.
//   udp_floor send    LOCAL_IP FORWARDER_IP:PORT MBIT SIZE INTERVAL_US SECONDS
//   udp_floor forward LISTEN_IP:PORT SINK_IP:PORT [quiet]
//   udp_floor sink    LISTEN_IP:PORT [quiet]      (quiet: no answers, only the trains)
//
// Round trip: a plaintext Layer 2 tunnel. `tap` bridges a new TAP device to UDP (the client),
// `packet` bridges an interface through an AF_PACKET socket (the gateway), `bridge` passes
// datagrams between its two peers (the relay). One frame per datagram, one system call each.
//   udp_floor tap    TAP_NAME LOCAL_IP:PORT RELAY_IP:PORT
//   udp_floor packet IFNAME LOCAL_IP:PORT RELAY_IP:PORT
//   udp_floor bridge LISTEN_IP:PORT PEER_A_IP:PORT PEER_B_IP:PORT
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

namespace {

constexpr std::size_t kBatch = 16;
constexpr std::size_t kBufferSize = 65536;
constexpr std::size_t kAckSize = 40;

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "udp_floor: %s: %s\n", what, std::strerror(errno));
  std::exit(1);
}

sockaddr_in parse_endpoint(const std::string& text) {
  const auto colon = text.rfind(':');
  sockaddr_in address{};
  address.sin_family = AF_INET;
  const std::string host = colon == std::string::npos ? text : text.substr(0, colon);
  address.sin_port = colon == std::string::npos
                         ? 0
                         : htons(static_cast<std::uint16_t>(std::stoi(text.substr(colon + 1))));
  if (inet_pton(AF_INET, host.c_str(), &address.sin_addr) != 1) {
    std::fprintf(stderr, "udp_floor: not an IPv4 address: %s\n", text.c_str());
    std::exit(2);
  }
  return address;
}

int bound_socket(const sockaddr_in& address, bool gro) {
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  if (fd < 0) fail("socket");
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) fail("bind");
  const int on = 1;
  if (gro && ::setsockopt(fd, SOL_UDP, UDP_GRO, &on, sizeof(on)) != 0) fail("UDP_GRO");
  return fd;
}

// One datagram of `length` bytes, cut into `segment`-byte datagrams by the kernel when
// segment < length.
void send_train(int fd, const sockaddr_in& to, const char* data, std::size_t length,
                std::size_t segment) {
  iovec iov{const_cast<char*>(data), length};
  alignas(cmsghdr) std::array<char, CMSG_SPACE(sizeof(std::uint16_t))> control{};
  msghdr message{};
  message.msg_name = const_cast<sockaddr_in*>(&to);
  message.msg_namelen = sizeof(to);
  message.msg_iov = &iov;
  message.msg_iovlen = 1;
  if (segment < length) {
    message.msg_control = control.data();
    message.msg_controllen = control.size();
    cmsghdr* header = CMSG_FIRSTHDR(&message);
    header->cmsg_level = SOL_UDP;
    header->cmsg_type = UDP_SEGMENT;
    header->cmsg_len = CMSG_LEN(sizeof(std::uint16_t));
    const auto size = static_cast<std::uint16_t>(segment);
    std::memcpy(CMSG_DATA(header), &size, sizeof(size));
  }
  if (::sendmsg(fd, &message, 0) < 0 && errno != EAGAIN) fail("sendmsg");
}

// Receive buffers for one recvmmsg of up to kBatch GRO trains.
struct Batch {
  std::vector<char> storage = std::vector<char>(kBatch * kBufferSize);
  std::array<iovec, kBatch> iov{};
  std::array<mmsghdr, kBatch> messages{};
  std::array<sockaddr_in, kBatch> from{};
  std::array<std::array<char, CMSG_SPACE(sizeof(int))>, kBatch> control{};

  int receive(int fd, int flags) {
    for (std::size_t i = 0; i < kBatch; ++i) {
      iov[i] = {storage.data() + i * kBufferSize, kBufferSize};
      messages[i].msg_hdr = {};
      messages[i].msg_hdr.msg_name = &from[i];
      messages[i].msg_hdr.msg_namelen = sizeof(from[i]);
      messages[i].msg_hdr.msg_iov = &iov[i];
      messages[i].msg_hdr.msg_iovlen = 1;
      messages[i].msg_hdr.msg_control = control[i].data();
      messages[i].msg_hdr.msg_controllen = control[i].size();
    }
    return ::recvmmsg(fd, messages.data(), kBatch, flags, nullptr);
  }

  // The GRO segment size of message i (its length when the kernel did not coalesce).
  std::size_t segment_size(std::size_t i) const {
    auto& header = messages[i].msg_hdr;
    for (cmsghdr* c = CMSG_FIRSTHDR(&header); c != nullptr;
         c = CMSG_NXTHDR(const_cast<msghdr*>(&header), c)) {
      if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
        int size = 0;
        std::memcpy(&size, CMSG_DATA(c), sizeof(size));
        return static_cast<std::size_t>(size);
      }
    }
    return messages[i].msg_len;
  }
};

bool same_endpoint(const sockaddr_in& a, const sockaddr_in& b) {
  return a.sin_addr.s_addr == b.sin_addr.s_addr && a.sin_port == b.sin_port;
}

int run_sender(const std::string& local, const std::string& forwarder, double mbit,
               std::size_t size, long interval_us, double seconds) {
  const int fd = bound_socket(parse_endpoint(local), false);
  const sockaddr_in to = parse_endpoint(forwarder);
  const double bytes_per_interval = mbit * 1e6 / 8 * static_cast<double>(interval_us) / 1e6;
  const std::vector<char> payload(64 * size, 'x');
  Batch acks;
  double owed = 0;
  std::uint64_t datagrams = 0;
  auto next = std::chrono::steady_clock::now();
  const auto end = next + std::chrono::duration<double>(seconds);
  while (next < end) {
    owed += bytes_per_interval / static_cast<double>(size);
    const auto count = static_cast<std::size_t>(owed);
    owed -= static_cast<double>(count);
    if (count > 0) send_train(fd, to, payload.data(), count * size, size);
    datagrams += count;
    while (acks.receive(fd, MSG_DONTWAIT) > 0) {
    }
    next += std::chrono::microseconds(interval_us);
    std::this_thread::sleep_until(next);
  }
  std::printf("sent %llu datagrams of %zu bytes\n", static_cast<unsigned long long>(datagrams),
              size);
  return 0;
}

int run_forwarder(const std::string& listen, const std::string& sink_text, bool answer) {
  const int fd = bound_socket(parse_endpoint(listen), true);
  const sockaddr_in sink = parse_endpoint(sink_text);
  const std::array<char, kAckSize> ack{};
  Batch batch;
  pollfd waiter{fd, POLLIN, 0};
  for (;;) {
    if (::poll(&waiter, 1, -1) < 0 && errno != EINTR) fail("poll");
    int received = 0;
    while ((received = batch.receive(fd, MSG_DONTWAIT)) > 0) {
      for (std::size_t i = 0; i < static_cast<std::size_t>(received); ++i) {
        if (same_endpoint(batch.from[i], sink)) continue;  // the sink's answer: read, no more
        send_train(fd, sink, static_cast<const char*>(batch.iov[i].iov_base),
                   batch.messages[i].msg_len, batch.segment_size(i));
        if (answer) send_train(fd, batch.from[i], ack.data(), ack.size(), ack.size());
      }
      if (static_cast<std::size_t>(received) < kBatch) break;
    }
  }
}

int run_sink(const std::string& listen, bool answer) {
  const int fd = bound_socket(parse_endpoint(listen), true);
  const std::array<char, kAckSize> ack{};
  Batch batch;
  for (;;) {
    const int received = batch.receive(fd, MSG_WAITFORONE);
    if (received < 0 && errno != EINTR) fail("recvmmsg");
    for (int i = 0; answer && i < received; ++i) {
      send_train(fd, batch.from[static_cast<std::size_t>(i)], ack.data(), ack.size(), ack.size());
    }
  }
}

// A TAP device named `name`, up, without packet information headers.
int open_tap(const std::string& name) {
  const int fd = ::open("/dev/net/tun", O_RDWR | O_CLOEXEC);
  if (fd < 0) fail("open /dev/net/tun");
  ifreq request{};
  request.ifr_flags = IFF_TAP | IFF_NO_PI;
  std::snprintf(request.ifr_name, IFNAMSIZ, "%s", name.c_str());
  if (::ioctl(fd, TUNSETIFF, &request) != 0) fail("TUNSETIFF");
  return fd;
}

// An AF_PACKET socket on `name` that sees every frame of the interface.
int open_packet(const std::string& name) {
  const int fd = ::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
  if (fd < 0) fail("socket AF_PACKET");
  sockaddr_ll address{};
  address.sll_family = AF_PACKET;
  address.sll_protocol = htons(ETH_P_ALL);
  address.sll_ifindex = static_cast<int>(if_nametoindex(name.c_str()));
  if (address.sll_ifindex == 0) fail("if_nametoindex");
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
    fail("bind AF_PACKET");
  }
  packet_mreq membership{};
  membership.mr_ifindex = address.sll_ifindex;
  membership.mr_type = PACKET_MR_PROMISC;
  if (::setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &membership, sizeof(membership)) != 0) {
    fail("PACKET_ADD_MEMBERSHIP");
  }
  return fd;
}

// Frames from `device` go to the relay in one datagram each; datagrams from it go to `device`.
// `packet`: the device is an AF_PACKET socket, whose own transmissions it skips.
int run_tunnel_end(int device, bool packet, const std::string& local, const std::string& relay) {
  const int udp = bound_socket(parse_endpoint(local), false);
  const sockaddr_in to = parse_endpoint(relay);
  std::vector<char> buffer(kBufferSize);
  std::array<pollfd, 2> waiters{pollfd{device, POLLIN, 0}, pollfd{udp, POLLIN, 0}};
  for (;;) {
    if (::poll(waiters.data(), waiters.size(), -1) < 0 && errno != EINTR) fail("poll");
    if ((waiters[0].revents & POLLIN) != 0) {
      sockaddr_ll from{};
      socklen_t from_size = sizeof(from);
      const ssize_t n = packet ? ::recvfrom(device, buffer.data(), buffer.size(), MSG_DONTWAIT,
                                            reinterpret_cast<sockaddr*>(&from), &from_size)
                               : ::read(device, buffer.data(), buffer.size());
      if (n > 0 && !(packet && from.sll_pkttype == PACKET_OUTGOING)) {
        ::sendto(udp, buffer.data(), static_cast<std::size_t>(n), 0,
                 reinterpret_cast<const sockaddr*>(&to), sizeof(to));
      }
    }
    if ((waiters[1].revents & POLLIN) != 0) {
      const ssize_t n = ::recv(udp, buffer.data(), buffer.size(), MSG_DONTWAIT);
      if (n > 0 && ::write(device, buffer.data(), static_cast<std::size_t>(n)) < 0) {
        std::fprintf(stderr, "udp_floor: write to the device: %s\n", std::strerror(errno));
      }
    }
  }
}

// Datagrams from peer A go to peer B and back.
int run_bridge(const std::string& listen, const std::string& a_text, const std::string& b_text) {
  const int fd = bound_socket(parse_endpoint(listen), false);
  const sockaddr_in a = parse_endpoint(a_text);
  const sockaddr_in b = parse_endpoint(b_text);
  std::vector<char> buffer(kBufferSize);
  for (;;) {
    sockaddr_in from{};
    socklen_t from_size = sizeof(from);
    const ssize_t n = ::recvfrom(fd, buffer.data(), buffer.size(), 0,
                                 reinterpret_cast<sockaddr*>(&from), &from_size);
    if (n < 0) continue;
    const sockaddr_in& to = same_endpoint(from, a) ? b : a;
    ::sendto(fd, buffer.data(), static_cast<std::size_t>(n), 0,
             reinterpret_cast<const sockaddr*>(&to), sizeof(to));
  }
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() == 7 && args[0] == "send") {
    return run_sender(args[1], args[2], std::stod(args[3]), std::stoul(args[4]), std::stol(args[5]),
                      std::stod(args[6]));
  }
  // "quiet": no small answers (no ACKs), only the trains.
  const bool answer = !args.empty() && args.back() != "quiet";
  const std::size_t extra = answer ? 0 : 1;
  if (args.size() == 3 + extra && args[0] == "forward") {
    return run_forwarder(args[1], args[2], answer);
  }
  if (args.size() == 2 + extra && args[0] == "sink") return run_sink(args[1], answer);
  if (args.size() == 4 && args[0] == "tap") {
    return run_tunnel_end(open_tap(args[1]), false, args[2], args[3]);
  }
  if (args.size() == 4 && args[0] == "packet") {
    return run_tunnel_end(open_packet(args[1]), true, args[2], args[3]);
  }
  if (args.size() == 4 && args[0] == "bridge") return run_bridge(args[1], args[2], args[3]);
  std::fprintf(stderr,
               "usage: udp_floor send LOCAL_IP FORWARDER_IP:PORT MBIT SIZE INTERVAL_US SECONDS\n"
               "       udp_floor forward LISTEN_IP:PORT SINK_IP:PORT [quiet]\n"
               "       udp_floor sink LISTEN_IP:PORT [quiet]\n"
               "       udp_floor tap TAP_NAME LOCAL_IP:PORT RELAY_IP:PORT\n"
               "       udp_floor packet IFNAME LOCAL_IP:PORT RELAY_IP:PORT\n"
               "       udp_floor bridge LISTEN_IP:PORT PEER_A_IP:PORT PEER_B_IP:PORT\n");
  return 2;
}
