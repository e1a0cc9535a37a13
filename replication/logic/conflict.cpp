#include "replication/logic/conflict.hpp"

namespace zferry::replication {
namespace {

void list_versions(std::string& out, const std::vector<zfs::FilesystemVersion>& versions) {
    for (const auto& v : versions) out += "    " + v.relative_name() + "\n";
}

}  // namespace

std::string_view to_string(ConflictKind k) noexcept {
    switch (k) {
        case ConflictKind::no_sender_snapshots: return "no_sender_snapshots";
        case ConflictKind::no_common_ancestor: return "no_common_ancestor";
        case ConflictKind::diverged: return "diverged";
        case ConflictKind::most_recent_snapshot_already_present:
            return "most_recent_snapshot_already_present";
    }
    return "unknown";
}

std::ostream& operator<<(std::ostream& os, ConflictKind k) { return os << to_string(k); }

std::string Conflict::message() const {
    std::string m;
    switch (kind) {
        case ConflictKind::no_sender_snapshots: return "no snapshots available on sender side";
        case ConflictKind::no_common_ancestor:
            m = "no common snapshot or suitable bookmark between sender and receiver";
            if (!sorted_sender_versions.empty() || !sorted_receiver_versions.empty()) {
                m += ":\n  sorted sender versions:\n";
                list_versions(m, sorted_sender_versions);
                m += "  sorted receiver versions:\n";
                list_versions(m, sorted_receiver_versions);
            }
            return m;
        case ConflictKind::diverged:
            m = "the receiver's latest snapshot is not present on sender:\n";
            m += "  last common: " + (common_ancestor ? common_ancestor->relative_name() : std::string("?")) +
                 "\n";
            m += "  sender-only:\n";
            list_versions(m, sender_only);
            m += "  receiver-only:\n";
            list_versions(m, receiver_only);
            return m;
        case ConflictKind::most_recent_snapshot_already_present:
            m = "the most recent sender snapshot is already present on the receiver";
            if (common_ancestor)
                m += " (guid=" + std::to_string(common_ancestor->guid) + ", name=\"" +
                     common_ancestor->relative_name() + "\")";
            return m;
    }
    return "unknown conflict";
}

std::ostream& operator<<(std::ostream& os, const Conflict& c) {
    return os << "conflict " << c.kind << ": " << c.message();
}

}  // namespace zferry::replication
