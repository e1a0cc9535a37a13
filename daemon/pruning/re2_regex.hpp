// Regular expressions for snapshot-name rules with the semantics of Go's regexp (RE2) as
// far as snapshot names can tell: unanchored search, leftmost-first Perl syntax, '^' and '$'
// at the text's ends only, '.' not matching a newline. Constructs RE2 rejects (back
// references, look-around, atomic groups, conditionals, recursion) are rejected here too,
// so a configuration accepted by zferry is one zrepl accepts. Implemented on Boost.Regex.
#pragma once

#include "core/error.hpp"

#include <memory>
#include <string>
#include <string_view>

namespace zferry::pruning {

class Re2Regex {
public:
    // `key` names the configuration key in errors (e.g. "keep rule last_n: regex").
    static Result<Re2Regex> compile(std::string_view pattern, std::string_view key);

    // True if the pattern matches anywhere in `s` (Go's MatchString). The empty pattern
    // matches everything.
    bool search(std::string_view s) const;

    const std::string& pattern() const noexcept { return pattern_; }

private:
    struct Impl;
    Re2Regex(std::string pattern, std::shared_ptr<const Impl> impl)
        : pattern_(std::move(pattern)), impl_(std::move(impl)) {}
    std::string pattern_;
    std::shared_ptr<const Impl> impl_;  // null for the empty pattern
};

}  // namespace zferry::pruning
