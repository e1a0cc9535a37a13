#include "zfs/properties.hpp"

#include "zfs/sha512_256.hpp"
#include "zfs/tsv.hpp"

#include <algorithm>
#include <unordered_map>

namespace zferry::zfs {

std::string_view to_string(PropertySource s) noexcept {
    switch (s) {
        case PropertySource::local: return "local";
        case PropertySource::default_value: return "default";
        case PropertySource::inherited: return "inherited";
        case PropertySource::none: return "-";
        case PropertySource::temporary: return "temporary";
        case PropertySource::received: return "received";
    }
    return "?";
}

const PropertyValue* DatasetProperties::find(std::string_view prop, unsigned mask) const {
    auto it = props.find(prop);
    if (it == props.end() || !(static_cast<unsigned>(it->second.source) & mask)) return nullptr;
    return &it->second;
}

std::vector<std::string> get_properties_argv(std::span<const std::string> props, std::string_view path,
                                             bool recursive, int depth) {
    std::vector<std::string> argv = {"get", "-Hp", "-o", "name,property,value,source"};
    if (recursive) {
        argv.push_back("-r");
        if (depth >= 0) {
            argv.push_back("-d");
            argv.push_back(std::to_string(depth));
        }
    }
    std::string list;
    for (const auto& p : props) list += (list.empty() ? "" : ",") + p;
    argv.push_back(list);
    argv.emplace_back(path);
    return argv;
}

Result<PropertyValue> parse_property_source(std::string_view f, std::string value) {
    PropertyValue v;
    v.value = std::move(value);
    auto first = f.substr(0, f.find(' '));
    if (first == "local")
        v.source = PropertySource::local;
    else if (first == "default")
        v.source = PropertySource::default_value;
    else if (first == "-")
        v.source = PropertySource::none;
    else if (first == "temporary")
        v.source = PropertySource::temporary;
    else if (first == "received")
        v.source = PropertySource::received;
    else if (first == "inherited") {
        v.source = PropertySource::inherited;
        constexpr std::string_view kFrom = "inherited from ";
        if (f.substr(0, kFrom.size()) == kFrom) v.inherited_from.assign(f.substr(kFrom.size()));
    } else {
        return Error(Errc::parse_error, "unknown property source '" + std::string(f) + "'");
    }
    return v;
}

Result<std::vector<DatasetProperties>> parse_properties(std::string_view text,
                                                        std::span<const std::string> requested) {
    std::vector<DatasetProperties> out;
    std::unordered_map<std::string, std::size_t> index;
    Error err;
    tsv::for_each_line(text, [&](std::size_t n, std::string_view line) {
        if (line.empty()) return true;
        auto f = tsv::split_exact<4>(line);
        auto fail = [&](std::string what) {
            err = Error(Errc::parse_error, tsv::line_prefix(n) + what + ": " + tsv::quote_line(line));
            return false;
        };
        if (!f)
            return fail("expected 4 TAB-separated fields (name, property, value, source), got " +
                        std::to_string(tsv::count_fields(line)));
        const auto [name, prop, value, source] = *f;
        if (!requested.empty() && std::find(requested.begin(), requested.end(), prop) == requested.end())
            return fail("property '" + std::string(prop) + "' was not requested");
        auto v = parse_property_source(source, std::string(value));
        if (!v) return fail(v.error().context());
        auto [it, inserted] = index.try_emplace(std::string(name), out.size());
        if (inserted) out.push_back(DatasetProperties{std::string(name), {}});
        auto& ds = out[it->second];
        if (!ds.props.emplace(std::string(prop), std::move(*v)).second)
            return fail("property '" + std::string(prop) + "' appears twice for " + std::string(name));
        return true;
    });
    if (err) return err;
    for (const auto& ds : out)
        for (const auto& r : requested)
            if (!ds.props.contains(r))
                return Error(Errc::parse_error,
                             "zfs get output lacks requested property '" + r + "' of " + ds.name);
    return out;
}

std::optional<std::string> receive_resume_token_value(std::string_view value) {
    if (value.empty() || value == "-") return std::nullopt;
    return std::string(value);
}

std::string legacy_placeholder_value(std::string_view dataset) { return sha512_256_hex(dataset); }

bool is_placeholder_value(std::string_view value, std::string_view dataset) {
    if (value == "on") return true;
    // The legacy value is 64 hex digits; only hash when it could match.
    return value.size() == 64 && value == legacy_placeholder_value(dataset);
}

bool is_placeholder(const DatasetProperties& props) {
    const auto* v = props.find(kPlaceholderProperty, static_cast<unsigned>(PropertySource::local));
    return v != nullptr && is_placeholder_value(v->value, props.name);
}

}  // namespace zferry::zfs
