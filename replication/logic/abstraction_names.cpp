#include "replication/logic/abstraction_names.hpp"

#include "zfs/dataset_path.hpp"

#include <algorithm>
#include <array>
#include <cstdio>

namespace zferry::replication {
namespace {

constexpr std::string_view kGuidMarker = "_G_";
constexpr std::string_view kJobMarker = "_J_";
constexpr std::size_t kGuidDigits = 16;
// "_G_<16 hex>_J_"
constexpr std::size_t kMarkersLen = kGuidMarker.size() + kGuidDigits + kJobMarker.size();

bool is_lower_hex(char c) noexcept { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

std::uint64_t hex_value(std::string_view digits) noexcept {
    std::uint64_t v = 0;
    for (char c : digits) v = (v << 4) | static_cast<std::uint64_t>(c <= '9' ? c - '0' : c - 'a' + 10);
    return v;
}

std::string hex16(std::uint64_t v) {
    std::array<char, 17> buf{};
    std::snprintf(buf.data(), buf.size(), "%016llx", static_cast<unsigned long long>(v));
    return std::string(buf.data(), kGuidDigits);
}

// "_G_<16 lowercase hex>_J_" starts at p.
bool guid_and_job_markers_at(std::string_view name, std::size_t p) noexcept {
    if (name.substr(p, kGuidMarker.size()) != kGuidMarker) return false;
    for (char c : name.substr(p + kGuidMarker.size(), kGuidDigits))
        if (!is_lower_hex(c)) return false;
    return name.substr(p + kGuidMarker.size() + kGuidDigits, kJobMarker.size()) == kJobMarker;
}

// Greedy like the regex's leading (.+): the last "_G_<16 hex>_J_" with at least one
// character before it and at least one after it.
std::optional<std::size_t> find_guid_and_job_markers(std::string_view name) noexcept {
    if (name.size() <= kMarkersLen + 1) return std::nullopt;
    for (std::size_t p = name.size() - kMarkersLen - 1; p >= 1; --p)
        if (guid_and_job_markers_at(name, p)) return p;
    return std::nullopt;
}

std::string quoted(std::string_view s) { return "'" + std::string(s) + "'"; }

// The part after '#' of a valid full bookmark name.
Result<std::string_view> bookmark_short_name(std::string_view fullname) {
    if (auto r = zfs::entity_namecheck(fullname, zfs::EntityType::bookmark); !r) return r.error();
    return fullname.substr(fullname.find('#') + 1);
}

Result<JobId> parse_hold_tag(std::string_view tag, std::string_view prefix, std::string_view what) {
    if (!tag.starts_with(prefix) || tag.size() == prefix.size())
        return Error(Errc::parse_error, std::string(what) + " " + quoted(tag) + " does not have the form '" +
                                            std::string(prefix) + "<job id>'");
    auto job = JobId::make(tag.substr(prefix.size()));
    if (!job)
        return Error(Errc::parse_error, std::string(what) + " " + quoted(tag) + ": " + job.error().context());
    return *job;
}

}  // namespace

std::string_view to_string(AbstractionType t) noexcept {
    switch (t) {
        case AbstractionType::step_hold: return "step-hold";
        case AbstractionType::last_received_hold: return "last-received-hold";
        case AbstractionType::tentative_replication_cursor_bookmark_v2:
            return "tentative-replication-cursor-bookmark-v2";
        case AbstractionType::replication_cursor_bookmark_v1: return "replication-cursor-bookmark-v1";
        case AbstractionType::replication_cursor_bookmark_v2: return "replication-cursor-bookmark-v2";
    }
    return "unknown";
}

std::optional<AbstractionType> parse_abstraction_type(std::string_view s) noexcept {
    for (auto t :
         {AbstractionType::step_hold, AbstractionType::last_received_hold,
          AbstractionType::tentative_replication_cursor_bookmark_v2,
          AbstractionType::replication_cursor_bookmark_v1, AbstractionType::replication_cursor_bookmark_v2})
        if (to_string(t) == s) return t;
    return std::nullopt;
}

std::ostream& operator<<(std::ostream& os, AbstractionType t) { return os << to_string(t); }

std::ostream& operator<<(std::ostream& os, const JobAndGuid& j) {
    return os << "guid 0x" << hex16(j.guid) << " of job '" << j.job << "'";
}

Result<std::string> make_job_and_guid_bookmark_name(std::string_view prefix, std::string_view fs,
                                                    std::uint64_t guid, std::string_view jobid) {
    std::string name = std::string(prefix);
    name += kGuidMarker;
    name += hex16(guid);
    name += kJobMarker;
    name += jobid;
    const std::string full = std::string(fs) + "#" + name;
    if (auto r = zfs::entity_namecheck(full, zfs::EntityType::bookmark); !r) {
        return Error(Errc::invalid_argument,
                     "cannot name bookmark " + quoted(full) + ": " + r.error().context());
    }
    return name;
}

Result<std::string> replication_cursor_bookmark_name(std::string_view fs, std::uint64_t guid,
                                                     const JobId& job) {
    return make_job_and_guid_bookmark_name(kReplicationCursorPrefix, fs, guid, job.str());
}

Result<std::string> tentative_replication_cursor_bookmark_name(std::string_view fs, std::uint64_t guid,
                                                               const JobId& job) {
    return make_job_and_guid_bookmark_name(kTentativeReplicationCursorPrefix, fs, guid, job.str());
}

Result<JobAndGuid> parse_job_and_guid_bookmark_name(std::string_view fullname, std::string_view prefix) {
    auto short_name = bookmark_short_name(fullname);
    if (!short_name) return short_name.error();
    const std::string_view name = *short_name;
    const auto at = find_guid_and_job_markers(name);
    if (!at)
        return Error(Errc::parse_error,
                     "bookmark " + quoted(fullname) +
                         " is not named '<prefix>_G_<guid: 16 lowercase hex digits>_J_<job id>'");
    const auto head = name.substr(0, *at);
    if (head != prefix)
        return Error(Errc::parse_error, "bookmark " + quoted(fullname) + " has prefix " + quoted(head) +
                                            ", expected " + quoted(prefix));
    const auto guid = hex_value(name.substr(*at + kGuidMarker.size(), kGuidDigits));
    auto job = JobId::make(name.substr(*at + kMarkersLen));
    if (!job) return Error(Errc::parse_error, "bookmark " + quoted(fullname) + ": " + job.error().context());
    return JobAndGuid{guid, std::move(*job)};
}

bool job_and_guid_name_reads_back(std::string_view jobid) {
    std::string name(kReplicationCursorPrefix);
    name += kGuidMarker;
    name += std::string(kGuidDigits, '0');
    name += kJobMarker;
    name += jobid;
    return find_guid_and_job_markers(name) == kReplicationCursorPrefix.size();
}

Result<ReplicationCursorName> parse_replication_cursor_bookmark_name(std::string_view fullname) {
    auto short_name = bookmark_short_name(fullname);
    if (!short_name) return short_name.error();
    if (*short_name == kV1ReplicationCursorName) return ReplicationCursorName(ReplicationCursorV1{});
    auto v2 = parse_job_and_guid_bookmark_name(fullname, kReplicationCursorPrefix);
    if (!v2) return v2.error();
    return ReplicationCursorName(std::move(*v2));
}

Result<JobAndGuid> parse_tentative_replication_cursor_bookmark_name(std::string_view fullname) {
    return parse_job_and_guid_bookmark_name(fullname, kTentativeReplicationCursorPrefix);
}

std::string step_hold_tag(const JobId& job) { return std::string(kStepHoldTagPrefix) + job.str(); }

std::string last_received_hold_tag(const JobId& job) {
    return std::string(kLastReceivedHoldTagPrefix) + job.str();
}

std::string cursor_hold_tag(const JobId& job) { return "zferry_CURSOR_J_" + job.str(); }

std::string cursor_property_name(const JobId& job) {
    const std::string& j = job.str();
    const bool plain = std::all_of(j.begin(), j.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' ||
               c == ':';
    });
    if (plain) return "zferry:cursor:" + j;
    static const char* hex = "0123456789abcdef";
    std::string out = "zferry:cursor:x";
    for (unsigned char c : j) {
        out += hex[c >> 4];
        out += hex[c & 15];
    }
    return out;
}

Result<JobId> parse_step_hold_tag(std::string_view tag) {
    return parse_hold_tag(tag, kStepHoldTagPrefix, "step hold tag");
}

Result<JobId> parse_last_received_hold_tag(std::string_view tag) {
    return parse_hold_tag(tag, kLastReceivedHoldTagPrefix, "last-received hold tag");
}

}  // namespace zferry::replication
