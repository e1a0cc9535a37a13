// getopt-style option parsing as OpenZFS does it with GNU getopt: options may follow
// operands, "--" ends options, unknown ones are "invalid option 'X'", a missing argument is
// "missing argument for 'X' option" (both usage errors).
#pragma once

#include <map>
#include <string>
#include <vector>

namespace zfssim {

struct Options {
    std::vector<std::pair<char, std::string>> opts;  // in order
    std::vector<std::string> operands;

    bool has(char c) const;
    int count(char c) const;
    std::vector<std::string> all(char c) const;
    std::string last(char c) const;
};

// Where operands may appear. With ZFS_SIM_REQUIRE_END_OF_OPTIONS set (tests of zferry's
// command lines), `strict` operands must follow a "--": a name is then never read as an
// option. `anywhere` is for `zfs set`, which parses no options in zfs-fuse and OpenZFS < 2.2
// and refuses a "--".
enum class Operands { strict, anywhere };

// optstring as for getopt ("rHpo:d:"); long options map "--raw" to a short letter.
Options parse_options(const std::vector<std::string>& args, const std::string& optstring,
                      const std::map<std::string, char>& longopts = {}, Operands operands = Operands::strict);

}  // namespace zfssim
