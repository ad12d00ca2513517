// SPDX-License-Identifier: MIT
#include "admission.hpp"

#include <algorithm>

namespace lanparty::quic::detail {
namespace {

constexpr auto kPruneInterval = std::chrono::seconds(10);

}  // namespace

AdmissionPolicy::AdmissionPolicy(AdmissionLimits limits, std::size_t max_connections) noexcept
    : limits_(limits),
      max_connections_(max_connections),
      // Entries for real sources are bounded by the connections; the rest by this.
      max_sources_(std::max<std::size_t>(4 * max_connections, 4096)) {}

AdmissionPolicy::Source AdmissionPolicy::new_source() const noexcept {
  const TokenBucket budget(limits_.handshakes_per_second_per_source,
                           limits_.handshake_burst_per_source);
  return Source{.unvalidated = budget, .validated = budget, .connections = 0};
}

AdmissionPolicy::Source* AdmissionPolicy::find_or_add(const io::SourcePrefix& source,
                                                      Clock::time_point now) {
  if (auto it = sources_.find(source); it != sources_.end()) return &it->second;
  if (now - last_prune_ >= kPruneInterval || sources_.size() >= max_sources_) prune(now);
  if (sources_.size() >= max_sources_) return nullptr;
  return &sources_.emplace(source, new_source()).first->second;
}

void AdmissionPolicy::prune(Clock::time_point now) {
  last_prune_ = now;
  // A source with nothing alive and full buckets behaves exactly like a new one.
  std::erase_if(sources_, [&](const auto& entry) {
    const Source& s = entry.second;
    return s.connections == 0 && s.unvalidated.full_at(now) && s.validated.full_at(now);
  });
}

AdmissionPolicy::Decision AdmissionPolicy::on_initial(const io::SourcePrefix& source,
                                                      bool validated, std::size_t connections,
                                                      Clock::time_point now) {
  const auto refuse = [](Refusal why) { return Decision{Verdict::kRefuse, why}; };
  const Decision retry{Verdict::kRetry, Refusal::kServerFull};
  const bool may_retry = !validated && limits_.retry != RetryMode::kNever;
  if (connections >= max_connections_) return refuse(Refusal::kServerFull);
  if (!validated && limits_.retry == RetryMode::kAlways) return retry;
  if (in_flight_ >= limits_.max_handshakes) {
    return may_retry ? retry : refuse(Refusal::kHandshakesInFlight);
  }
  if (may_retry && in_flight_ >= limits_.retry_above_handshakes) return retry;
  // Only now is the source looked at: a flood of spoofed sources is answered above, by Retry,
  // before it can fill the table.
  Source* s = find_or_add(source, now);
  if (s == nullptr) return may_retry ? retry : refuse(Refusal::kSourceHandshakeRate);
  if (s->connections >= limits_.max_connections_per_source) {
    return may_retry ? retry : refuse(Refusal::kSourceConnections);
  }
  TokenBucket& budget = validated ? s->validated : s->unvalidated;
  if (!budget.take(now)) return may_retry ? retry : refuse(Refusal::kSourceHandshakeRate);
  return Decision{};
}

void AdmissionPolicy::on_accepted(const io::SourcePrefix& source, bool validated) {
  ++in_flight_;
  if (!validated) return;
  if (auto it = sources_.find(source); it != sources_.end()) ++it->second.connections;
}

void AdmissionPolicy::on_handshake_completed(const io::SourcePrefix& source, bool was_validated) {
  if (in_flight_ > 0) --in_flight_;
  if (was_validated) return;
  // The entry may have been pruned meanwhile only if it had no connections and full buckets;
  // a completed handshake recreates it so the cap counts this connection.
  auto it = sources_.find(source);
  if (it == sources_.end()) it = sources_.emplace(source, new_source()).first;
  ++it->second.connections;
}

void AdmissionPolicy::on_closed(const io::SourcePrefix& source, bool handshake_completed,
                                bool counted) {
  if (!handshake_completed && in_flight_ > 0) --in_flight_;
  if (!counted) return;
  if (auto it = sources_.find(source); it != sources_.end() && it->second.connections > 0) {
    --it->second.connections;
  }
}

std::size_t AdmissionPolicy::validated_connections(const io::SourcePrefix& source) const noexcept {
  const auto it = sources_.find(source);
  return it == sources_.end() ? 0 : it->second.connections;
}

}  // namespace lanparty::quic::detail
