// A job's identity as it appears in on-disk names (hold tags, cursor bookmarks). zrepl's
// MakeJobID rules, so that every name zferry writes is one zrepl can read and vice versa.
#pragma once

#include "core/error.hpp"

#include <compare>
#include <ostream>
#include <string>
#include <string_view>

namespace zferry::replication {

class JobId {
public:
    // Accepts s when it is non-empty, one valid dataset path component (spaces are legal:
    // "push with legitimate name"), fits a tentative cursor bookmark name on "pool/ds", and
    // keeps the step and last-received hold tags within ZFS's 255-byte hold tag limit.
    static Result<JobId> make(std::string_view s);

    const std::string& str() const noexcept { return id_; }

    friend bool operator==(const JobId&, const JobId&) = default;
    friend auto operator<=>(const JobId&, const JobId&) = default;
    friend std::ostream& operator<<(std::ostream& os, const JobId& j) { return os << j.id_; }

private:
    explicit JobId(std::string id) : id_(std::move(id)) {}
    std::string id_;
};

}  // namespace zferry::replication
