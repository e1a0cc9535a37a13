// Property values and sources as `zfs get` / `zfs list` show them: native properties with
// defaults and inheritance, user properties (names with ':'), received values.
#pragma once

#include "tools/zfs-sim/state.hpp"

#include <optional>
#include <string>
#include <vector>

namespace zfssim {

struct PropValue {
    std::string value;
    std::string source;  // "-", "local", "default", "received", "inherited from X"
};

// A native property zfs-sim knows, or a user property (contains ':').
bool valid_property_name(const std::string& name);
bool is_user_property(const std::string& name);
// Settable with `zfs set` / `-o` (on filesystems and volumes; user properties anywhere).
bool settable(const std::string& name);
// Properties inheritable from the parent.
bool inheritable(const std::string& name);
// Canonical name ("avail" -> "available", "refer" -> "referenced").
std::string canonical_property(const std::string& name);
// Checks a value for a settable native property; returns the error reason or "".
std::string check_value(const std::string& name, const std::string& value);

// The property's value; nullopt if it does not apply to this kind of dataset.
std::optional<PropValue> property(State& s, const Dataset& d, const std::string& name, bool parsable);
// Names `zfs get all` prints for this dataset, in order.
std::vector<std::string> all_properties(const Dataset& d);

std::string nicenum(std::uint64_t n);
std::string format_date(std::uint64_t unix_seconds);

}  // namespace zfssim
