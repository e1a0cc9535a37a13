// Go's reference-time layouts ("2006-01-02_15:04:05", "Mon Jan 2 15:04:05 MST 2006"),
// tokenised and rendered exactly as Go's time.Format does, because zrepl's
// timestamp_format takes such layouts verbatim and existing snapshot names must match.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace zferry::snapshotting {

// A wall-clock reading with its zone, the input of a layout.
struct ZonedReading {
    std::int64_t unix_seconds = 0;
    std::int32_t nanoseconds = 0;  // 0..999'999'999
    std::int32_t utc_offset = 0;
    std::string_view abbreviation;
};

class GoLayout {
public:
    // Any string is a layout (Go has no invalid layouts: unknown text is literal).
    explicit GoLayout(std::string_view layout);

    std::string format(const ZonedReading& r) const;

private:
    struct Chunk {
        int std = 0;  // 0 = literal
        std::string literal;
        int frac_digits = 0;
        char frac_sep = '.';
    };
    std::vector<Chunk> chunks_;
};

}  // namespace zferry::snapshotting
