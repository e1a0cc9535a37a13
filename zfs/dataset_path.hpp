// Dataset paths and the OpenZFS name checks (libzfs zfs_validate_name / entity_namecheck,
// as zrepl's EntityNamecheck and ComponentNamecheck implement them).
#pragma once

#include "core/error.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace zferry::zfs {

enum class EntityType { filesystem, volume, snapshot, bookmark };

constexpr std::size_t kMaxDatasetNameLen = 255;

// One dataset path component (also a valid client identity / job id): ASCII 1..255 chars of
// [0-9a-zA-Z-_.: ], not "." or "..". The Error names the input and the offending character.
Result<void> component_namecheck(std::string_view component);

// A full entity name of the given type: "pool/a/b" (filesystem, volume), "pool/a@snap"
// (snapshot), "pool/a#bm" (bookmark). '@' only for snapshots and '#' only for bookmarks,
// both required there, once, in the last component; '%' forbidden; max 255 bytes; the pool
// (first) component must not start with '-', so no name can pass for a zfs option.
Result<void> entity_namecheck(std::string_view name, EntityType type);

// ZFS property names (user properties included): 1..256 chars of [0-9a-zA-Z-_.:], not
// starting with '-'.
Result<void> property_namecheck(std::string_view name);

// A filesystem path as components. The empty path is valid and has no components.
class DatasetPath {
public:
    DatasetPath() = default;
    // Rejects '@#|\t<>*', a trailing '/', and empty components.
    static Result<DatasetPath> parse(std::string_view s);

    const std::vector<std::string>& components() const noexcept { return comps_; }
    bool empty() const noexcept { return comps_.empty(); }
    std::size_t length() const noexcept { return comps_.size(); }
    std::string to_string() const;
    std::string pool() const { return comps_.empty() ? std::string() : comps_.front(); }

    // Component-wise prefix ("a/b" is a prefix of "a/b/c", not of "a/bc").
    bool has_prefix(const DatasetPath& prefix) const noexcept;
    // This path with `prefix` removed; unchanged if it is not a prefix.
    DatasetPath trim_prefix(const DatasetPath& prefix) const;
    DatasetPath extend(const DatasetPath& child) const;
    DatasetPath parent() const;

    friend bool operator==(const DatasetPath&, const DatasetPath&) = default;
    friend auto operator<=>(const DatasetPath&, const DatasetPath&) = default;

private:
    std::vector<std::string> comps_;
};

}  // namespace zferry::zfs
