#include "tools/zferry/resume_token_format.hpp"

#include <boost/json.hpp>

#include <cstdio>

namespace zferry::cli {
namespace {

std::string hex(std::uint64_t v) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
    return buf;
}

}  // namespace

std::string resume_token_human(const zfs::ResumeToken& t) {
    std::string out = "resume token contents:\nnvlist version: 0\n";
    auto line = [&](const char* k, const std::string& v) { out += std::string("\t") + k + " = " + v + "\n"; };
    if (t.fromguid) line("fromguid", hex(*t.fromguid));
    if (t.object) line("object", hex(*t.object));
    if (t.offset) line("offset", hex(*t.offset));
    if (t.bytes) line("bytes", hex(*t.bytes));
    line("toguid", hex(t.toguid));
    line("toname", t.toname);
    for (auto [name, set] : {std::pair{"embedok", t.embedok},
                             {"compressok", t.compressok},
                             {"largeblockok", t.largeblockok},
                             {"rawok", t.rawok},
                             {"savedok", t.savedok}})
        if (set) out += std::string("\t") + name + "\n";
    return out;
}

std::string resume_token_json(const zfs::ResumeToken& t) {
    boost::json::object o;
    if (t.fromguid) o["fromguid"] = hex(*t.fromguid);
    o["toguid"] = hex(t.toguid);
    o["toname"] = t.toname;
    if (t.object) o["object"] = *t.object;
    if (t.offset) o["offset"] = *t.offset;
    if (t.bytes) o["bytes"] = *t.bytes;
    o["rawok"] = t.rawok;
    o["compressok"] = t.compressok;
    o["embedok"] = t.embedok;
    o["largeblockok"] = t.largeblockok;
    o["savedok"] = t.savedok;
    return boost::json::serialize(o) + "\n";
}

}  // namespace zferry::cli
