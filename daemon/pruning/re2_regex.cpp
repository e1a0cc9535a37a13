#include "daemon/pruning/re2_regex.hpp"

#include <boost/regex.hpp>

namespace zferry::pruning {

struct Re2Regex::Impl {
    boost::regex re;
};

namespace {

// The first construct RE2 does not support, or empty. Also rewrites RE2's named group
// "(?P<name>" to the "(?<name>" Boost knows, into `translated`.
std::string unsupported_construct(std::string_view p, std::string& translated) {
    translated.assign(p);
    std::size_t removed = 0;
    bool in_class = false;
    for (std::size_t i = 0; i < p.size(); ++i) {
        const char c = p[i];
        if (c == '\\') {
            if (i + 1 >= p.size()) return {};  // Boost reports the trailing backslash
            const char n = p[i + 1];
            if (!in_class && n >= '1' && n <= '9' &&
                !(i + 2 < p.size() && p[i + 2] >= '0' && p[i + 2] <= '7'))
                return "back reference \\" + std::string(1, n);
            if (!in_class && (n == 'g' || n == 'k')) return "back reference \\" + std::string(1, n);
            if (n == 'Z' || n == 'G' || n == 'K' || n == 'R' || n == 'X')
                return "escape \\" + std::string(1, n);
            ++i;
            continue;
        }
        if (in_class) {
            if (c == ']') in_class = false;
            continue;
        }
        if (c == '[') {
            in_class = true;
            // A ']' right after '[' or '[^' is a literal member.
            if (i + 1 < p.size() && p[i + 1] == '^') ++i;
            if (i + 1 < p.size() && p[i + 1] == ']') ++i;
            continue;
        }
        if (c == '(' && i + 1 < p.size() && p[i + 1] == '?') {
            const std::string_view rest = p.substr(i + 2);
            for (std::string_view bad : {"=", "!", "<=", "<!", ">", "(", "R", "#", "|", "&", "+", "P=", "P>"})
                if (rest.starts_with(bad)) return "group (?" + std::string(bad);
            if (rest.starts_with("P<")) translated.erase(i + 2 - removed++, 1);
            if (!rest.empty() && rest[0] >= '0' && rest[0] <= '9') return "recursion (?N)";
        }
        if ((c == '*' || c == '+' || c == '?' || c == '}') && i + 1 < p.size() && p[i + 1] == '+')
            return "possessive quantifier " + std::string(1, c) + "+";
    }
    return {};
}

}  // namespace

Result<Re2Regex> Re2Regex::compile(std::string_view pattern, std::string_view key) {
    if (pattern.empty()) return Re2Regex(std::string(), nullptr);
    std::string translated;
    if (auto bad = unsupported_construct(pattern, translated); !bad.empty())
        return Error(Errc::invalid_argument, std::string(key) + " '" + std::string(pattern) + "': " + bad +
                                                 " is not supported (expected RE2 syntax as in Go's regexp, "
                                                 "e.g. '^zrepl_')");
    try {
        auto impl = std::make_shared<Impl>();
        impl->re.assign(translated.begin(), translated.end(),
                        boost::regex::perl | boost::regex::no_mod_m | boost::regex::no_mod_s);
        return Re2Regex(std::string(pattern), std::move(impl));
    } catch (const boost::regex_error& e) {
        return Error(Errc::invalid_argument, std::string(key) + " '" + std::string(pattern) +
                                                 "' is not a valid regular expression: " + e.what() +
                                                 " (expected RE2 syntax as in Go's regexp, e.g. '^zrepl_')");
    }
}

bool Re2Regex::search(std::string_view s) const {
    if (!impl_) return true;
    try {
        return boost::regex_search(s.begin(), s.end(), impl_->re,
                                   boost::match_default | boost::match_not_dot_newline);
    } catch (const std::runtime_error&) {
        // Boost gives up on pathological backtracking (RE2 never does). Names are at most
        // 255 bytes, so this is theoretical; answering "match" errs towards keeping.
        return true;
    }
}

}  // namespace zferry::pruning
