// A replication step through the local endpoints on two zfs-sim hosts: the sender's stream is
// copied into the receiver's, as the driver (or the transport) will. Names below root_fs and
// the client identity, placeholders for missing parents, the last-received hold moving with
// each step, the requested GUID checked, receiving into a placeholder.
#include "replication/endpoint/local_receiver.hpp"
#include "replication/endpoint/local_sender.hpp"

#include "replication/endpoint/abstractions.hpp"
#include "tests/integration/test_support.hpp"
#include "zfs/listing_ops.hpp"

#include <gtest/gtest.h>

#include <poll.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace zferry::replication {
namespace {

namespace fs = std::filesystem;

class LocalEndpoints : public ::testing::Test {
protected:
    void SetUp() override {
        char tmpl[] = "/tmp/zferry-endpoints-XXXXXX";
        dir_ = ::mkdtemp(tmpl);
        src_ = runner("src");
        dst_ = runner("dst");
        sh("src",
           "sim-create-pool p && $Z create p/a && $Z create p/a/b && "
           "for s in s1 s2 s3; do printf $s | $Z sim-write p/a/b && $Z snapshot p/a/b@$s || exit 1; done");
        sh("dst", "sim-create-pool q && $Z create q/sink");
        SenderConfig sc{*JobId::make("push"), {}, {}};
        ASSERT_TRUE(sc.filesystems.add("p<", true).has_value());
        sender_ = std::make_unique<LocalSender>(*src_, std::move(sc), Logger());
    }
    void TearDown() override {
        sender_.reset();
        src_.reset();
        dst_.reset();
        fs::remove_all(dir_);
    }
    std::unique_ptr<zfs::ZfsRunner> runner(const std::string& host) {
        zfs::ZfsRunnerOptions o;
        o.binary = ZFS_SIM_BIN;
        // zfs-sim refuses a name not preceded by "--": zferry never lets zfs read one as an option.
        o.env = {{"ZFS_SIM_STATE", (dir_ / host).string()}, {"ZFS_SIM_REQUIRE_END_OF_OPTIONS", "1"}};
        return std::make_unique<zfs::ZfsRunner>(ctx_.get_executor(), std::move(o));
    }
    std::string sh(const std::string& host, const std::string& cmds) {
        const std::string out = (dir_ / "out").string();
        const std::string cmd = "Z=" ZFS_SIM_BIN " ZFS_SIM_STATE=" + (dir_ / host).string() +
                                " bash -c '$Z " + cmds + "' >" + out;
        EXPECT_EQ(std::system(cmd.c_str()), 0) << cmds;
        std::ifstream in(out);
        return std::string(std::istreambuf_iterator<char>(in), {});
    }
    template <class T>
    T run(boost::asio::awaitable<T> a) {
        return test::run(ctx_, std::move(a));
    }
    LocalReceiver receiver(PlaceholderEncryptionPolicy enc = PlaceholderEncryptionPolicy::inherit) {
        return LocalReceiver(*dst_, ReceiverConfig{*JobId::make("sink"), "q/sink", "client1", enc, {}},
                             Logger());
    }
    zfs::FilesystemVersion src_version(const std::string& name) {
        auto vs = run(zfs::list_versions(*src_, "p/a/b"));
        for (const auto& v : *vs)
            if (v.name == name) return v;
        ADD_FAILURE() << name;
        return {};
    }
    // Copies the sender's stream into the receiver's pipe, both non-blocking.
    static void copy(int in, int out) {
        char buf[65536];
        for (;;) {
            ssize_t n = ::read(in, buf, sizeof buf);
            if (n == 0) return;
            if (n < 0) {
                ASSERT_EQ(errno, EAGAIN);
                pollfd p{in, POLLIN, 0};
                ::poll(&p, 1, 5000);
                continue;
            }
            for (ssize_t off = 0; off < n;) {
                ssize_t w = ::write(out, buf + off, static_cast<std::size_t>(n - off));
                if (w > 0) {
                    off += w;
                } else {
                    ASSERT_EQ(errno, EAGAIN);
                    pollfd p{out, POLLOUT, 0};
                    ::poll(&p, 1, 5000);
                }
            }
        }
    }
    // One step, as the driver will run it; returns the receiver's outcome.
    Result<void> step(LocalReceiver& r, std::optional<std::string> from, const std::string& to,
                      std::optional<std::uint64_t> claim_guid = std::nullopt) {
        StepRequest sreq;
        sreq.filesystem = "p/a/b";
        if (from) sreq.from = src_version(*from);
        sreq.to = src_version(to);
        auto sent = run(sender_->send(sreq));
        if (!sent) return sent.error();
        ReceiveRequest rreq{"p/a/b", sreq.to, true, sreq.protection, sreq.from.has_value()};
        if (claim_guid) rreq.to.guid = *claim_guid;
        auto session = run(r.receive(rreq));
        if (!session) {
            run(sent->stream.abort());
            return session.error();
        }
        copy(sent->stream.fd(), session->stream.fd());
        auto received = run(r.finish_receive(*session));
        auto finished = run(sent->stream.finish());
        if (!received) return received;
        if (!finished) return finished;
        return run(sender_->send_completed(sreq));
    }
    std::string holds(const std::string& snap) { return sh("dst", "holds -H " + snap); }

    boost::asio::io_context ctx_;
    fs::path dir_;
    std::unique_ptr<zfs::ZfsRunner> src_, dst_;
    std::unique_ptr<LocalSender> sender_;
};

TEST_F(LocalEndpoints, StepsLandBelowTheClientRootWithPlaceholdersAndTheLastReceivedHold) {
    auto r = receiver();
    ASSERT_TRUE(step(r, std::nullopt, "s1").has_value());
    EXPECT_EQ(sh("dst", "get -Hp -o value zrepl:placeholder q/sink/client1/p/a"), "on\n");
    EXPECT_EQ(sh("dst", "get -Hp -o value guid q/sink/client1/p/a/b@s1"),
              std::to_string(src_version("s1").guid) + "\n");
    EXPECT_NE(holds("q/sink/client1/p/a/b@s1").find("zrepl_last_received_J_sink"), std::string::npos);

    ASSERT_TRUE(step(r, "s1", "s2").has_value());
    EXPECT_EQ(holds("q/sink/client1/p/a/b@s1"), "") << "the last-received hold moved on";
    EXPECT_NE(holds("q/sink/client1/p/a/b@s2").find("zrepl_last_received_J_sink"), std::string::npos);

    // The receiver speaks the sender's names and hides its prefix.
    auto listed = run(r.list_filesystems());
    ASSERT_TRUE(listed.has_value()) << listed.error().message();
    ASSERT_EQ(listed->size(), 3u);
    EXPECT_EQ(listed->at(0), (FilesystemInfo{"p", true, ""}));
    EXPECT_EQ(listed->at(2), (FilesystemInfo{"p/a/b", false, ""}));
    auto versions = run(r.list_versions("p/a/b"));
    ASSERT_TRUE(versions.has_value());
    EXPECT_EQ(versions->at(1).full_name(), "p/a/b@s2");
}

TEST_F(LocalEndpoints, UnspecifiedPlaceholderEncryptionRefusesToInventParents) {
    auto r = receiver(PlaceholderEncryptionPolicy::unspecified);
    auto res = step(r, std::nullopt, "s1");
    ASSERT_FALSE(res.has_value());
    EXPECT_NE(res.error().message().find("recv.placeholder.encryption is unspecified"), std::string::npos)
        << res.error().message();
    EXPECT_EQ(sh("dst", "list -H -o name -r q/sink"), "q/sink\nq/sink/client1\n")
        << "only the client's own root, which inherits, was created";
}

TEST_F(LocalEndpoints, AWrongGuidIsAnErrorAndTheSnapshotStaysForInspection) {
    auto r = receiver();
    auto res = step(r, std::nullopt, "s1", 12345);
    ASSERT_FALSE(res.has_value());
    EXPECT_NE(res.error().message().find("expected GUID 12345 (kept for inspection)"), std::string::npos)
        << res.error().message();
    EXPECT_EQ(sh("dst", "get -Hp -o value guid q/sink/client1/p/a/b@s1"),
              std::to_string(src_version("s1").guid) + "\n");
}

TEST_F(LocalEndpoints, ReceivesIntoAnExistingPlaceholder) {
    sh("dst", "create -p -o zrepl:placeholder=on q/sink/client1/p/a/b");
    auto r = receiver();
    ASSERT_TRUE(step(r, std::nullopt, "s1").has_value());
    // No longer a placeholder: the full receive (-F) replaced it, or the flag was turned off.
    const auto flag = sh("dst", "get -Hp -o value zrepl:placeholder q/sink/client1/p/a/b");
    EXPECT_TRUE(flag == "-\n" || flag == "off\n") << flag;
    EXPECT_EQ(sh("dst", "sim-read q/sink/client1/p/a/b@s1"), "s1");
}

TEST_F(LocalEndpoints, NamesCannotEscapeTheClientRoot) {
    auto r = receiver();
    for (const char* bad : {"", "../x", "p/../../q", "p//a", "p/a@s1"}) {
        auto m = r.map(bad);
        EXPECT_FALSE(m.has_value()) << "'" << bad << "' mapped to " << (m ? *m : "");
    }
    EXPECT_EQ(*r.map("p/a"), "q/sink/client1/p/a");
}

}  // namespace
}  // namespace zferry::replication
