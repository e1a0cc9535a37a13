#include "zfs/zfs_error.hpp"

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
        }
        return "unknown zfs error";
    }
};

}  // namespace

const boost::system::error_category& zfs_category() noexcept {
    static const Category cat;
    return cat;
}

}  // namespace zferry::zfs
