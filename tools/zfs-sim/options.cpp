#include "tools/zfs-sim/options.hpp"

#include "tools/zfs-sim/sim_error.hpp"

#include <cstdlib>

namespace zfssim {

bool Options::has(char c) const { return count(c) > 0; }

int Options::count(char c) const {
    int n = 0;
    for (auto& [o, v] : opts) n += o == c;
    return n;
}

std::vector<std::string> Options::all(char c) const {
    std::vector<std::string> out;
    for (auto& [o, v] : opts)
        if (o == c) out.push_back(v);
    return out;
}

std::string Options::last(char c) const {
    std::string out;
    for (auto& [o, v] : opts)
        if (o == c) out = v;
    return out;
}

Options parse_options(const std::vector<std::string>& args, const std::string& optstring,
                      const std::map<std::string, char>& longopts, Operands operands) {
    const char* require = std::getenv("ZFS_SIM_REQUIRE_END_OF_OPTIONS");
    const bool strict = operands == Operands::strict && require != nullptr && *require != '\0';
    Options o;
    bool ended = false;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (ended || a.size() < 2 || a[0] != '-') {
            if (strict && !ended)
                throw UsageError("operand '" + a +
                                 "' is not preceded by '--' (ZFS_SIM_REQUIRE_END_OF_OPTIONS: every name "
                                 "must come after the end of options)");
            o.operands.push_back(a);
            continue;
        }
        if (a == "--") {
            ended = true;
            continue;
        }
        if (a[1] == '-') {
            std::string name = a.substr(2);
            auto eq = name.find('=');
            std::string val;
            if (eq != std::string::npos) {
                val = name.substr(eq + 1);
                name.resize(eq);
            }
            auto it = longopts.find(name);
            if (it == longopts.end()) throw UsageError("unrecognized option '" + a + "'");
            auto pos = optstring.find(it->second);
            if (pos != std::string::npos && pos + 1 < optstring.size() && optstring[pos + 1] == ':' &&
                eq == std::string::npos) {
                if (i + 1 >= args.size())
                    throw UsageError(std::string("missing argument for '") + it->second + "' option");
                val = args[++i];
            }
            o.opts.emplace_back(it->second, val);
            continue;
        }
        for (std::size_t j = 1; j < a.size(); ++j) {
            char c = a[j];
            auto pos = optstring.find(c);
            if (c == ':' || pos == std::string::npos)
                throw UsageError(std::string("invalid option '") + c + "'");
            bool takes = pos + 1 < optstring.size() && optstring[pos + 1] == ':';
            if (!takes) {
                o.opts.emplace_back(c, "");
                continue;
            }
            if (j + 1 < a.size()) {
                o.opts.emplace_back(c, a.substr(j + 1));
            } else if (i + 1 < args.size()) {
                o.opts.emplace_back(c, args[++i]);
            } else {
                throw UsageError(std::string("missing argument for '") + c + "' option");
            }
            break;
        }
    }
    return o;
}

}  // namespace zfssim
