// Loads the language-neutral test vectors in tests/vectors (taken from real ZFS and zrepl).
#pragma once

#include <boost/json.hpp>

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace zferry::test {

inline std::string vectors_dir() { return ZFERRY_VECTORS_DIR; }

inline std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot open " + path);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// The "cases" array of a vector family file.
inline boost::json::array load_cases(const std::string& file) {
    auto v = boost::json::parse(read_file(vectors_dir() + "/" + file));
    return v.at("cases").as_array();
}

inline std::string str(const boost::json::value& v) { return std::string(v.as_string()); }

}  // namespace zferry::test
