// Helpers shared by the subcommands: lookups with OpenZFS's error texts, name checks,
// comma lists, output.
#pragma once

#include "tools/zfs-sim/sim_error.hpp"
#include "tools/zfs-sim/state.hpp"

#include <string>
#include <vector>

namespace zfssim {

struct Context {
    std::string cmd;                // as typed ("recv", "receive", ...)
    std::vector<std::string> args;  // after the subcommand
};

// "cannot open 'X': dataset does not exist" unless X exists (and is of an allowed kind).
Dataset& open_dataset(State& s, const std::string& name);
Dataset& open_filesystem(State& s, const std::string& name);

// Empty when `name` is a valid name of that kind, else OpenZFS's reason
// ("invalid character '+' in name", "missing '@' delimiter in snapshot name", ...).
std::string name_problem(const std::string& name, Kind kind);

std::vector<std::string> split_commas(const std::string& s);
std::string parent_name(const std::string& fs);  // "" for a pool

// Writes everything to fd 1/2 (retrying short writes); false on EPIPE/error.
bool write_all(int fd, const void* data, std::size_t n);
inline bool write_all(int fd, const std::string& s) { return write_all(fd, s.data(), s.size()); }

// New snapshot/bookmark/filesystem skeletons with fresh identity.
Dataset make_dataset(State& s, const std::string& name, Kind kind, std::uint64_t txg);

}  // namespace zfssim
