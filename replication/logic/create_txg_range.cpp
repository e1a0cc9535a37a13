#include "replication/logic/create_txg_range.hpp"

#include <limits>

namespace zferry::replication {
namespace {

struct InclusiveBounds {
    std::optional<std::uint64_t> since, until;
};

// Both bounds made inclusive. zrepl requires since < until afterwards, so a range of a
// single txg such as [2,2] is refused as well; kept for compatibility of the CLI.
Result<InclusiveBounds> inclusive_bounds(const CreateTxgRange& r) {
    InclusiveBounds b;
    if (r.since) {
        if (!r.since->inclusive && r.since->createtxg == std::numeric_limits<std::uint64_t>::max())
            return Error(
                Errc::invalid_argument,
                "exclusive lower bound " + std::to_string(r.since->createtxg) + " leaves no txg above it");
        b.since = r.since->createtxg + (r.since->inclusive ? 0 : 1);
    }
    if (r.until) {
        if (!r.until->inclusive && r.until->createtxg == 0)
            return Error(Errc::invalid_argument, "exclusive upper bound 0 leaves no txg below it");
        b.until = r.until->createtxg - (r.until->inclusive ? 0 : 1);
    }
    if (b.since && b.until && *b.since >= *b.until)
        return Error(Errc::invalid_argument, "effective bounds [" + std::to_string(*b.since) + "," +
                                                 std::to_string(*b.until) + "] are empty or invalid");
    return b;
}

}  // namespace

Result<void> CreateTxgRange::validate(bool allow_zero_createtxg) const {
    const auto fail = [&](const std::string& why) {
        return Error(Errc::invalid_argument, "createtxg range " + to_string() + " is invalid: " + why);
    };
    if (!allow_zero_createtxg) {
        if (since && since->createtxg == 0) return fail("lower bound must be non-zero (the first txg is 1)");
        if (until && until->createtxg == 0) return fail("upper bound must be non-zero (the first txg is 1)");
    }
    if (auto b = inclusive_bounds(*this); !b) return fail(b.error().context());
    return {};
}

bool CreateTxgRange::contains(std::uint64_t txg) const noexcept {
    auto b = inclusive_bounds(*this);
    if (!b) return false;
    return (!b->since || *b->since <= txg) && (!b->until || txg <= *b->until);
}

std::string CreateTxgRange::to_string() const {
    std::string s;
    if (since)
        s += (since->inclusive ? "[" : "(") + std::to_string(since->createtxg);
    else
        s += "~";
    s += ",";
    if (until)
        s += std::to_string(until->createtxg) + (until->inclusive ? "]" : ")");
    else
        s += "~";
    return s;
}

std::ostream& operator<<(std::ostream& os, const CreateTxgRange& r) { return os << r.to_string(); }

}  // namespace zferry::replication
