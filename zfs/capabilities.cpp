#include "zfs/capabilities.hpp"

#include "zfs/command_errors.hpp"
#include "zfs/tsv.hpp"

#include <cctype>

namespace zferry::zfs {
namespace {

bool contains(std::string_view s, std::string_view what) { return s.find(what) != std::string_view::npos; }
bool has_flag(std::string_view flags, char f) { return flags.find(f) != std::string_view::npos; }

// A command the binary does not know at all, or a crash instead of a usage text.
bool command_missing(const ProbeResult& r, std::string_view verb) {
    auto u = unrecognized_command(r.output);
    return (u && *u == verb) || contains(r.output, "internal error") || r.exit_code == 127 ||
           r.exit_code > 128 || r.exit_code < 0;
}

}  // namespace

std::vector<std::string> probe_argv(Probe p) {
    switch (p) {
        case Probe::send: return {"send"};
        case Probe::receive: return {"receive"};
        case Probe::destroy: return {"destroy"};
        case Probe::list: return {"list", "-H", "-p", "-o", "name", "-d", "0"};
        case Probe::bookmark: return {"bookmark"};
        case Probe::holds: return {"holds"};
    }
    return {};
}

std::string usage_flags(std::string_view usage, std::string_view verb) {
    std::string flags;
    bool in_verb = false;
    tsv::for_each_line(usage, [&](std::size_t, std::string_view line) {
        std::size_t i = 0;
        while (i < line.size() && (line[i] == '\t' || line[i] == ' ')) ++i;
        const bool indented_continuation = i > 1 && line.substr(i, 1) == "[" && in_verb;
        auto rest = line.substr(i);
        if (rest.substr(0, verb.size()) == verb && (rest.size() == verb.size() || rest[verb.size()] == ' '))
            in_verb = true;
        else if (!indented_continuation)
            in_verb = false;
        if (!in_verb) return true;
        for (std::size_t p = rest.find("[-"); p != std::string_view::npos; p = rest.find("[-", p + 2)) {
            for (std::size_t k = p + 2; k < rest.size() && std::isalpha(static_cast<unsigned char>(rest[k]));
                 ++k)
                if (!has_flag(flags, rest[k])) flags.push_back(rest[k]);
        }
        return true;
    });
    return flags;
}

void apply_send_probe(Capabilities& c, const ProbeResult& r) {
    if (command_missing(r, "send")) return;
    const auto f = usage_flags(r.output, "send");
    c.resumable_send = contains(r.output, "receive_resume_token");
    c.raw_send = has_flag(f, 'w');
    c.send_size_estimate = has_flag(f, 'n') && has_flag(f, 'P');
    c.send_large_blocks = has_flag(f, 'L');
    c.send_compressed = has_flag(f, 'c');
    c.send_embedded_data = has_flag(f, 'e');
    c.send_backup_properties = has_flag(f, 'b');
    c.send_saved = has_flag(f, 'S') || contains(r.output, "--saved");
}

void apply_receive_probe(Capabilities& c, const ProbeResult& r) {
    if (command_missing(r, "receive")) return;
    const auto f = usage_flags(r.output, "receive");
    c.resumable_recv = contains(r.output, "-A <filesystem|volume>") && has_flag(f, 's');
    c.recv_property_options =
        contains(r.output, "[-o <property>=<value>]") || contains(r.output, "[-o property=value]");
}

void apply_destroy_probe(Capabilities& c, const ProbeResult& r) {
    if (command_missing(r, "destroy")) return;
    c.destroy_comma_list = contains(r.output, "<filesystem|volume>@<snap>[%<snap>][,...]");
}

void apply_list_probe(Capabilities& c, const ProbeResult& r) {
    if (command_missing(r, "list")) return;
    auto bad = invalid_option(r.output);
    if (bad && *bad == "p") return;
    c.list_parsable = r.exit_code == 0 || has_flag(usage_flags(r.output, "list"), 'p');
}

void apply_bookmark_probe(Capabilities& c, const ProbeResult& r) {
    if (command_missing(r, "bookmark")) return;
    c.bookmarks = contains(r.output, "bookmark <snapshot");
}

void apply_holds_probe(Capabilities& c, const ProbeResult& r) {
    // zfs-fuse lists `holds` in its usage but implements it with a missing Python helper.
    if (command_missing(r, "holds") || contains(r.output, "pyzfs")) return;
    c.holds_listing = contains(r.output, "holds [");
}

std::optional<std::string> probe_failure(const ProbeResult& r) {
    if (r.exit_code == 127) return "the zfs binary was not found or is not executable";
    if (contains(r.output, "failed to initialize ZFS library") ||
        contains(r.output, "zfs-fuse daemon is running")) {
        std::string first(r.output.substr(0, r.output.find('\n')));
        return "zfs cannot reach ZFS (is the kernel module loaded / the zfs-fuse daemon running?): " + first;
    }
    return std::nullopt;
}

Capabilities derive_capabilities(const CapabilityProbes& p) {
    Capabilities c;
    apply_send_probe(c, p.send);
    apply_receive_probe(c, p.receive);
    apply_destroy_probe(c, p.destroy);
    apply_list_probe(c, p.list);
    apply_bookmark_probe(c, p.bookmark);
    apply_holds_probe(c, p.holds);
    return c;
}

std::vector<std::string> describe_missing(const Capabilities& c) {
    std::vector<std::string> out;
    auto add = [&](bool have, const char* what) {
        if (!have) out.emplace_back(what);
    };
    add(c.resumable_send,
        "no resumable send (zfs send -t): interrupted transfers restart from the beginning");
    add(c.resumable_recv, "no resumable receive (zfs recv -s / -A)");
    add(c.bookmarks, "no bookmarks: replication cursors are kept as holds on snapshots");
    add(c.raw_send, "no raw send (zfs send -w): encrypted send policies cannot be honoured");
    add(c.list_parsable, "no zfs list -p: versions are read with zfs get -Hp");
    add(c.send_size_estimate, "no send size estimates (zfs send -nvP): progress shows no total");
    add(c.holds_listing, "no zfs holds: hold tags cannot be listed, only counted");
    add(c.destroy_comma_list, "no comma-list destroy: snapshots are destroyed one at a time");
    add(c.recv_property_options, "no zfs recv -o/-x: properties are set after the receive");
    return out;
}

}  // namespace zferry::zfs
