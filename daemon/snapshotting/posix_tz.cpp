#include "daemon/snapshotting/posix_tz.hpp"

#include "daemon/snapshotting/civil_time.hpp"

namespace zferry::snapshotting {
namespace {

class Reader {
public:
    explicit Reader(std::string_view s) : s_(s) {}
    bool done() const { return i_ >= s_.size(); }
    char peek() const { return done() ? '\0' : s_[i_]; }
    bool take(char c) {
        if (peek() != c) return false;
        ++i_;
        return true;
    }

    // "<+03>" or an alphabetic run of at least three letters.
    std::optional<std::string> name() {
        if (take('<')) {
            const auto begin = i_;
            while (!done() && peek() != '>') ++i_;
            if (done() || i_ - begin < 3) return std::nullopt;
            std::string n(s_.substr(begin, i_ - begin));
            ++i_;
            return n;
        }
        const auto begin = i_;
        while (!done() && ((peek() >= 'a' && peek() <= 'z') || (peek() >= 'A' && peek() <= 'Z'))) ++i_;
        if (i_ - begin < 3) return std::nullopt;
        return std::string(s_.substr(begin, i_ - begin));
    }

    std::optional<int> number(int max) {
        const auto begin = i_;
        int v = 0;
        while (!done() && peek() >= '0' && peek() <= '9') {
            v = v * 10 + (peek() - '0');
            if (v > max) return std::nullopt;
            ++i_;
        }
        if (i_ == begin) return std::nullopt;
        return v;
    }

    // [+-]hh[:mm[:ss]] as seconds, sign as written.
    std::optional<std::int32_t> hms(int max_hours) {
        int sign = 1;
        if (take('-'))
            sign = -1;
        else
            take('+');
        auto h = number(max_hours);
        if (!h) return std::nullopt;
        std::int32_t secs = *h * 3600;
        if (take(':')) {
            auto m = number(59);
            if (!m) return std::nullopt;
            secs += *m * 60;
            if (take(':')) {
                auto s = number(59);
                if (!s) return std::nullopt;
                secs += *s;
            }
        }
        return sign * secs;
    }

    std::optional<PosixTzRule> rule() {
        PosixTzRule r;
        if (take('J')) {
            auto n = number(365);
            if (!n || *n < 1) return std::nullopt;
            r.kind = PosixTzRule::Kind::julian_no_leap;
            r.day = *n;
        } else if (take('M')) {
            auto m = number(12);
            if (!m || *m < 1 || !take('.')) return std::nullopt;
            auto w = number(5);
            if (!w || *w < 1 || !take('.')) return std::nullopt;
            auto d = number(6);
            if (!d) return std::nullopt;
            r.kind = PosixTzRule::Kind::month_week_day;
            r.month = *m;
            r.week = *w;
            r.day = *d;
        } else {
            auto n = number(365);
            if (!n) return std::nullopt;
            r.kind = PosixTzRule::Kind::zero_based;
            r.day = *n;
        }
        if (take('/')) {
            auto t = hms(167);
            if (!t) return std::nullopt;
            r.time = *t;
        }
        return r;
    }

private:
    std::string_view s_;
    std::size_t i_ = 0;
};

}  // namespace

std::int64_t PosixTzRule::day_in_year(std::int64_t year) const {
    const std::int64_t jan1 = days_from_civil(year, 1, 1);
    switch (kind) {
        case Kind::julian_no_leap: return jan1 + day - 1 + (is_leap_year(year) && day >= 60 ? 1 : 0);
        case Kind::zero_based: return jan1 + day;
        case Kind::month_week_day: {
            const std::int64_t first = days_from_civil(year, month, 1);
            const int first_wd = static_cast<int>(floor_mod(first + 4, 7));
            int d = 1 + (day - first_wd + 7) % 7 + (week - 1) * 7;
            const int dim = days_in_month(year, month);
            while (d > dim) d -= 7;
            return first + d - 1;
        }
    }
    return jan1;
}

Result<PosixTz> PosixTz::parse(std::string_view tz) {
    auto fail = [&](std::string_view why) {
        return Error(Errc::parse_error, "invalid POSIX TZ string '" + std::string(tz) +
                                            "': " + std::string(why) +
                                            " (expected e.g. 'CET-1CEST,M3.5.0,M10.5.0/3' or '<+03>-3')");
    };
    Reader r(tz);
    PosixTz out;
    auto std_name = r.name();
    if (!std_name) return fail("missing or short standard time name");
    auto std_off = r.hms(24);
    if (!std_off) return fail("missing or bad standard time offset");
    out.std_abbreviation_ = *std_name;
    out.std_offset_ = -*std_off;  // POSIX counts west of Greenwich as positive
    if (r.done()) return out;

    Dst dst;
    auto dst_name = r.name();
    if (!dst_name) return fail("bad daylight saving time name");
    dst.abbreviation = *dst_name;
    dst.utc_offset = out.std_offset_ + 3600;
    if (!r.done() && r.peek() != ',') {
        auto off = r.hms(24);
        if (!off) return fail("bad daylight saving time offset");
        dst.utc_offset = -*off;
    }
    if (r.done()) {
        // Go's default for a DST zone without rules: the US rules.
        dst.start = PosixTzRule{PosixTzRule::Kind::month_week_day, 0, 2, 3, 2 * 3600};
        dst.end = PosixTzRule{PosixTzRule::Kind::month_week_day, 0, 1, 11, 2 * 3600};
    } else {
        if (!r.take(',')) return fail("expected ',' before the start rule");
        auto start = r.rule();
        if (!start) return fail("bad start rule");
        if (!r.take(',')) return fail("expected ',' before the end rule");
        auto end = r.rule();
        if (!end) return fail("bad end rule");
        if (!r.done()) return fail("trailing characters");
        dst.start = *start;
        dst.end = *end;
    }
    out.dst_ = std::move(dst);
    return out;
}

PosixTzLocal PosixTz::lookup(std::int64_t t) const {
    if (!dst_) return {std_offset_, false, std_abbreviation_};
    const std::int64_t year = civil_from_seconds(t + std_offset_).year;
    const std::int64_t start = dst_->start.day_in_year(year) * 86400 + dst_->start.time - std_offset_;
    const std::int64_t end = dst_->end.day_in_year(year) * 86400 + dst_->end.time - dst_->utc_offset;
    const bool in_dst = start < end ? (t >= start && t < end) : !(t >= end && t < start);
    if (in_dst) return {dst_->utc_offset, true, dst_->abbreviation};
    return {std_offset_, false, std_abbreviation_};
}

}  // namespace zferry::snapshotting
