// `zfs get -Hp -o name,property,value,source` output, and what zferry reads from it:
// property sources and the placeholder flag.
#pragma once

#include "core/error.hpp"

#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace zferry::zfs {

// Bit mask so callers can filter ("only local counts" for placeholders).
enum class PropertySource : unsigned {
    local = 1,
    default_value = 2,
    inherited = 4,
    none = 8,  // '-': no source (read-only properties, unset user properties)
    temporary = 16,
    received = 32,
};
constexpr unsigned kAnySource = 63;
constexpr unsigned operator|(PropertySource a, PropertySource b) {
    return static_cast<unsigned>(a) | static_cast<unsigned>(b);
}

std::string_view to_string(PropertySource s) noexcept;

struct PropertyValue {
    std::string value;
    PropertySource source = PropertySource::none;
    std::string inherited_from;  // for "inherited from X"
    friend bool operator==(const PropertyValue&, const PropertyValue&) = default;
};

struct DatasetProperties {
    std::string name;
    std::map<std::string, PropertyValue, std::less<>> props;
    // The value if the property is present and its source is in `mask`.
    const PropertyValue* find(std::string_view prop, unsigned mask = kAnySource) const;
};

// argv of the `zfs get` whose output parse_properties reads.
std::vector<std::string> get_properties_argv(std::span<const std::string> props, std::string_view path,
                                             bool recursive = false, int depth = -1);

// Parses the 4-field lines; datasets in first-seen order. Every dataset must carry every
// property in `requested` exactly once (a duplicate or a missing property is an error, as is
// a property that was not requested). Empty `requested` accepts whatever appears.
Result<std::vector<DatasetProperties>> parse_properties(std::string_view text,
                                                        std::span<const std::string> requested);

// Parses a source field: "local", "default", "inherited from pool/x", "-", "temporary",
// "received".
Result<PropertyValue> parse_property_source(std::string_view source_field, std::string value);

// `zfs get receive_resume_token` value: '-' (or empty) means there is no partial receive.
std::optional<std::string> receive_resume_token_value(std::string_view value);

constexpr std::string_view kPlaceholderProperty = "zrepl:placeholder";

// zrepl placeholders: `zrepl:placeholder` with source local and value "on", or the legacy
// zrepl 0.0.x value (hex SHA-512/256 of the dataset path). Inherited values never count:
// the children of a placeholder are not placeholders.
bool is_placeholder_value(std::string_view value, std::string_view dataset);
bool is_placeholder(const DatasetProperties& props);
std::string legacy_placeholder_value(std::string_view dataset);

}  // namespace zferry::zfs
