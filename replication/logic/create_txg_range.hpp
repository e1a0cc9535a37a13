// A range of CreateTXGs selecting holds and bookmarks (`zfs-abstraction list` and release),
// with zrepl's semantics: bounds are optional (unbounded), each inclusive or exclusive;
// a range must contain more than one txg after normalising the bounds to inclusive ones,
// and bound 0 is refused unless explicitly allowed (txg 0 is never a real CreateTXG).
#pragma once

#include "core/error.hpp"

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>

namespace zferry::replication {

struct CreateTxgBound {
    std::uint64_t createtxg = 0;
    bool inclusive = true;
    friend bool operator==(const CreateTxgBound&, const CreateTxgBound&) = default;
};

struct CreateTxgRange {
    std::optional<CreateTxgBound> since;  // unset: no lower bound
    std::optional<CreateTxgBound> until;  // unset: no upper bound

    // zrepl's ZREPL_ENDPOINT_LIST_ABSTRACTIONS_QUERY_CREATETXG_RANGE_BOUND_ALLOW_0 is the
    // `allow_zero_createtxg` argument here; nothing below daemon/ reads the environment.
    Result<void> validate(bool allow_zero_createtxg = false) const;
    bool unbounded() const noexcept { return !since && !until; }
    // Whether txg lies within the range; a range that validate() refuses contains nothing.
    bool contains(std::uint64_t txg) const noexcept;
    // "~,~", "[2,5)", "(2,~", "~,0]": '~' for an unbounded side.
    std::string to_string() const;

    friend bool operator==(const CreateTxgRange&, const CreateTxgRange&) = default;
};

std::ostream& operator<<(std::ostream& os, const CreateTxgRange& r);

}  // namespace zferry::replication
