#include "replication/control/pdu_convert.hpp"

#include "zfs/zfs_error.hpp"

#include <cstdio>

namespace zferry::replication::control {

namespace grpc = transport::grpc;

namespace {

// Howard Hinnant's days_from_civil / civil_from_days (proleptic Gregorian).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

void civil_from_days(std::int64_t z, std::int64_t& y, unsigned& m, unsigned& d) {
    z += 719468;
    const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    y = static_cast<std::int64_t>(yoe) + era * 400;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    y += m <= 2;
}

bool leap(std::int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned days_in_month(std::int64_t y, unsigned m) {
    static constexpr unsigned days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && leap(y) ? 29 : days[m - 1];
}

// `n` decimal digits at text[pos..]; false if any is not a digit.
bool digits(std::string_view text, std::size_t pos, std::size_t n, unsigned& out) {
    if (pos + n > text.size()) return false;
    out = 0;
    for (std::size_t i = pos; i < pos + n; ++i) {
        if (text[i] < '0' || text[i] > '9') return false;
        out = out * 10 + static_cast<unsigned>(text[i] - '0');
    }
    return true;
}

Error bad_time(std::string_view text, std::string_view why) {
    return Error(Errc::parse_error,
                 "creation time \"" + std::string(text) + "\" is not RFC 3339: " + std::string(why));
}

Error bad_request(std::string what) { return Error(Errc::invalid_argument, std::move(what)); }

class RemoteStatusCategory final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "grpc-status"; }
    std::string message(int ev) const override {
        return std::string(grpc::status_code_name(static_cast<grpc::StatusCode>(ev)));
    }
    bool equivalent(int ev, const boost::system::error_condition& cond) const noexcept override {
        if (cond == make_error_condition(Condition::temporary)) {
            const auto c = static_cast<grpc::StatusCode>(ev);
            return c == grpc::StatusCode::unavailable || c == grpc::StatusCode::deadline_exceeded;
        }
        return error_category::equivalent(ev, cond);
    }
};

}  // namespace

std::string format_rfc3339(std::int64_t unix_seconds) {
    std::int64_t days = unix_seconds / 86400;
    std::int64_t secs = unix_seconds % 86400;
    if (secs < 0) {
        secs += 86400;
        --days;
    }
    std::int64_t y = 0;
    unsigned m = 0, d = 0;
    civil_from_days(days, y, m, d);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lldZ", static_cast<long long>(y), m, d,
                  static_cast<long long>(secs / 3600), static_cast<long long>(secs / 60 % 60),
                  static_cast<long long>(secs % 60));
    return buf;
}

Result<std::int64_t> parse_rfc3339(std::string_view text) {
    // 2006-01-02T15:04:05
    unsigned year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
    if (!digits(text, 0, 4, year) || text.size() < 19 || text[4] != '-' || !digits(text, 5, 2, month) ||
        text[7] != '-' || !digits(text, 8, 2, day) || text[10] != 'T' || !digits(text, 11, 2, hour) ||
        text[13] != ':' || !digits(text, 14, 2, minute) || text[16] != ':' || !digits(text, 17, 2, second))
        return bad_time(text, "expected YYYY-MM-DDTHH:MM:SS");
    if (month < 1 || month > 12) return bad_time(text, "month out of range");
    if (day < 1 || day > days_in_month(year, month)) return bad_time(text, "day out of range");
    if (hour > 23) return bad_time(text, "hour out of range");
    if (minute > 59) return bad_time(text, "minute out of range");
    if (second > 59) return bad_time(text, "second out of range");
    std::size_t pos = 19;
    if (pos < text.size() && text[pos] == '.') {
        std::size_t end = pos + 1;
        while (end < text.size() && text[end] >= '0' && text[end] <= '9') ++end;
        if (end == pos + 1) return bad_time(text, "empty fraction");
        pos = end;
    }
    std::int64_t offset = 0;
    if (pos < text.size() && text[pos] == 'Z') {
        ++pos;
    } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
        unsigned oh = 0, om = 0;
        if (!digits(text, pos + 1, 2, oh) || pos + 3 >= text.size() || text[pos + 3] != ':' ||
            !digits(text, pos + 4, 2, om))
            return bad_time(text, "expected a zone offset +HH:MM");
        if (oh > 23 || om > 59) return bad_time(text, "zone offset out of range");
        offset = (static_cast<std::int64_t>(oh) * 3600 + om * 60) * (text[pos] == '-' ? -1 : 1);
        pos += 6;
    } else {
        return bad_time(text, "expected Z or a zone offset");
    }
    if (pos != text.size()) return bad_time(text, "extra text after the time");
    const std::int64_t days = days_from_civil(year, month, day);
    return days * 86400 + static_cast<std::int64_t>(hour) * 3600 + minute * 60 + second - offset;
}

::FilesystemVersion to_pdu(const zfs::FilesystemVersion& v) {
    ::FilesystemVersion out;
    out.set_type(v.type == zfs::VersionType::snapshot ? ::FilesystemVersion::Snapshot
                                                      : ::FilesystemVersion::Bookmark);
    out.set_name(v.name);
    out.set_guid(v.guid);
    out.set_createtxg(v.createtxg);
    out.set_creation(format_rfc3339(v.creation));
    return out;
}

Result<zfs::FilesystemVersion> from_pdu(const ::FilesystemVersion& v, const std::string& filesystem) {
    zfs::FilesystemVersion out;
    out.filesystem = filesystem;
    switch (v.type()) {
        case ::FilesystemVersion::Snapshot: out.type = zfs::VersionType::snapshot; break;
        case ::FilesystemVersion::Bookmark: out.type = zfs::VersionType::bookmark; break;
        default: return bad_request("version " + v.name() + " has unknown type " + std::to_string(v.type()));
    }
    if (v.name().empty()) return bad_request("a version of " + filesystem + " has an empty name");
    if (v.name().find_first_of("@#/") != std::string::npos)
        return bad_request("version name \"" + v.name() + "\" must be a short name (no '@', '#' or '/')");
    out.name = v.name();
    out.guid = v.guid();
    out.createtxg = v.createtxg();
    auto creation = parse_rfc3339(v.creation());
    if (!creation) {
        auto e = creation.error();
        return e.wrap("version " + out.full_name());
    }
    out.creation = *creation;
    return out;
}

::Filesystem to_pdu(const FilesystemInfo& f) {
    ::Filesystem out;
    out.set_path(f.path);
    out.set_resumetoken(f.resume_token);
    out.set_isplaceholder(f.is_placeholder);
    return out;
}

FilesystemInfo from_pdu(const ::Filesystem& f) {
    return FilesystemInfo{f.path(), f.isplaceholder(), f.resumetoken()};
}

::ReplicationGuaranteeKind to_pdu(GuaranteeKind k) {
    switch (k) {
        case GuaranteeKind::resumability: return ::GuaranteeResumability;
        case GuaranteeKind::incremental: return ::GuaranteeIncrementalReplication;
        case GuaranteeKind::nothing: return ::GuaranteeNothing;
    }
    return ::GuaranteeInvalid;
}

Result<GuaranteeKind> from_pdu(::ReplicationGuaranteeKind k) {
    switch (k) {
        case ::GuaranteeResumability: return GuaranteeKind::resumability;
        case ::GuaranteeIncrementalReplication: return GuaranteeKind::incremental;
        case ::GuaranteeNothing: return GuaranteeKind::nothing;
        default: break;
    }
    return bad_request("replication guarantee kind " + std::to_string(static_cast<int>(k)) + " is invalid");
}

::SendReq to_pdu(const StepRequest& r) {
    ::SendReq out;
    out.set_filesystem(r.filesystem);
    if (r.from) *out.mutable_from() = to_pdu(*r.from);
    *out.mutable_to() = to_pdu(r.to);
    out.set_resumetoken(r.resume_token);
    auto* p = out.mutable_replicationconfig()->mutable_protection();
    p->set_initial(to_pdu(r.protection.initial));
    p->set_incremental(to_pdu(r.protection.incremental));
    // Unset (and absent on the wire) for a plain step, so zrepl peers see zrepl's bytes.
    if (r.intermediates) out.set_zferryintermediates(true);
    return out;
}

Result<StepRequest> from_pdu(const ::SendReq& r) {
    StepRequest out;
    if (r.filesystem().empty()) return bad_request("send request without a filesystem");
    out.filesystem = r.filesystem();
    if (r.has_from()) {
        auto from = from_pdu(r.from(), out.filesystem);
        if (!from) return from.error();
        out.from = std::move(*from);
    }
    if (!r.has_to()) return bad_request("send request for " + out.filesystem + " without To");
    auto to = from_pdu(r.to(), out.filesystem);
    if (!to) return to.error();
    if (to->type != zfs::VersionType::snapshot)
        return bad_request("send request for " + out.filesystem + ": To must be a snapshot, not " +
                           to->full_name());
    out.to = std::move(*to);
    out.resume_token = r.resumetoken();
    out.intermediates = r.zferryintermediates();
    if (out.intermediates && !out.from)
        return bad_request("send request for " + out.filesystem + ": a coalesced step needs From");
    if (!r.has_replicationconfig() || !r.replicationconfig().has_protection())
        return bad_request("send request for " + out.filesystem + " without replication config protection");
    auto initial = from_pdu(r.replicationconfig().protection().initial());
    if (!initial) return initial.error();
    auto incremental = from_pdu(r.replicationconfig().protection().incremental());
    if (!incremental) return incremental.error();
    out.protection = Protection{*initial, *incremental};
    return out;
}

::ReceiveReq to_pdu(const ReceiveRequest& r) {
    ::ReceiveReq out;
    out.set_filesystem(r.filesystem);
    *out.mutable_to() = to_pdu(r.to);
    out.set_clearresumetoken(r.clear_resume_token);
    auto* p = out.mutable_replicationconfig()->mutable_protection();
    p->set_initial(to_pdu(r.protection.initial));
    p->set_incremental(to_pdu(r.protection.incremental));
    return out;
}

Result<ReceiveRequest> from_pdu(const ::ReceiveReq& r) {
    ReceiveRequest out;
    if (r.filesystem().empty()) return bad_request("receive request without a filesystem");
    out.filesystem = r.filesystem();
    if (!r.has_to()) return bad_request("receive request for " + out.filesystem + " without To");
    auto to = from_pdu(r.to(), out.filesystem);
    if (!to) return to.error();
    if (to->type != zfs::VersionType::snapshot)
        return bad_request("receive request for " + out.filesystem + ": To must be a snapshot, not " +
                           to->full_name());
    out.to = std::move(*to);
    out.clear_resume_token = r.clearresumetoken();
    if (!r.has_replicationconfig() || !r.replicationconfig().has_protection())
        return bad_request("receive request for " + out.filesystem +
                           " without replication config protection");
    auto initial = from_pdu(r.replicationconfig().protection().initial());
    if (!initial) return initial.error();
    auto incremental = from_pdu(r.replicationconfig().protection().incremental());
    if (!incremental) return incremental.error();
    out.protection = Protection{*initial, *incremental};
    return out;
}

::ReplicationCursorRes cursor_to_pdu(std::optional<std::uint64_t> guid) {
    ::ReplicationCursorRes out;
    if (guid)
        out.set_guid(*guid);
    else
        out.set_notexist(true);
    return out;
}

Result<std::optional<std::uint64_t>> cursor_from_pdu(const ::ReplicationCursorRes& r) {
    switch (r.Result_case()) {
        case ::ReplicationCursorRes::kGuid: return std::optional<std::uint64_t>{r.guid()};
        case ::ReplicationCursorRes::kNotexist: return std::optional<std::uint64_t>{};
        default: break;
    }
    return Error(Errc::protocol_error, "replication cursor response has neither Guid nor Notexist");
}

::DestroySnapshotsReq destroy_request_to_pdu(const std::string& fs,
                                             const std::vector<zfs::FilesystemVersion>& snapshots) {
    ::DestroySnapshotsReq out;
    out.set_filesystem(fs);
    for (const auto& v : snapshots) *out.add_snapshots() = to_pdu(v);
    return out;
}

Result<std::vector<zfs::FilesystemVersion>> destroy_request_from_pdu(const ::DestroySnapshotsReq& r) {
    if (r.filesystem().empty()) return bad_request("destroy request without a filesystem");
    std::vector<zfs::FilesystemVersion> out;
    out.reserve(r.snapshots_size());
    for (const auto& v : r.snapshots()) {
        auto conv = from_pdu(v, r.filesystem());
        if (!conv) return conv.error();
        out.push_back(std::move(*conv));
    }
    return out;
}

::DestroySnapshotsRes destroy_results_to_pdu(const std::vector<DestroySnapshotResult>& results) {
    ::DestroySnapshotsRes out;
    for (const auto& r : results) {
        auto* res = out.add_results();
        *res->mutable_snapshot() = to_pdu(r.snapshot);
        res->set_error(r.error);
    }
    return out;
}

Result<std::vector<DestroySnapshotResult>> destroy_results_from_pdu(const ::DestroySnapshotsRes& r,
                                                                    const std::string& fs) {
    std::vector<DestroySnapshotResult> out;
    out.reserve(r.results_size());
    for (const auto& res : r.results()) {
        if (!res.has_snapshot())
            return Error(Errc::protocol_error,
                         "destroy result without its snapshot (error \"" + res.error() + "\")");
        auto v = from_pdu(res.snapshot(), fs);
        if (!v) return Error(Errc::protocol_error, v.error().message());
        out.push_back(DestroySnapshotResult{std::move(*v), res.error()});
    }
    return out;
}

const boost::system::error_category& remote_status_category() noexcept {
    static const RemoteStatusCategory cat;
    return cat;
}

grpc::Status status_of(const Error& e) {
    grpc::StatusCode code = grpc::StatusCode::internal;
    const auto& ec = e.code();
    if (e.temporary()) {
        code = grpc::StatusCode::unavailable;
    } else if (ec.category() == remote_status_category()) {
        code = static_cast<grpc::StatusCode>(ec.value());  // relayed as it came
    } else if (ec == Errc::invalid_argument || ec == Errc::parse_error) {
        code = grpc::StatusCode::invalid_argument;
    } else if (ec == Errc::not_found || ec == zfs::ZfsErrc::dataset_not_found) {
        code = grpc::StatusCode::not_found;
    } else if (ec == zfs::ZfsErrc::dataset_exists) {
        code = grpc::StatusCode::already_exists;
    } else if (ec == zfs::ZfsErrc::snapshot_held || ec == zfs::ZfsErrc::snapshot_in_use ||
               ec == zfs::ZfsErrc::more_recent_snapshots || ec == zfs::ZfsErrc::unsupported) {
        code = grpc::StatusCode::failed_precondition;
    }
    return grpc::Status{code, e.message()};
}

Error error_of(const grpc::Status& s, std::string_view method) {
    return Error(error_code(static_cast<int>(s.code), remote_status_category()),
                 std::string(method) + ": " + s.message);
}

}  // namespace zferry::replication::control
