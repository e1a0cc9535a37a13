// Text that came from elsewhere (peers, zfs, configuration) on its way into logs and
// protocol checks: one strict UTF-8 check and one quoting rule, so that no value can pass
// for a line break, a field separator or another log line.
#pragma once

#include <string>
#include <string_view>

namespace zferry {

// Strict UTF-8 as Go's utf8.ValidString sees it (zrepl's peers use it): no overlong forms,
// no surrogates, nothing above U+10FFFF, no truncated sequence.
bool valid_utf8(std::string_view s) noexcept;

// `s` with every byte that could end or fake a log line escaped: C0 and C1 control
// characters, DEL, U+2028/U+2029 and bytes that are not part of valid UTF-8 become \n, \r,
// \t or \xNN; everything else (spaces, quotes, printable UTF-8) is kept.
std::string escape_controls(std::string_view s);

// A log field value: unchanged when it is non-empty printable text without spaces, quotes,
// '=' or backslashes; otherwise double-quoted with '"' and '\' escaped as \" and \\ and
// control characters as escape_controls() does. One value can then never look like two
// fields or a second line.
std::string quote_log_value(std::string_view s);

}  // namespace zferry
