// Why replication of a filesystem did not happen, as error codes: all permanent (retrying
// the same plan against the same histories gives the same answer; an operator must act).
#pragma once

#include <boost/system/error_code.hpp>

#include <type_traits>

namespace zferry::replication {

enum class ReplicationErrc {
    conflict = 1,     // the two histories conflict (no common snapshot, diverged, ...)
    planning_failed,  // the planner refused (policy, placeholders, no versions)
    parent_failed,    // a parent's initial replication failed, so its children cannot run
    cancelled,        // the run was cancelled (reset, shutdown)
};

const boost::system::error_category& replication_category() noexcept;
inline boost::system::error_code make_error_code(ReplicationErrc e) noexcept {
    return {static_cast<int>(e), replication_category()};
}

}  // namespace zferry::replication

template <>
struct boost::system::is_error_code_enum<zferry::replication::ReplicationErrc> : std::true_type {};
