// Abstraction-name parsers (cursor and tentative cursor bookmarks, hold tags, job ids) and
// createtxg ranges: no crash, and whatever parses formats back to the same bytes, so
// zferry never misreads a name it wrote or writes one it cannot read.
#include "replication/logic/abstraction_names.hpp"
#include "replication/logic/create_txg_range.hpp"
#include "replication/logic/job_id.hpp"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

using namespace zferry::replication;
using zferry::Result;

namespace {

void check_bookmark(std::string_view s, std::string_view prefix, const Result<JobAndGuid>& r) {
    if (!r) return;
    const auto hash = s.find('#');
    if (hash == std::string_view::npos) std::abort();
    auto name = make_job_and_guid_bookmark_name(prefix, s.substr(0, hash), r->guid, r->job.str());
    if (!name || s.substr(hash + 1) != *name) std::abort();
}

void check_range(const std::uint8_t* data, std::size_t size) {
    if (size < 18) return;
    std::uint64_t a, b;
    std::memcpy(&a, data, 8);
    std::memcpy(&b, data + 8, 8);
    const std::uint8_t flags = data[16];
    CreateTxgRange r;
    if (flags & 1) r.since = CreateTxgBound{a, (flags & 2) != 0};
    if (flags & 4) r.until = CreateTxgBound{b, (flags & 8) != 0};
    const bool valid = r.validate(true).has_value();
    if (r.validate(false) && !valid) std::abort();  // allowing 0 only ever widens
    (void)r.to_string();
    // On a valid range, contains() is the plain definition of the bounds.
    for (std::uint64_t q : {a, b, a + 1, b - 1, a - 1, b + 1, std::uint64_t{0}, ~std::uint64_t{0}}) {
        bool expect = valid;
        if (r.since)
            expect = expect && (r.since->inclusive ? q >= r.since->createtxg : q > r.since->createtxg);
        if (r.until)
            expect = expect && (r.until->inclusive ? q <= r.until->createtxg : q < r.until->createtxg);
        if (r.contains(q) != expect) std::abort();
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view s(reinterpret_cast<const char*>(data), size);

    check_bookmark(s, kReplicationCursorPrefix,
                   parse_job_and_guid_bookmark_name(s, kReplicationCursorPrefix));
    check_bookmark(s, kTentativeReplicationCursorPrefix, parse_tentative_replication_cursor_bookmark_name(s));
    if (auto c = parse_replication_cursor_bookmark_name(s); c && std::holds_alternative<JobAndGuid>(*c))
        check_bookmark(s, kReplicationCursorPrefix, Result<JobAndGuid>(std::get<JobAndGuid>(*c)));

    if (auto j = parse_step_hold_tag(s)) {
        if (step_hold_tag(*j) != s) std::abort();
    }
    if (auto j = parse_last_received_hold_tag(s)) {
        if (last_received_hold_tag(*j) != s) std::abort();
    }
    if (auto j = JobId::make(s)) {
        if (j->str() != s) std::abort();
        // A valid job id always yields parseable names.
        if (parse_step_hold_tag(step_hold_tag(*j)).value() != *j) std::abort();
        if (parse_last_received_hold_tag(last_received_hold_tag(*j)).value() != *j) std::abort();
        auto bm = tentative_replication_cursor_bookmark_name("pool/ds", 0xface601d, *j);
        if (!bm) std::abort();
        if (parse_tentative_replication_cursor_bookmark_name("pool/ds#" + *bm).value().job != *j)
            std::abort();
    }
    (void)parse_abstraction_type(s);
    check_range(data, size);
    return 0;
}
