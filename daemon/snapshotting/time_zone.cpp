#include "daemon/snapshotting/time_zone.hpp"

#include <algorithm>

namespace zferry::snapshotting {

TimeZone::TimeZone() : name_("UTC"), types_{LocalTimeType{0, false, "UTC"}} {}

TimeZone::TimeZone(std::string name, std::vector<std::int64_t> transitions,
                   std::vector<std::uint8_t> transition_types, std::vector<LocalTimeType> types,
                   std::optional<PosixTz> rule)
    : name_(std::move(name)),
      transitions_(std::move(transitions)),
      transition_types_(std::move(transition_types)),
      types_(std::move(types)),
      rule_(std::move(rule)) {
    if (types_.empty()) types_.push_back(LocalTimeType{0, false, "UTC"});
}

LocalInfo TimeZone::lookup(std::int64_t t) const {
    // Before the first transition RFC 8536 prescribes type 0; after the last, the footer
    // rule if there is one, else the last transition's type.
    if (transitions_.empty() || t < transitions_.front()) {
        if (transitions_.empty() && rule_) {
            auto r = rule_->lookup(t);
            return {r.utc_offset, r.is_dst, std::string(r.abbreviation)};
        }
        const auto& ty = types_.front();
        return {ty.utc_offset, ty.is_dst, std::string(ty.abbreviation)};
    }
    if (t >= transitions_.back() && rule_) {
        auto r = rule_->lookup(t);
        return {r.utc_offset, r.is_dst, std::string(r.abbreviation)};
    }
    auto it = std::upper_bound(transitions_.begin(), transitions_.end(), t);
    const auto idx = static_cast<std::size_t>(it - transitions_.begin()) - 1;
    const auto& ty = types_[transition_types_[idx]];
    return {ty.utc_offset, ty.is_dst, ty.abbreviation};
}

std::int64_t TimeZone::to_utc(std::int64_t local) const {
    // Go: look the offset up at the reading taken as UTC; if that offset moves the instant
    // into another period, use that period's offset instead (no further iteration).
    const std::int32_t off = lookup(local).utc_offset;
    if (off == 0) return local;
    return local - lookup(local - off).utc_offset;
}

}  // namespace zferry::snapshotting
