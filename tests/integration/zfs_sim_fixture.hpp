// The fixture of integration tests that replicate between zfs-sim hosts: each host is a state
// directory below one temporary directory, `sh` runs zfs-sim commands on a host through bash
// ($Z is zfs-sim), `runner` makes a ZfsRunner for a host, and the listing helpers compare what
// two hosts hold. Derived fixtures call SetUp/TearDown of this one first/last.
#pragma once

#include "tests/integration/test_support.hpp"
#include "zfs/listing_ops.hpp"
#include "zfs/zfs_runner.hpp"

#include <gtest/gtest.h>
#include <boost/asio/io_context.hpp>

#include <stdlib.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <initializer_list>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace zferry::test {

class ZfsSimFixture : public ::testing::Test {
protected:
    // `prefix` names the temporary directory (/tmp/<prefix>-XXXXXX).
    explicit ZfsSimFixture(std::string prefix) : prefix_(std::move(prefix)) {}

    void SetUp() override {
        std::string tmpl = "/tmp/" + prefix_ + "-XXXXXX";
        dir_ = ::mkdtemp(tmpl.data());
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    std::unique_ptr<zfs::ZfsRunner> runner(const std::string& host,
                                           std::vector<std::pair<std::string, std::string>> env = {}) {
        zfs::ZfsRunnerOptions o;
        o.binary = ZFS_SIM_BIN;
        o.env = {{"ZFS_SIM_STATE", (dir_ / host).string()}};
        // zfs-sim refuses a name not preceded by "--": zferry never lets zfs read one as an option.
        if (require_end_of_options_) o.env.emplace_back("ZFS_SIM_REQUIRE_END_OF_OPTIONS", "1");
        for (auto& e : env) o.env.push_back(std::move(e));
        return std::make_unique<zfs::ZfsRunner>(ctx_.get_executor(), std::move(o));
    }
    void sh(const std::string& host, const std::string& cmds) {
        const std::string cmd = "Z=" ZFS_SIM_BIN " ZFS_SIM_STATE=" + (dir_ / host).string() +
                                " bash -c '$Z " + cmds + "' >/dev/null";
        ASSERT_EQ(std::system(cmd.c_str()), 0) << cmds;
    }
    // Snapshots of `fs` on "src", each after writing `bytes` random bytes (0: snapshot_bytes_).
    void snapshots(const std::string& fs, std::initializer_list<const char*> names, std::size_t bytes = 0) {
        if (bytes == 0) bytes = snapshot_bytes_;
        for (const char* n : names)
            sh("src", "sim-write " + fs + " /dev/stdin < <(head -c " + std::to_string(bytes) +
                          " /dev/urandom) && $Z snapshot " + fs + "@" + n);
    }
    std::vector<zfs::FilesystemVersion> versions(zfs::ZfsRunner& r, const std::string& fs) {
        auto vs = test::run(ctx_, zfs::list_versions(r, fs));
        if (!vs) return {};
        std::erase_if(*vs, [](const auto& v) { return v.type != zfs::VersionType::snapshot; });
        return *vs;
    }
    std::string names(zfs::ZfsRunner& r, const std::string& fs) {
        std::string out;
        for (const auto& v : versions(r, fs)) out += (out.empty() ? "" : " ") + v.name;
        return out;
    }
    // The receiver has snapshots of `fs` under `root`, each with the sender's GUID.
    void expect_same_guids(const std::string& fs, const std::string& root) {
        auto src = versions(*src_, fs);
        auto dst = versions(*dst_, root + "/" + fs);
        ASSERT_FALSE(dst.empty()) << root << "/" << fs;
        for (const auto& v : dst) {
            auto it = std::find_if(src.begin(), src.end(), [&](const auto& s) { return s.name == v.name; });
            ASSERT_NE(it, src.end()) << v.name;
            EXPECT_EQ(it->guid, v.guid) << v.name;
        }
    }

    std::string prefix_;
    std::size_t snapshot_bytes_ = 2000;
    bool require_end_of_options_ = true;
    boost::asio::io_context ctx_;
    std::filesystem::path dir_;
    std::unique_ptr<zfs::ZfsRunner> src_, dst_;
};

}  // namespace zferry::test
