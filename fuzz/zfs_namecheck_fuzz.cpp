// Name checks and dataset paths: no crash, and the checks agree with each other (a valid
// filesystem name parses as a dataset path that prints as itself).
#include "zfs/dataset_path.hpp"

#include <cstdint>
#include <cstdlib>
#include <string_view>

using namespace zferry::zfs;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view s(reinterpret_cast<const char*>(data), size);
    const bool fs_ok = entity_namecheck(s, EntityType::filesystem).has_value();
    (void)entity_namecheck(s, EntityType::volume);
    const bool snap_ok = entity_namecheck(s, EntityType::snapshot).has_value();
    const bool bm_ok = entity_namecheck(s, EntityType::bookmark).has_value();
    (void)component_namecheck(s);
    (void)property_namecheck(s);
    // A name is at most one kind of entity.
    if (int(fs_ok) + int(snap_ok) + int(bm_ok) > 1) std::abort();
    if (size > kMaxDatasetNameLen && (fs_ok || snap_ok || bm_ok)) std::abort();
    auto p = DatasetPath::parse(s);
    if (fs_ok) {
        if (!p || p->to_string() != s) std::abort();
        for (const auto& c : p->components())
            if (!component_namecheck(c)) std::abort();
    }
    if (p) {
        if (!p->has_prefix(p->parent())) std::abort();
        if (p->parent().extend(p->trim_prefix(p->parent())) != *p) std::abort();
    }
    return 0;
}
