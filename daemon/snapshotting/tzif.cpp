#include "daemon/snapshotting/tzif.hpp"

#include <string_view>

namespace zferry::snapshotting {
namespace {

struct Header {
    char version = 0;
    std::uint32_t isutcnt = 0, isstdcnt = 0, leapcnt = 0, timecnt = 0, typecnt = 0, charcnt = 0;
};

class Cursor {
public:
    explicit Cursor(std::span<const std::uint8_t> d) : d_(d) {}
    std::size_t remaining() const { return d_.size() - pos_; }
    bool skip(std::uint64_t n) {
        if (n > remaining()) return false;
        pos_ += static_cast<std::size_t>(n);
        return true;
    }
    std::uint32_t u32() {
        std::uint32_t v = 0;
        for (int i = 0; i < 4; ++i) v = (v << 8) | d_[pos_++];
        return v;
    }
    std::int64_t i64() {
        std::uint64_t v = 0;
        for (int i = 0; i < 8; ++i) v = (v << 8) | d_[pos_++];
        return static_cast<std::int64_t>(v);
    }
    std::int32_t i32() { return static_cast<std::int32_t>(u32()); }
    std::uint8_t u8() { return d_[pos_++]; }
    std::span<const std::uint8_t> rest() const { return d_.subspan(pos_); }

private:
    std::span<const std::uint8_t> d_;
    std::size_t pos_ = 0;
};

std::optional<Header> read_header(Cursor& c) {
    if (c.remaining() < 44) return std::nullopt;
    auto r = c.rest();
    if (r[0] != 'T' || r[1] != 'Z' || r[2] != 'i' || r[3] != 'f') return std::nullopt;
    Header h;
    h.version = static_cast<char>(r[4]);
    c.skip(20);
    h.isutcnt = c.u32();
    h.isstdcnt = c.u32();
    h.leapcnt = c.u32();
    h.timecnt = c.u32();
    h.typecnt = c.u32();
    h.charcnt = c.u32();
    return h;
}

std::uint64_t block_size(const Header& h, std::uint64_t time_size) {
    return std::uint64_t(h.timecnt) * time_size + h.timecnt + std::uint64_t(h.typecnt) * 6 + h.charcnt +
           std::uint64_t(h.leapcnt) * (time_size + 4) + h.isstdcnt + h.isutcnt;
}

}  // namespace

Result<TimeZone> parse_tzif(std::string name, std::span<const std::uint8_t> data) {
    auto fail = [&](std::string_view why) {
        return Error(Errc::parse_error, "time zone '" + name + "': invalid TZif data: " + std::string(why) +
                                            " (expected a zoneinfo file as zic writes it)");
    };
    Cursor c(data);
    auto h = read_header(c);
    if (!h) return fail("missing 'TZif' header");
    if (h->version != 0 && (h->version < '2' || h->version > '4')) return fail("unknown version");
    std::uint64_t time_size = 4;
    if (h->version != 0) {
        // Skip the 32-bit block: the 64-bit one after the second header supersedes it.
        if (!c.skip(block_size(*h, 4))) return fail("truncated version 1 data block");
        h = read_header(c);
        if (!h) return fail("missing second 'TZif' header");
        time_size = 8;
    }
    if (h->typecnt == 0) return fail("no local time types");
    if (h->typecnt > 256) return fail("more than 256 local time types");
    if (h->charcnt == 0) return fail("no time zone abbreviations");
    if ((h->isutcnt != 0 && h->isutcnt != h->typecnt) || (h->isstdcnt != 0 && h->isstdcnt != h->typecnt))
        return fail("indicator counts differ from the type count");
    if (block_size(*h, time_size) > c.remaining()) return fail("truncated data block");

    std::vector<std::int64_t> transitions(h->timecnt);
    for (auto& t : transitions) t = time_size == 8 ? c.i64() : std::int64_t(c.i32());
    for (std::size_t i = 1; i < transitions.size(); ++i)
        if (transitions[i] <= transitions[i - 1]) return fail("transition times not ascending");
    std::vector<std::uint8_t> transition_types(h->timecnt);
    for (auto& t : transition_types) {
        t = c.u8();
        if (t >= h->typecnt) return fail("transition refers to a missing local time type");
    }
    struct RawType {
        std::int32_t off;
        bool dst;
        std::uint8_t idx;
    };
    std::vector<RawType> raw(h->typecnt);
    for (auto& t : raw) {
        t.off = c.i32();
        const auto dst = c.u8();
        t.idx = c.u8();
        if (t.off == INT32_MIN) return fail("UTC offset -2^31");
        if (dst > 1) return fail("DST indicator not 0 or 1");
        if (t.idx >= h->charcnt) return fail("abbreviation index out of range");
        t.dst = dst == 1;
    }
    const auto chars = c.rest().first(h->charcnt);
    c.skip(h->charcnt);
    std::vector<LocalTimeType> types;
    types.reserve(raw.size());
    for (const auto& t : raw) {
        std::string abbr;
        for (std::size_t i = t.idx; i < chars.size() && chars[i] != 0; ++i)
            abbr += static_cast<char>(chars[i]);
        types.push_back(LocalTimeType{t.off, t.dst, std::move(abbr)});
    }
    c.skip(std::uint64_t(h->leapcnt) * (time_size + 4) + h->isstdcnt + h->isutcnt);

    std::optional<PosixTz> rule;
    if (time_size == 8) {
        auto footer = c.rest();
        if (footer.empty() || footer[0] != '\n') return fail("missing footer");
        std::size_t end = 1;
        while (end < footer.size() && footer[end] != '\n') ++end;
        if (end == footer.size()) return fail("unterminated footer");
        std::string_view tz(reinterpret_cast<const char*>(footer.data()) + 1, end - 1);
        if (!tz.empty()) {
            auto parsed = PosixTz::parse(tz);
            if (!parsed) return fail(parsed.error().context());
            rule = std::move(*parsed);
        }
    }
    return TimeZone(std::move(name), std::move(transitions), std::move(transition_types), std::move(types),
                    std::move(rule));
}

}  // namespace zferry::snapshotting
