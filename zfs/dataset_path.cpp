#include "zfs/dataset_path.hpp"

#include <algorithm>
#include <string>

namespace zferry::zfs {
namespace {

bool is_component_char(char c) noexcept {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' ||
           c == '_' || c == '.' || c == ':' || c == ' ';
}

bool is_property_char(char c) noexcept { return c != ' ' && is_component_char(c); }

// Control characters and non-ASCII bytes are shown escaped so that an error about a TAB or
// a stray UTF-8 byte is still readable in a log line.
std::string describe_char(char c) {
    auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f) return std::string("'") + c + "'";
    static const char* hex = "0123456789abcdef";
    return std::string("byte 0x") + hex[u >> 4] + hex[u & 0xf];
}

std::string quoted(std::string_view s) { return "'" + std::string(s) + "'"; }

const char* type_name(EntityType t) {
    switch (t) {
        case EntityType::filesystem: return "filesystem";
        case EntityType::volume: return "volume";
        case EntityType::snapshot: return "snapshot";
        case EntityType::bookmark: return "bookmark";
    }
    return "entity";
}

}  // namespace

Result<void> component_namecheck(std::string_view component) {
    if (component.empty()) return Error(Errc::invalid_argument, "dataset name component must not be empty");
    if (component.size() > kMaxDatasetNameLen)
        return Error(Errc::invalid_argument, "dataset name component " + quoted(component.substr(0, 32)) +
                                                 "... is longer than 255 bytes");
    for (char c : component) {
        if (!is_component_char(c))
            return Error(Errc::invalid_argument, "dataset name component " + quoted(component) +
                                                     " contains invalid character " + describe_char(c) +
                                                     " (allowed: 0-9 a-z A-Z - _ . : and space)");
    }
    if (component == "." || component == "..")
        return Error(Errc::invalid_argument,
                     "dataset name component " + quoted(component) + " must not be '.' or '..'");
    return {};
}

Result<void> entity_namecheck(std::string_view name, EntityType type) {
    const std::string what = std::string(type_name(type)) + " name " + quoted(name);
    if (name.empty()) return Error(Errc::invalid_argument, std::string(type_name(type)) + " name is empty");
    if (name.size() > kMaxDatasetNameLen)
        return Error(Errc::invalid_argument, std::string(type_name(type)) + " name of " +
                                                 std::to_string(name.size()) +
                                                 " bytes exceeds the maximum of 255 bytes");
    if (name.find('%') != std::string_view::npos)
        return Error(Errc::invalid_argument, what + " contains the forbidden character '%'");

    const char delim = type == EntityType::snapshot ? '@' : type == EntityType::bookmark ? '#' : '\0';
    for (char other : {'@', '#'}) {
        if (other == delim) continue;
        if (name.find(other) != std::string_view::npos)
            return Error(Errc::invalid_argument, what + " must not contain '" + std::string(1, other) + "'");
    }
    std::string_view dataset = name, version;
    if (delim != '\0') {
        auto first = name.find(delim);
        if (first == std::string_view::npos)
            return Error(Errc::invalid_argument,
                         what + " lacks the '" + std::string(1, delim) + "' delimiter");
        if (name.find(delim, first + 1) != std::string_view::npos)
            return Error(Errc::invalid_argument,
                         what + " contains '" + std::string(1, delim) + "' more than once");
        dataset = name.substr(0, first);
        version = name.substr(first + 1);
        if (version.find('/') != std::string_view::npos)
            return Error(Errc::invalid_argument,
                         what + ": '" + std::string(1, delim) + "' may only appear in the last component");
        if (auto r = component_namecheck(version); !r)
            return Error(Errc::invalid_argument, what + ": " + r.error().context());
    }
    // Every dataset operand on a zfs command line starts with the pool component, so one
    // starting with '-' would be read as an option. OpenZFS refuses such pools anyway
    // (pool_namecheck: a pool name begins with a letter); later components may start with
    // '-', as OpenZFS allows.
    if (dataset.starts_with('-'))
        return Error(Errc::invalid_argument,
                     what + ": the pool name must not start with '-' (it would be read as an option)");
    std::size_t pos = 0;
    while (true) {
        auto slash = dataset.find('/', pos);
        auto comp =
            dataset.substr(pos, slash == std::string_view::npos ? std::string_view::npos : slash - pos);
        if (auto r = component_namecheck(comp); !r)
            return Error(Errc::invalid_argument, what + ": " + r.error().context());
        if (slash == std::string_view::npos) break;
        pos = slash + 1;
    }
    return {};
}

Result<void> property_namecheck(std::string_view name) {
    if (name.empty()) return Error(Errc::invalid_argument, "property name is empty");
    if (name.size() > 256)
        return Error(Errc::invalid_argument,
                     "property name " + quoted(name.substr(0, 32)) + "... is longer than 256 bytes");
    if (name.front() == '-')
        return Error(Errc::invalid_argument, "property name " + quoted(name) + " must not start with '-'");
    for (char c : name)
        if (!is_property_char(c))
            return Error(Errc::invalid_argument, "property name " + quoted(name) +
                                                     " contains invalid character " + describe_char(c) +
                                                     " (allowed: 0-9 a-z A-Z - _ . :)");
    return {};
}

Result<DatasetPath> DatasetPath::parse(std::string_view s) {
    DatasetPath p;
    if (s.empty()) return p;
    if (auto bad = s.find_first_of("@#|\t<>*"); bad != std::string_view::npos)
        return Error(Errc::invalid_argument,
                     "dataset path " + quoted(s) + " contains forbidden character " + describe_char(s[bad]));
    if (s.back() == '/')
        return Error(Errc::invalid_argument, "dataset path " + quoted(s) + " must not end with '/'");
    std::size_t pos = 0;
    while (true) {
        auto slash = s.find('/', pos);
        auto comp = s.substr(pos, slash == std::string_view::npos ? std::string_view::npos : slash - pos);
        if (comp.empty())
            return Error(Errc::invalid_argument, "dataset path " + quoted(s) + " has an empty component");
        p.comps_.emplace_back(comp);
        if (slash == std::string_view::npos) break;
        pos = slash + 1;
    }
    return p;
}

std::string DatasetPath::to_string() const {
    std::string out;
    for (std::size_t i = 0; i < comps_.size(); ++i) {
        if (i) out += '/';
        out += comps_[i];
    }
    return out;
}

bool DatasetPath::has_prefix(const DatasetPath& prefix) const noexcept {
    if (prefix.comps_.size() > comps_.size()) return false;
    return std::equal(prefix.comps_.begin(), prefix.comps_.end(), comps_.begin());
}

DatasetPath DatasetPath::trim_prefix(const DatasetPath& prefix) const {
    if (!has_prefix(prefix)) return *this;
    DatasetPath out;
    out.comps_.assign(comps_.begin() + static_cast<std::ptrdiff_t>(prefix.comps_.size()), comps_.end());
    return out;
}

DatasetPath DatasetPath::extend(const DatasetPath& child) const {
    DatasetPath out = *this;
    out.comps_.insert(out.comps_.end(), child.comps_.begin(), child.comps_.end());
    return out;
}

DatasetPath DatasetPath::parent() const {
    DatasetPath out = *this;
    if (!out.comps_.empty()) out.comps_.pop_back();
    return out;
}

}  // namespace zferry::zfs
