// Shared helpers for the replication logic tests: vector cases as gtest parameters (one
// test per case, named by its id) and versions written in zrepl's test notation.
#pragma once

#include "tests/vectors.hpp"
#include "zfs/filesystem_version.hpp"

#include <cctype>
#include <charconv>
#include <cstdint>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace zferry::test {

struct VectorCase {
    std::string id;
    boost::json::object json;
};

inline std::ostream& operator<<(std::ostream& os, const VectorCase& c) { return os << c.id; }

// Every case of a family. A missing or empty file throws, so a lost vector file cannot
// silently turn into zero tests.
inline std::vector<VectorCase> vector_cases(const std::string& file) {
    std::vector<VectorCase> out;
    for (const auto& c : load_cases(file)) out.push_back({str(c.at("id")), c.as_object()});
    if (out.empty()) throw std::runtime_error(file + " has no cases");
    return out;
}

// gtest test names allow only [A-Za-z0-9_].
inline std::string case_name(const VectorCase& c) {
    std::string s;
    for (char ch : c.id) s += std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';
    return s;
}

inline std::uint64_t hex_u64(const boost::json::value& v) {
    auto s = str(v);
    if (s.rfind("0x", 0) != 0) throw std::runtime_error("expected 0x-hex, got " + s);
    std::uint64_t out = 0;
    auto r = std::from_chars(s.data() + 2, s.data() + s.size(), out, 16);
    if (r.ec != std::errc{} || r.ptr != s.data() + s.size()) throw std::runtime_error("bad hex " + s);
    return out;
}

inline std::uint64_t u64(const boost::json::value& v) {
    if (v.is_uint64()) return v.as_uint64();
    if (v.is_int64() && v.as_int64() >= 0) return static_cast<std::uint64_t>(v.as_int64());
    throw std::runtime_error("expected an unsigned integer");
}

inline zfs::FilesystemVersion version_from_json(const boost::json::value& v) {
    const auto& o = v.as_object();
    zfs::FilesystemVersion fv;
    const auto type = str(o.at("type"));
    if (type == "snapshot")
        fv.type = zfs::VersionType::snapshot;
    else if (type == "bookmark")
        fv.type = zfs::VersionType::bookmark;
    else
        throw std::runtime_error("unknown version type " + type);
    fv.name = str(o.at("name"));
    fv.guid = u64(o.at("guid"));
    fv.createtxg = u64(o.at("createtxg"));
    return fv;
}

inline std::vector<zfs::FilesystemVersion> versions_from_json(const boost::json::value& v) {
    std::vector<zfs::FilesystemVersion> out;
    for (const auto& e : v.as_array()) out.push_back(version_from_json(e));
    return out;
}

// zrepl's diff_test notation: "@a,1 #b,2" = snapshot a and bookmark b with guid = createtxg
// = the number. Versions in a table then read like the vectors do.
inline std::vector<zfs::FilesystemVersion> versions(const std::string& notation) {
    std::vector<zfs::FilesystemVersion> out;
    std::istringstream in(notation);
    std::string tok;
    while (in >> tok) {
        const auto comma = tok.find(',');
        if (tok.size() < 4 || (tok[0] != '@' && tok[0] != '#') || comma == std::string::npos)
            throw std::runtime_error("bad version notation " + tok);
        zfs::FilesystemVersion v;
        v.type = tok[0] == '@' ? zfs::VersionType::snapshot : zfs::VersionType::bookmark;
        v.name = tok.substr(1, comma - 1);
        v.guid = v.createtxg = std::stoull(tok.substr(comma + 1));
        out.push_back(v);
    }
    return out;
}

inline zfs::FilesystemVersion version(const std::string& notation) {
    auto v = versions(notation);
    if (v.size() != 1) throw std::runtime_error("expected one version in " + notation);
    return v.front();
}

}  // namespace zferry::test

namespace zferry::zfs {
// Printed as in the notation above, so a failed comparison reads "@b,2" instead of bytes.
inline void PrintTo(const FilesystemVersion& v, std::ostream* os) {
    *os << v.relative_name() << "," << v.createtxg;
    if (v.guid != v.createtxg) *os << "(guid " << v.guid << ")";
}
}  // namespace zferry::zfs
