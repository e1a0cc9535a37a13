#include "replication/logic/planner.hpp"

#include "replication/logic/incremental_path.hpp"

#include <algorithm>
#include <iomanip>
#include <sstream>
#include <unordered_map>

namespace zferry::replication {
namespace {

using zfs::FilesystemVersion;
using zfs::VersionType;

bool is_snapshot(const FilesystemVersion& v) noexcept { return v.type == VersionType::snapshot; }

std::string guid_hex(std::uint64_t guid) {
    std::ostringstream os;
    os << "0x" << std::hex << std::setw(16) << std::setfill('0') << guid;
    return os.str();
}

Plan steps(std::vector<Step> s) { return Plan{std::move(s)}; }
Plan error(std::string m) { return Plan{PlanError{std::move(m)}}; }

class Planner {
public:
    explicit Planner(const PlanInput& in) : in_(in) {
        sender_ = in.sender_versions;
        sort_versions(sender_);
        for (const auto& v : sender_) {
            if (!is_snapshot(v)) continue;
            snapshot_index_.emplace(v.guid, sender_snapshots_.size());  // the first one wins
            sender_snapshots_.push_back(v);
        }
        if (in.limit_to_guid)
            if (auto it = snapshot_index_.find(*in.limit_to_guid); it != snapshot_index_.end())
                limit_index_ = it->second;
    }

    Plan plan() const {
        if (in_.sender_is_placeholder) {
            // A placeholder only carries children; the receiver creates its own placeholder
            // when the first child arrives.
            if (in_.receiver == ReceiverState::present)
                return error("sender filesystem is placeholder, but receiver filesystem is not");
            return steps({});
        }
        if (sender_.empty()) return error("sender does not have any versions");
        if (in_.resume_token) return plan_resume(*in_.resume_token);
        return plan_fresh();
    }

private:
    bool wanted(const FilesystemVersion& v) const {
        if (limit_index_) {
            auto i = snapshot_index(v);
            if (!i || *i > *limit_index_) return false;
        }
        return !in_.snapshot_filter || std::regex_search(v.name, *in_.snapshot_filter);
    }

    std::vector<FilesystemVersion> wanted_only(std::vector<FilesystemVersion> vs) const {
        std::erase_if(vs, [&](const FilesystemVersion& v) { return !wanted(v); });
        return vs;
    }

    // Position among the sender's snapshots, by GUID (a bookmark has none).
    std::optional<std::size_t> snapshot_index(const FilesystemVersion& v) const {
        if (!is_snapshot(v)) return std::nullopt;
        auto it = snapshot_index_.find(v.guid);
        if (it == snapshot_index_.end()) return std::nullopt;
        return it->second;
    }

    // `send -I a b` carries every sender snapshot between a and b, so a run may only grow
    // over snapshots that are next to each other on the sender: a snapshot the filter skips
    // ends the run.
    bool adjacent(const FilesystemVersion& a, const FilesystemVersion& b) const {
        auto ia = snapshot_index(a), ib = snapshot_index(b);
        return ia && ib && *ib == *ia + 1;
    }

    // Steps from `source` (unset: full send) through every target in order.
    std::vector<Step> chain(std::optional<FilesystemVersion> source,
                            const std::vector<FilesystemVersion>& targets) const {
        std::vector<Step> out;
        std::size_t i = 0;
        while (i < targets.size()) {
            // A full send stands alone, and OpenZFS builds -I packages from snapshots only,
            // so a bookmark source gets a plain -i step.
            if (!in_.coalesce || !source || !adjacent(*source, targets[i])) {
                out.push_back(Step{source, targets[i], {}, {}});
                source = targets[i++];
                continue;
            }
            std::size_t end = i;
            while (end + 1 < targets.size() && adjacent(targets[end], targets[end + 1])) ++end;
            Step s{source, targets[end], {}, {}};
            s.intermediates.assign(targets.begin() + static_cast<std::ptrdiff_t>(i),
                                   targets.begin() + static_cast<std::ptrdiff_t>(end));
            out.push_back(std::move(s));
            source = targets[end];
            i = end + 1;
        }
        return out;
    }

    Plan plan_resume(const zfs::ResumeToken& token) const {
        // The newest-sorted match wins for `to` (a snapshot); for `from` a snapshot is
        // preferred over its bookmark, which only matters for size estimates.
        const FilesystemVersion* from = nullptr;
        const FilesystemVersion* to = nullptr;
        std::size_t to_idx = 0;
        for (std::size_t i = 0; i < sender_.size(); ++i) {
            const auto& v = sender_[i];
            if (token.fromguid && v.guid == *token.fromguid && !(from && is_snapshot(*from))) from = &v;
            if (v.guid == token.toguid && is_snapshot(v)) {
                to = &v;
                to_idx = i;
            }
        }
        if (!to)
            return Plan{ClearStaleResumeToken{"resume token `toguid` = " + guid_hex(token.toguid) +
                                              " not found on sender (`toname` = \"" + token.toname + "\")"}};
        if (token.fromguid && !from)
            return Plan{ClearStaleResumeToken{"resume token `fromguid` = " + guid_hex(*token.fromguid) +
                                              " not found on sender (`toname` = \"" + token.toname + "\")"}};
        if (from == to)
            return error("resume token `fromguid` and `toguid` match the same version on the sender");

        std::vector<Step> out{
            Step{from ? std::optional(*from) : std::nullopt, *to, {}, in_.resume_token_raw}};
        // The resumed snapshot is by definition the receiver's newest, so the rest are
        // incrementals over the sender's later snapshots.
        std::vector<FilesystemVersion> later;
        for (std::size_t i = to_idx + 1; i < sender_.size(); ++i)
            if (is_snapshot(sender_[i]) && sender_[i].guid != to->guid) later.push_back(sender_[i]);
        auto rest = chain(*to, wanted_only(std::move(later)));
        out.insert(out.end(), rest.begin(), rest.end());
        return steps(std::move(out));
    }

    Plan plan_fresh() const {
        const std::vector<FilesystemVersion> none;
        const auto& receiver = in_.receiver == ReceiverState::present ? in_.receiver_versions : none;
        auto result = incremental_path(receiver, sender_);
        if (auto* path = std::get_if<std::vector<FilesystemVersion>>(&result)) {
            std::vector<FilesystemVersion> targets(path->begin() + 1, path->end());
            return steps(chain(path->front(), wanted_only(std::move(targets))));
        }
        auto& conflict = std::get<Conflict>(result);
        if (conflict.kind == ConflictKind::most_recent_snapshot_already_present) return steps({});
        if (conflict.kind == ConflictKind::no_common_ancestor && conflict.sorted_receiver_versions.empty())
            return plan_initial();
        return Plan{std::move(conflict)};
    }

    Plan plan_initial() const {
        if (in_.initial == InitialReplicationPolicy::fail)
            return error("automatic conflict resolution for initial replication is disabled in config");
        if (sender_snapshots_.empty())
            return error("sender has only bookmarks and no snapshot for an initial full send");
        const auto candidates = wanted_only(sender_snapshots_);
        if (candidates.empty())
            return error(
                "no sender snapshot matches the snapshot filter, nothing to send for initial replication");
        if (in_.initial == InitialReplicationPolicy::most_recent)
            return steps({Step{std::nullopt, candidates.back(), {}, {}}});
        return steps(chain(std::nullopt, candidates));
    }

    const PlanInput& in_;
    std::vector<FilesystemVersion> sender_;            // sorted
    std::vector<FilesystemVersion> sender_snapshots_;  // sorted, snapshots only
    // GUID -> position in sender_snapshots_; filesystems keep thousands of snapshots.
    std::unordered_map<std::uint64_t, std::size_t> snapshot_index_;
    // Position of PlanInput::limit_to_guid among the sender's snapshots, when it has it.
    std::optional<std::size_t> limit_index_;
};

}  // namespace

std::string_view to_string(InitialReplicationPolicy p) noexcept {
    switch (p) {
        case InitialReplicationPolicy::most_recent: return "most_recent";
        case InitialReplicationPolicy::all: return "all";
        case InitialReplicationPolicy::fail: return "fail";
    }
    return "unknown";
}

std::optional<InitialReplicationPolicy> parse_initial_replication_policy(std::string_view s) noexcept {
    for (auto p : {InitialReplicationPolicy::most_recent, InitialReplicationPolicy::all,
                   InitialReplicationPolicy::fail})
        if (to_string(p) == s) return p;
    return std::nullopt;
}

std::ostream& operator<<(std::ostream& os, InitialReplicationPolicy p) { return os << to_string(p); }

std::ostream& operator<<(std::ostream& os, const Plan& p) {
    if (const auto* s = p.steps()) {
        if (s->empty()) return os << "no steps";
        os << "steps: ";
        const char* sep = "";
        for (const auto& step : *s) {
            os << sep << step;
            sep = "; ";
        }
        return os;
    }
    if (const auto* c = std::get_if<Conflict>(&p.outcome)) return os << *c;
    if (const auto* e = std::get_if<PlanError>(&p.outcome)) return os << "error: " << e->message;
    return os << "clear the stale resume token and plan afresh: "
              << std::get<ClearStaleResumeToken>(p.outcome).reason;
}

Plan plan_filesystem(const PlanInput& in) { return Planner(in).plan(); }

}  // namespace zferry::replication
