// The filesystem filter's spec parser: input is "<spec>\n<dataset>". No crash; a parsed
// filter re-parses from its own entries to the same filter; an exact entry decides for its
// own dataset.
#include "replication/logic/filesystem_filter.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

using namespace zferry::replication;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view in(reinterpret_cast<const char*>(data), size);
    const auto nl = in.find('\n');
    const auto spec = in.substr(0, nl);
    const auto dataset = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);

    auto f = FilesystemFilter::parse_spec(spec);
    if (!f) return 0;
    (void)f->passes(dataset);

    std::string again;
    for (const auto& e : f->entries()) {
        if (!again.empty()) again += ",";
        again += e.path.to_string() + (e.subtree ? "<" : "") + (e.accept ? ":ok" : ":!");
        if (!e.subtree && f->passes(e.path) != e.accept) std::abort();
    }
    auto g = FilesystemFilter::parse_spec(again);
    if (!g || !(*g == *f)) std::abort();
    return 0;
}
