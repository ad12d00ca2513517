// SPDX-License-Identifier: MIT
#include "packet_socket.hpp"

#include <arpa/inet.h>
#include <linux/ethtool.h>
#include <linux/if.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <vector>

#include <fmt/format.h>

#include "lanparty/base/errc.hpp"
#include "linux/vnet_header.hpp"

namespace lanparty::gateway {
namespace {

using apps::VnetHeader;
// A packet socket's header fields are in host order (the virtio "legacy" layout).
constexpr apps::VnetByteOrder kPacketByteOrder = apps::VnetByteOrder::kHost;

Status ifreq_ioctl(const std::string& name, unsigned long request, ifreq& ifr, const char* what) {
  std::memset(ifr.ifr_name, 0, sizeof(ifr.ifr_name));
  std::memcpy(ifr.ifr_name, name.c_str(), std::min(name.size(), sizeof(ifr.ifr_name) - 1));
  const int sock = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sock < 0) return fail_errno(errno, "socket for interface ioctl");
  const int rc = ::ioctl(sock, request, &ifr);
  const int err = errno;
  ::close(sock);
  if (rc != 0) return fail_errno(err, fmt::format("{} on {}", what, name));
  return ok();
}

Result<bool> ethtool_gro(const std::string& name, std::optional<bool> set) {
  ethtool_value value{};
  value.cmd = set ? ETHTOOL_SGRO : ETHTOOL_GGRO;
  value.data = set && *set ? 1 : 0;
  ifreq ifr{};
  ifr.ifr_data = reinterpret_cast<char*>(&value);
  if (auto st = ifreq_ioctl(name, SIOCETHTOOL, ifr, set ? "ETHTOOL_SGRO" : "ETHTOOL_GGRO"); !st) {
    return tl::unexpected(st.error());
  }
  return value.data != 0;
}

}  // namespace

// Receive and send vectors with their buffers, made once in open(). recvmmsg rather than a
// TPACKET_V3 ring: a V3 block reaches us only when full or when its retire timer (1 ms at
// best) runs out, which at game traffic rates adds up to a millisecond to every frame, and a
// TPACKET_V2 ring would need fixed 64 KiB slots for the super-frames the kernel hands over.
// recvmmsg costs one copy (kernel to these buffers) and wakes us per frame when idle.
struct PacketSocket::Batches {
  static constexpr std::size_t kTag = 4;  // a tag put back moves the MACs 4 bytes forward
  static constexpr std::size_t kControlBytes = CMSG_SPACE(sizeof(tpacket_auxdata));

  explicit Batches(std::size_t headroom)
      : rx_slot((headroom + kTag + kMaxFrameBytes + 63) / 64 * 64),
        rx_buffer(rx_slot * kBatch),
        tx_buffer(kSendSlotBytes * kBatch) {}

  std::size_t rx_slot;
  std::vector<std::uint8_t> rx_buffer;
  std::array<VnetHeader, kBatch> rx_vnet{};
  std::array<iovec, 2 * kBatch> rx_iov{};
  std::array<sockaddr_ll, kBatch> rx_from{};
  alignas(cmsghdr) std::array<std::array<std::uint8_t, kControlBytes>, kBatch> rx_control{};
  std::array<mmsghdr, kBatch> rx_msgs{};

  std::vector<std::uint8_t> tx_buffer;  // kBatch slots of kSendSlotBytes
  std::array<iovec, 2 * kBatch> tx_iov{};
  std::array<mmsghdr, kBatch> tx_msgs{};
};

namespace {
// With PACKET_VNET_HDR every send starts with a header too; all zero: a finished frame.
constexpr VnetHeader kFinished{};

}  // namespace

PacketSocket::PacketSocket(int fd, std::string name, proto::MacAddress mac, std::size_t mtu,
                           std::size_t headroom)
    : fd_(fd),
      name_(std::move(name)),
      mac_(mac),
      mtu_(mtu),
      headroom_(headroom),
      batches_(std::make_unique<Batches>(headroom)) {
  Batches& b = *batches_;
  for (std::size_t i = 0; i < kBatch; ++i) {
    b.rx_iov[2 * i] = {&b.rx_vnet[i], sizeof(VnetHeader)};
    b.rx_iov[2 * i + 1] = {b.rx_buffer.data() + i * b.rx_slot + headroom + Batches::kTag,
                           b.rx_slot - headroom - Batches::kTag};
    msghdr& m = b.rx_msgs[i].msg_hdr;
    m.msg_name = &b.rx_from[i];
    m.msg_iov = &b.rx_iov[2 * i];
    m.msg_iovlen = 2;
    m.msg_control = b.rx_control[i].data();
    b.tx_iov[2 * i] = {const_cast<VnetHeader*>(&kFinished), sizeof(VnetHeader)};
    b.tx_iov[2 * i + 1] = {b.tx_buffer.data() + i * kSendSlotBytes, 0};
    b.tx_msgs[i].msg_hdr.msg_iov = &b.tx_iov[2 * i];
    b.tx_msgs[i].msg_hdr.msg_iovlen = 2;
  }
}

Result<std::unique_ptr<PacketSocket>> PacketSocket::open(const std::string& interface,
                                                         std::size_t headroom) {
  if (interface.empty() || interface.size() >= IFNAMSIZ) {
    return fail(Errc::kInvalidArgument,
                fmt::format("--interface '{}' is not an interface name", interface));
  }
  ifreq ifr{};
  if (auto st = ifreq_ioctl(interface, SIOCGIFINDEX, ifr, "find interface (SIOCGIFINDEX)"); !st) {
    return tl::unexpected(st.error());
  }
  const int ifindex = ifr.ifr_ifindex;
  if (auto st = ifreq_ioctl(interface, SIOCGIFHWADDR, ifr, "read MAC (SIOCGIFHWADDR)"); !st) {
    return tl::unexpected(st.error());
  }
  std::array<std::uint8_t, 6> mac_bytes{};
  std::memcpy(mac_bytes.data(), ifr.ifr_hwaddr.sa_data, 6);
  if (auto st = ifreq_ioctl(interface, SIOCGIFMTU, ifr, "read MTU (SIOCGIFMTU)"); !st) {
    return tl::unexpected(st.error());
  }
  const auto mtu = static_cast<std::size_t>(ifr.ifr_mtu);

  const int fd = ::socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, htons(ETH_P_ALL));
  if (fd < 0) return fail_errno(errno, "AF_PACKET socket (needs root or CAP_NET_RAW)");
  auto close_on_error = [fd](int err, std::string what) {
    ::close(fd);
    return fail_errno(err, std::move(what));
  };
  sockaddr_ll addr{};
  addr.sll_family = AF_PACKET;
  addr.sll_protocol = htons(ETH_P_ALL);
  addr.sll_ifindex = ifindex;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    return close_on_error(errno, fmt::format("bind AF_PACKET to {}", interface));
  }
  // Promiscuous: frames for remote players' MACs are addressed to them, not to us.
  packet_mreq mreq{};
  mreq.mr_ifindex = ifindex;
  mreq.mr_type = PACKET_MR_PROMISC;
  if (::setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mreq, sizeof(mreq)) != 0) {
    return close_on_error(errno, fmt::format("promiscuous mode on {}", interface));
  }
  // Our own transmissions would come back as outgoing packets; the kernel can skip them
  // (Linux >= 4.20). read_frame also checks the packet type for older kernels.
  const int one = 1;
  (void)::setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one));
  // Frames from this host, a VM or a container reach us unfinished: checksum left for a NIC
  // (CHECKSUM_PARTIAL) or TCP/UDP super-frames (GSO). The virtio_net_hdr in front of each
  // frame says which, and where the checksum goes (Linux >= 2.6.27).
  if (::setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)) != 0) {
    return close_on_error(errno, "PACKET_VNET_HDR (offload metadata) on the packet socket");
  }
  // The kernel strips an 802.1Q tag into metadata on receive; auxdata gives it back.
  if (::setsockopt(fd, SOL_PACKET, PACKET_AUXDATA, &one, sizeof(one)) != 0) {
    return close_on_error(errno, "PACKET_AUXDATA (VLAN tags) on the packet socket");
  }
  // Room for a few super-frames in flight to a NIC that frees them only on completion; at most
  // what net.core.wmem_max allows.
  const int send_buffer = 4 << 20;
  (void)::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &send_buffer, sizeof(send_buffer));
  return std::unique_ptr<PacketSocket>(
      new PacketSocket(fd, interface, proto::MacAddress(mac_bytes), mtu, headroom));
}

PacketSocket::~PacketSocket() {
  // Closing the socket drops its promiscuous membership.
  ::close(fd_);
}

Result<std::size_t> PacketSocket::receive() {
  Batches& b = *batches_;
  frame_count_ = 0;
  for (auto& m : b.rx_msgs) {
    m.msg_hdr.msg_namelen = sizeof(sockaddr_ll);
    m.msg_hdr.msg_controllen = Batches::kControlBytes;
    m.msg_hdr.msg_flags = 0;
  }
  const int n = ::recvmmsg(fd_, b.rx_msgs.data(), kBatch, MSG_DONTWAIT, nullptr);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return std::size_t{0};
    return fail_errno(errno, fmt::format("read from {}", name_));
  }
  for (std::size_t i = 0; i < static_cast<std::size_t>(n); ++i) {
    msghdr& msg = b.rx_msgs[i].msg_hdr;
    const std::size_t got = b.rx_msgs[i].msg_len;
    if (b.rx_from[i].sll_pkttype == PACKET_OUTGOING) continue;  // kernels before 4.20
    if ((msg.msg_flags & MSG_TRUNC) != 0 || got < sizeof(VnetHeader)) {
      ++drops_.truncated;
      continue;
    }
    const VnetHeader& vnet = b.rx_vnet[i];
    std::uint8_t* slot = b.rx_buffer.data() + i * b.rx_slot;
    std::size_t offset = headroom_ + Batches::kTag;
    std::size_t size = got - sizeof(VnetHeader);
    const std::optional<proto::OffloadInfo> kernel =
        apps::offload_from_vnet(vnet, kPacketByteOrder);
    if (!kernel) {
      ++drops_.unsupported_offload;
      continue;
    }
    proto::OffloadInfo offload = *kernel;
    // The kernel strips an 802.1Q tag into metadata; it goes back in front of the EtherType,
    // moving only the MACs into the 4 bytes kept free for it.
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_PACKET || c->cmsg_type != PACKET_AUXDATA) continue;
      tpacket_auxdata aux{};
      std::memcpy(&aux, CMSG_DATA(c), sizeof(aux));
      if ((aux.tp_status & TP_STATUS_VLAN_VALID) == 0 || size < 12) break;
      const std::uint16_t tpid =
          (aux.tp_status & TP_STATUS_VLAN_TPID_VALID) != 0 ? aux.tp_vlan_tpid : ETH_P_8021Q;
      std::uint8_t* start = slot + offset;
      std::memmove(start - Batches::kTag, start, 12);
      start[12 - Batches::kTag] = static_cast<std::uint8_t>(tpid >> 8);
      start[13 - Batches::kTag] = static_cast<std::uint8_t>(tpid);
      start[14 - Batches::kTag] = static_cast<std::uint8_t>(aux.tp_vlan_tci >> 8);
      start[15 - Batches::kTag] = static_cast<std::uint8_t>(aux.tp_vlan_tci);
      offset -= Batches::kTag;
      size += Batches::kTag;
      if (offload.needs_checksum) {
        offload.checksum_start = static_cast<std::uint16_t>(offload.checksum_start + Batches::kTag);
      }
    }
    frames_[frame_count_++] = {.datagram = std::span(slot + offset - headroom_, headroom_ + size),
                               .offload = offload};
  }
  return static_cast<std::size_t>(n);
}

Status PacketSocket::write_frame(std::span<const std::uint8_t> frame,
                                 const proto::OffloadInfo& offload) {
  auto queued = flush();
  VnetHeader vnet = apps::vnet_from_offload(offload, kPacketByteOrder);
  iovec iov[2] = {{&vnet, sizeof(vnet)}, {const_cast<std::uint8_t*>(frame.data()), frame.size()}};
  msghdr msg{};
  msg.msg_iov = iov;
  msg.msg_iovlen = 2;
  if (::sendmsg(fd_, &msg, 0) < 0) {
    ++drops_.send_failed;
    return fail_errno(errno, fmt::format("write to {}", name_));
  }
  return queued;
}

void PacketSocket::queue_frame(std::span<const std::uint8_t> frame) {
  if (frame.size() > kSendSlotBytes) {
    (void)write_frame(frame);  // counted in drops_ when it fails
    return;
  }
  if (queued_ == kBatch) (void)flush();
  Batches& b = *batches_;
  std::memcpy(b.tx_buffer.data() + queued_ * kSendSlotBytes, frame.data(), frame.size());
  b.tx_iov[2 * queued_ + 1].iov_len = frame.size();
  ++queued_;
}

Status PacketSocket::flush() {
  // Without PACKET_QDISC_BYPASS: the interface's queueing discipline stays in charge (on a
  // NIC it buffers a burst and paces it; bypassing it drops frames whenever the driver's ring
  // is full, and on veth or a bridge there is no qdisc work to save).
  Batches& b = *batches_;
  std::size_t sent = 0;
  Status result = ok();
  while (sent < queued_) {
    const int n = ::sendmmsg(fd_, b.tx_msgs.data() + sent, static_cast<unsigned>(queued_ - sent),
                             MSG_DONTWAIT);
    if (n > 0) {
      sent += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    // The first frame left was refused (buffer full, interface down): it is lost, the rest
    // are tried again.
    if (result) result = fail_errno(errno, fmt::format("write to {}", name_));
    ++drops_.send_failed;
    ++sent;
  }
  queued_ = 0;
  return result;
}

LanWriter::LanWriter(PacketSocket& socket, bool coalesce) : socket_(socket) {
  if (coalesce) coalescer_.emplace();
}

void LanWriter::write(std::span<const std::uint8_t> frame) {
  if (!coalescer_) {
    socket_.queue_frame(frame);
    return;
  }
  coalescer_->add(frame, [this](std::span<const std::uint8_t> out, const proto::OffloadInfo& info) {
    emit(out, info);
  });
}

void LanWriter::end_of_batch() {
  if (coalescer_) {
    coalescer_->flush([this](std::span<const std::uint8_t> out, const proto::OffloadInfo& info) {
      emit(out, info);
    });
  }
  if (auto st = socket_.flush(); !st) error_ = st.error();
}

void LanWriter::emit(std::span<const std::uint8_t> frame, const proto::OffloadInfo& info) {
  // What the Coalescer built (a super-frame, or a lone segment it held) was copied once
  // already: sent from its buffer, behind the queue. Anything else is the relay's datagram,
  // valid only now: copied into the queue.
  if (coalescer_->holds(frame)) {
    if (auto st = socket_.write_frame(frame, info); !st) error_ = st.error();
    return;
  }
  socket_.queue_frame(frame);
}

Result<ReceiveOffloadGuard> ReceiveOffloadGuard::apply(const std::string& interface,
                                                       obs::Logger log) {
  auto gro = ethtool_gro(interface, std::nullopt);
  if (!gro) return tl::unexpected(gro.error());
  if (!*gro) return ReceiveOffloadGuard({});
  if (auto set = ethtool_gro(interface, false); !set) return tl::unexpected(set.error());
  log.info("gateway.gro_disabled", {{"interface", interface}});
  return ReceiveOffloadGuard(ScopedUndo(EnableGro{interface, log}));
}

void ReceiveOffloadGuard::EnableGro::on_undo_failed(const Error& error) const noexcept {
  log.warn("gateway.gro_restore_failed", {{"interface", interface}, {"error", error.describe()}});
}

Status ReceiveOffloadGuard::EnableGro::undo() {
  auto set = ethtool_gro(interface, true);
  if (!set) return tl::unexpected(set.error());
  log.info("gateway.gro_restored", {{"interface", interface}});
  return ok();
}

}  // namespace lanparty::gateway
