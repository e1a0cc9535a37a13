// Shell commands in integration tests: run through /bin/sh, standard output captured, standard
// error into a file the test names (and read back).
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

namespace zferry::test {

struct CmdResult {
    int rc = -1;
    std::string out, err;
};

inline std::string read_file(const std::filesystem::path& p) {
    std::ifstream in(p);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

// Paths are the test's own temporary directory: no spaces or quotes.
inline CmdResult shell(const std::string& cmd, const std::filesystem::path& err_file) {
    CmdResult r;
    FILE* p = ::popen((cmd + " 2>" + err_file.string()).c_str(), "r");
    if (!p) return r;
    std::array<char, 4096> buf;
    std::size_t n;
    while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
    const int status = ::pclose(p);
    r.rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    r.err = read_file(err_file);
    return r;
}

}  // namespace zferry::test
