// Durations ("10s", "5m", "1d", "1w") and data sizes ("50 MiB", "100 Mbit") as zrepl's
// configuration writes them. Errors name the input and say what is accepted.
#pragma once

#include "core/error.hpp"

#include <chrono>
#include <string_view>

namespace zferry {

// "<integer><unit>" with optional sign and whitespace; units s, m, h, d (24h), w (7d).
// A bare number is accepted only for zero.
Result<std::chrono::seconds> parse_duration(std::string_view s);

// As parse_duration, but the result must be > 0.
Result<std::chrono::seconds> parse_positive_duration(std::string_view s);

struct IntervalOrManual {
    bool manual = false;
    std::chrono::seconds interval{0};
};
// "manual" or a positive duration.
Result<IntervalOrManual> parse_positive_duration_or_manual(std::string_view s);

// "<number>[whitespace]<unit>": unit is "bit" or an optional prefix K M G T (10^3...) or
// Ki Mi Gi Ti (2^10...) followed by b (bits) or B (bytes). zferry also accepts a prefix
// before "bit" ("100 Mbit"). Returns bits; "bit" amounts must be whole. "-1 B" is how the
// configuration says "unlimited", so negative numbers parse.
Result<double> parse_data_size_bits(std::string_view s);

// Convenience: bytes (bits / 8), for sizes given as data sizes.
Result<double> parse_data_size_bytes(std::string_view s);

}  // namespace zferry
