#include "replication/logic/replication_error.hpp"

#include <string>

namespace zferry::replication {
namespace {
class Category final : public boost::system::error_category {
public:
    const char* name() const noexcept override { return "zferry.replication"; }
    std::string message(int ev) const override {
        switch (static_cast<ReplicationErrc>(ev)) {
            case ReplicationErrc::conflict: return "replication conflict";
            case ReplicationErrc::planning_failed: return "planning failed";
            case ReplicationErrc::parent_failed: return "parent failed";
            case ReplicationErrc::cancelled: return "replication cancelled";
        }
        return "unknown replication error";
    }
};
}  // namespace

const boost::system::error_category& replication_category() noexcept {
    static const Category c;
    return c;
}

}  // namespace zferry::replication
