#include "zfs/zfs_error.hpp"

#include "core/error.hpp"

#include <string>

namespace zferry::zfs {
namespace {

class Category final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "zfs"; }
    std::string message(int ev) const override {
        switch (static_cast<ZfsErrc>(ev)) {
            case ZfsErrc::command_failed: return "zfs command failed";
            case ZfsErrc::dataset_not_found: return "dataset does not exist";
            case ZfsErrc::dataset_exists: return "dataset exists";
            case ZfsErrc::snapshot_held: return "snapshot is held";
            case ZfsErrc::dataset_busy: return "dataset is busy";
            case ZfsErrc::more_recent_snapshots: return "more recent snapshots exist";
            case ZfsErrc::unsupported: return "not supported by this zfs";
            case ZfsErrc::snapshot_in_use: return "snapshot is in use";
            case ZfsErrc::out_of_space: return "pool is out of space";
        }
        return "unknown zfs error";
    }
    // What core's is_temporary asks (see zfs_error.hpp). out_of_space is permanent: a full
    // pool does not empty itself within the driver's retries (seconds to minutes), so a
    // retried attempt would resend the same bytes and fail at the same point, filling the
    // pool to the brim again each time. It is not a network error either. Space comes back
    // when someone destroys something (the receiver's pruning after this invocation, an
    // administrator); the partial receive stays, and the next run resumes it.
    bool equivalent(int ev, const boost::system::error_condition& cond) const noexcept override {
        if (cond == make_error_condition(Condition::temporary))
            return static_cast<ZfsErrc>(ev) == ZfsErrc::dataset_busy;
        return error_category::equivalent(ev, cond);
    }
};

}  // namespace

const boost::system::error_category& zfs_category() noexcept {
    static const Category cat;
    return cat;
}

}  // namespace zferry::zfs
