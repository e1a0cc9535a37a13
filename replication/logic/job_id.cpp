#include "replication/logic/job_id.hpp"

#include "replication/logic/abstraction_names.hpp"
#include "zfs/dataset_path.hpp"

#include <algorithm>
#include <string>

namespace zferry::replication {

Result<JobId> JobId::make(std::string_view s) {
    const auto invalid = [&](std::string_view why, const std::string& cause = {}) {
        std::string msg = "invalid job id '" + std::string(s) + "': " + std::string(why);
        if (!cause.empty()) msg += ": " + cause;
        return Error(Errc::invalid_argument, std::move(msg));
    };
    if (s.empty()) return invalid("must not be empty");
    if (auto r = zfs::component_namecheck(s); !r)
        return invalid("must be usable as a dataset path component", r.error().context());
    // The GUID is a placeholder; what matters is that the job id leaves room for a cursor
    // bookmark name on a short filesystem (zrepl probes with the same values).
    if (auto r = make_job_and_guid_bookmark_name(kTentativeReplicationCursorPrefix, "pool/ds", 0xface601d, s);
        !r)
        return invalid("must be usable for a tentative replication cursor bookmark", r.error().context());
    if (!job_and_guid_name_reads_back(s))
        return invalid(
            "must not contain '_G_<16 hex digits>_J_': cursor bookmark names could not be parsed back");
    const std::size_t longest_prefix = std::max(kStepHoldTagPrefix.size(), kLastReceivedHoldTagPrefix.size());
    if (longest_prefix + s.size() > kMaxHoldTagLen)
        return invalid("must be usable in step and last-received hold tags (at most " +
                       std::to_string(kMaxHoldTagLen - longest_prefix) + " bytes)");
    if (auto r = zfs::DatasetPath::parse(s); !r)
        return invalid("must be usable in a ZFS dataset path", r.error().context());
    return JobId(std::string(s));
}

}  // namespace zferry::replication
