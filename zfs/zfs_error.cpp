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
        }
        return "unknown zfs error";
    }
    // What core's is_temporary asks (see zfs_error.hpp).
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
