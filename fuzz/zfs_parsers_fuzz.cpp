// All `zfs` output parsers and stderr classifiers. The first byte chooses the parser, the
// rest is the text; none may crash, and accepted results must be internally consistent.
#include "zfs/capabilities.hpp"
#include "zfs/command_errors.hpp"
#include "zfs/dry_send_info.hpp"
#include "zfs/filesystem_listing.hpp"
#include "zfs/filesystem_version.hpp"
#include "zfs/holds.hpp"
#include "zfs/properties.hpp"

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

using namespace zferry::zfs;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::uint8_t which = data[0];
    const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
    switch (which % 10) {
        case 0: {
            auto r = parse_versions_listing(text);
            if (r)
                for (const auto& v : *r)
                    if (v.name.empty() || v.filesystem.empty() ||
                        (v.type == VersionType::bookmark) == v.userrefs.has_value())
                        std::abort();
            break;
        }
        case 1: {
            auto r = parse_versions_get_listing(text);
            if (r)
                for (std::size_t i = 1; i < r->size(); ++i)
                    if ((*r)[i - 1].createtxg > (*r)[i].createtxg) std::abort();
            break;
        }
        case 2: {
            auto r = parse_filesystem_listing(text, which / 10 % 4);
            if (r)
                for (const auto& e : *r)
                    if (e.values.size() != which / 10 % 4u) std::abort();
            break;
        }
        case 3: {
            const std::string req[] = {"guid", "zrepl:placeholder"};
            auto r = parse_properties(
                text, which & 0x80 ? std::span<const std::string>(req) : std::span<const std::string>());
            if (r)
                for (const auto& ds : *r) (void)is_placeholder(ds);
            break;
        }
        case 4: (void)parse_holds(text); break;
        case 5: {
            auto r = parse_dry_send_info(text);
            if (r && r->to.find('@') == std::string::npos) std::abort();
            break;
        }
        case 6: {
            (void)is_hold_tag_exists(text);
            (void)release_unexpected_lines(text);
            (void)is_bookmark_exists(text);
            (void)is_recv_abort_nothing_to_abort(text);
            (void)invalid_option(text);
            (void)unrecognized_command(text);
            (void)invalid_property(text);
            (void)dataset_not_found_path(text);
            break;
        }
        case 7: {
            auto f = classify_destroy_failure("pool/fs@a,b", text);
            if ((f.kind == DestroyFailure::Kind::undestroyable) == f.snapshots.empty()) std::abort();
            break;
        }
        case 8: {
            auto f = classify_recv_failure(text);
            if ((f.kind == RecvFailure::Kind::resumable) == f.resume_token.empty()) std::abort();
            break;
        }
        case 9: {
            ProbeResult p{which & 0x80 ? 2 : 0, std::string(text)};
            (void)derive_capabilities({p, p, p, p, p, p});
            (void)usage_flags(text, "send");
            break;
        }
    }
    return 0;
}
