// pdu <-> endpoint structs: RFC 3339 creation times as zrepl (Go) writes and reads them,
// versions, filesystems, send requests and cursors through a round trip, malformed fields
// refused, and endpoint errors <-> gRPC statuses keeping temporary() true to its meaning.
#include "replication/control/pdu_convert.hpp"

#include "zfs/zfs_error.hpp"

#include <gtest/gtest.h>

namespace zferry::replication::control {
namespace {

namespace grpc = transport::grpc;

TEST(PduConvertTime, FormatsUtcWithSecondPrecision) {
    EXPECT_EQ(format_rfc3339(0), "1970-01-01T00:00:00Z");
    EXPECT_EQ(format_rfc3339(1700000000), "2023-11-14T22:13:20Z");
    EXPECT_EQ(format_rfc3339(-1), "1969-12-31T23:59:59Z");
    EXPECT_EQ(format_rfc3339(951782400), "2000-02-29T00:00:00Z");
    EXPECT_EQ(format_rfc3339(253402300799), "9999-12-31T23:59:59Z");
}

TEST(PduConvertTime, ParsesWhatGoWrites) {
    struct Case {
        const char* text;
        std::int64_t want;
    };
    const Case cases[] = {
        {"2023-11-14T22:13:20Z", 1700000000},
        {"2023-11-15T00:13:20+02:00", 1700000000},  // Go's Format in a local zone
        {"2023-11-14T17:13:20-05:00", 1700000000},
        {"2023-11-14T22:13:20.123456789Z", 1700000000},  // RFC3339Nano: the fraction is dropped
        {"2023-11-14T22:13:20.5+00:00", 1700000000},
        {"1969-12-31T23:59:59Z", -1},
        {"2000-02-29T00:00:00Z", 951782400},
        {"9999-12-31T23:59:59Z", 253402300799},
    };
    for (const auto& c : cases) {
        auto t = parse_rfc3339(c.text);
        ASSERT_TRUE(t.has_value()) << c.text << ": " << t.error().message();
        EXPECT_EQ(*t, c.want) << c.text;
    }
    for (std::int64_t t : {std::int64_t{0}, std::int64_t{1}, std::int64_t{86399}, std::int64_t{1700000000},
                           std::int64_t{-86401}, std::int64_t{4102444800}}) {
        auto back = parse_rfc3339(format_rfc3339(t));
        ASSERT_TRUE(back.has_value()) << t;
        EXPECT_EQ(*back, t);
    }
}

TEST(PduConvertTime, RefusesBadTimestamps) {
    const char* bad[] = {
        "",
        "1700000000",
        "2023-11-14 22:13:20Z",  // space instead of T
        "2023-11-14t22:13:20Z",  // lower-case t
        "2023-11-14T22:13:20z",  // lower-case z
        "2023-11-14T22:13:20",   // no zone
        "2023-11-14T22:13Z",     // no seconds
        "2023-13-01T00:00:00Z",  // month 13
        "2023-00-01T00:00:00Z",
        "2023-02-29T00:00:00Z",  // not a leap year
        "2023-04-31T00:00:00Z",
        "2023-11-00T00:00:00Z",
        "2023-11-14T24:00:00Z",
        "2023-11-14T22:60:00Z",
        "2023-11-14T22:13:60Z",      // Go refuses leap seconds too
        "2023-11-14T22:13:20+0200",  // offset without colon
        "2023-11-14T22:13:20+24:00",
        "2023-11-14T22:13:20+02:60",
        "2023-11-14T22:13:20.Z",  // empty fraction
        "2023-11-14T22:13:20Zjunk",
        "2023-11-14T22:13:20+02:00 ",
        "+2023-11-14T22:13:20Z",
        "2023-1-14T22:13:20Z",
    };
    for (const char* text : bad) {
        auto t = parse_rfc3339(text);
        ASSERT_FALSE(t.has_value()) << "accepted \"" << text << "\" as " << *t;
        EXPECT_EQ(t.error().code(), make_error_code(Errc::parse_error)) << text;
        EXPECT_NE(t.error().message().find("is not RFC 3339"), std::string::npos) << t.error().message();
    }
}

zfs::FilesystemVersion version(zfs::VersionType type, std::string name, std::uint64_t guid, std::uint64_t txg,
                               std::int64_t creation) {
    zfs::FilesystemVersion v;
    v.type = type;
    v.filesystem = "pool/a";
    v.name = std::move(name);
    v.guid = guid;
    v.createtxg = txg;
    v.creation = creation;
    return v;
}

TEST(PduConvertVersion, RoundTripsSnapshotsAndBookmarks) {
    const auto snap = version(zfs::VersionType::snapshot, "zrepl_20231114_221320_000", 0xfedcba9876543210ull,
                              42, 1700000000);
    const auto pdu = to_pdu(snap);
    EXPECT_EQ(pdu.type(), ::FilesystemVersion::Snapshot);
    EXPECT_EQ(pdu.name(), "zrepl_20231114_221320_000");
    EXPECT_EQ(pdu.guid(), 0xfedcba9876543210ull);
    EXPECT_EQ(pdu.createtxg(), 42u);
    EXPECT_EQ(pdu.creation(), "2023-11-14T22:13:20Z");
    // Through the wire bytes, as a peer sees it.
    ::FilesystemVersion wire;
    ASSERT_TRUE(wire.ParseFromString(pdu.SerializeAsString()));
    auto back = from_pdu(wire, "pool/a");
    ASSERT_TRUE(back.has_value()) << back.error().message();
    EXPECT_EQ(*back, snap) << "userrefs is not on the wire and stays absent";

    const auto bm = version(zfs::VersionType::bookmark, "zrepl_CURSOR_G_0000000000000001_J_job", 1, 7, 0);
    EXPECT_EQ(to_pdu(bm).type(), ::FilesystemVersion::Bookmark);
    auto bm_back = from_pdu(to_pdu(bm), "pool/a");
    ASSERT_TRUE(bm_back.has_value());
    EXPECT_EQ(*bm_back, bm);
    EXPECT_EQ(bm_back->full_name(), "pool/a#zrepl_CURSOR_G_0000000000000001_J_job");
}

TEST(PduConvertVersion, RefusesMalformedVersions) {
    auto good = to_pdu(version(zfs::VersionType::snapshot, "s1", 1, 1, 0));
    {
        auto v = good;
        v.set_type(static_cast<::FilesystemVersion_VersionType>(7));  // proto3 enums are open
        auto r = from_pdu(v, "pool/a");
        ASSERT_FALSE(r.has_value());
        EXPECT_EQ(r.error().code(), make_error_code(Errc::invalid_argument));
        EXPECT_NE(r.error().message().find("unknown type 7"), std::string::npos) << r.error().message();
    }
    for (const char* name : {"", "pool/a@s1", "a#b", "x/y"}) {
        auto v = good;
        v.set_name(name);
        auto r = from_pdu(v, "pool/a");
        ASSERT_FALSE(r.has_value()) << name;
        EXPECT_EQ(r.error().code(), make_error_code(Errc::invalid_argument)) << name;
    }
    for (const char* creation : {"", "yesterday", "2023-02-30T00:00:00Z"}) {
        auto v = good;
        v.set_creation(creation);
        auto r = from_pdu(v, "pool/a");
        ASSERT_FALSE(r.has_value()) << creation;
        EXPECT_EQ(r.error().code(), make_error_code(Errc::parse_error)) << creation;
        EXPECT_NE(r.error().message().find("version pool/a@s1"), std::string::npos) << r.error().message();
    }
}

TEST(PduConvertFilesystem, RoundTrips) {
    const FilesystemInfo infos[] = {
        {"pool/a", false, ""},
        {"pool/a/b", true, ""},
        {"pool/c", false, "1-e604ea4bf-e0-789c63a2"},
    };
    for (const auto& f : infos) {
        ::Filesystem wire;
        ASSERT_TRUE(wire.ParseFromString(to_pdu(f).SerializeAsString()));
        EXPECT_EQ(wire.path(), f.path);
        EXPECT_EQ(from_pdu(wire), f);
    }
}

StepRequest step(bool incremental, std::string token) {
    StepRequest r;
    r.filesystem = "pool/a";
    if (incremental) r.from = version(zfs::VersionType::bookmark, "s1", 11, 1, 1700000000);
    r.to = version(zfs::VersionType::snapshot, "s2", 22, 2, 1700000060);
    r.resume_token = std::move(token);
    r.protection = Protection{GuaranteeKind::resumability, GuaranteeKind::incremental};
    return r;
}

void expect_same_step(const StepRequest& a, const StepRequest& b) {
    EXPECT_EQ(a.filesystem, b.filesystem);
    EXPECT_EQ(a.from, b.from);
    EXPECT_EQ(a.to, b.to);
    EXPECT_EQ(a.resume_token, b.resume_token);
    EXPECT_EQ(a.protection, b.protection);
    EXPECT_FALSE(b.intermediates);
}

TEST(PduConvertSendReq, RoundTripsFullIncrementalAndResumed) {
    for (const auto& r : {step(false, ""), step(true, ""), step(true, "1-abc-def")}) {
        const auto pdu = to_pdu(r);
        EXPECT_EQ(pdu.has_from(), r.from.has_value()) << "a full send leaves From unset";
        EXPECT_EQ(pdu.replicationconfig().protection().initial(), ::GuaranteeResumability);
        EXPECT_EQ(pdu.replicationconfig().protection().incremental(), ::GuaranteeIncrementalReplication);
        ::SendReq wire;
        ASSERT_TRUE(wire.ParseFromString(pdu.SerializeAsString()));
        auto back = from_pdu(wire);
        ASSERT_TRUE(back.has_value()) << back.error().message();
        expect_same_step(r, *back);
    }
    for (auto k : {GuaranteeKind::resumability, GuaranteeKind::incremental, GuaranteeKind::nothing}) {
        auto back = from_pdu(to_pdu(k));
        ASSERT_TRUE(back.has_value());
        EXPECT_EQ(*back, k);
    }
}

TEST(PduConvertSendReq, IntermediatesTravelInZferrysOwnFieldOnlyWhenSet) {
    // A plain step's bytes are exactly what zrepl would send: the field is absent.
    auto plain = step(true, "");
    const std::string plain_bytes = to_pdu(plain).SerializeAsString();
    auto coalesced = plain;
    coalesced.intermediates = true;
    const std::string coalesced_bytes = to_pdu(coalesced).SerializeAsString();
    EXPECT_EQ(coalesced_bytes.size(), plain_bytes.size() + 3) << "field 1000 (2-byte tag) + varint 1";
    ::SendReq wire;
    ASSERT_TRUE(wire.ParseFromString(coalesced_bytes));
    EXPECT_TRUE(wire.zferryintermediates());
    auto back = from_pdu(wire);
    ASSERT_TRUE(back.has_value()) << back.error().message();
    EXPECT_TRUE(back->intermediates);
    // A plain request parsed back is plain (what a zrepl client's request is).
    ASSERT_TRUE(wire.ParseFromString(plain_bytes));
    EXPECT_FALSE(wire.zferryintermediates());
    // A coalesced step without From names no range: refused.
    auto full = step(false, "");
    full.intermediates = true;
    auto refused = from_pdu(to_pdu(full));
    ASSERT_FALSE(refused.has_value());
    EXPECT_NE(refused.error().message().find("coalesced step needs From"), std::string::npos)
        << refused.error().message();
}

TEST(PduConvertSendReq, RefusesIncompleteRequests) {
    auto expect_refused = [](const ::SendReq& req, const std::string& text) {
        auto r = from_pdu(req);
        ASSERT_FALSE(r.has_value()) << text;
        EXPECT_FALSE(r.error().temporary());
        EXPECT_NE(r.error().message().find(text), std::string::npos) << r.error().message();
    };
    const auto good = to_pdu(step(true, ""));
    {
        auto req = good;
        req.clear_filesystem();
        expect_refused(req, "without a filesystem");
    }
    {
        auto req = good;
        req.clear_to();
        expect_refused(req, "without To");
    }
    {
        auto req = good;
        req.mutable_to()->set_type(::FilesystemVersion::Bookmark);
        expect_refused(req, "To must be a snapshot");
    }
    {
        auto req = good;
        req.clear_replicationconfig();
        expect_refused(req, "without replication config protection");
    }
    {
        auto req = good;
        req.mutable_replicationconfig()->mutable_protection()->set_incremental(::GuaranteeInvalid);
        expect_refused(req, "guarantee kind 0 is invalid");
    }
    {
        auto req = good;
        req.mutable_from()->set_creation("2023-11-14T22:13:20");
        expect_refused(req, "is not RFC 3339");
    }
}

ReceiveRequest receive_request(bool clear) {
    ReceiveRequest r;
    r.filesystem = "pool/a";
    r.to = version(zfs::VersionType::snapshot, "s2", 22, 2, 1700000060);
    r.clear_resume_token = clear;
    r.protection = Protection{GuaranteeKind::nothing, GuaranteeKind::resumability};
    r.incremental = true;
    return r;
}

TEST(PduConvertReceiveReq, RoundTripsWithoutTheIncrementalFlag) {
    for (bool clear : {false, true}) {
        const auto r = receive_request(clear);
        ::ReceiveReq wire;
        ASSERT_TRUE(wire.ParseFromString(to_pdu(r).SerializeAsString()));
        EXPECT_EQ(wire.clearresumetoken(), clear);
        auto back = from_pdu(wire);
        ASSERT_TRUE(back.has_value()) << back.error().message();
        EXPECT_EQ(back->filesystem, r.filesystem);
        EXPECT_EQ(back->to, r.to);
        EXPECT_EQ(back->clear_resume_token, clear);
        EXPECT_EQ(back->protection, r.protection);
        EXPECT_FALSE(back->incremental)
            << "zrepl's ReceiveReq has no field for it; the receiving host decides";
    }
}

TEST(PduConvertReceiveReq, RefusesIncompleteRequests) {
    auto expect_refused = [](const ::ReceiveReq& req, const std::string& text) {
        auto r = from_pdu(req);
        ASSERT_FALSE(r.has_value()) << text;
        EXPECT_FALSE(r.error().temporary());
        EXPECT_NE(r.error().message().find(text), std::string::npos) << r.error().message();
    };
    const auto good = to_pdu(receive_request(false));
    {
        auto req = good;
        req.clear_filesystem();
        expect_refused(req, "receive request without a filesystem");
    }
    {
        auto req = good;
        req.clear_to();
        expect_refused(req, "without To");
    }
    {
        auto req = good;
        req.mutable_to()->set_type(::FilesystemVersion::Bookmark);
        expect_refused(req, "To must be a snapshot");
    }
    {
        auto req = good;
        req.clear_replicationconfig();
        expect_refused(req, "without replication config protection");
    }
    {
        auto req = good;
        req.mutable_replicationconfig()->mutable_protection()->set_initial(::GuaranteeInvalid);
        expect_refused(req, "guarantee kind 0 is invalid");
    }
}

TEST(PduConvertCursor, RoundTripsGuidAndNotexist) {
    auto g = cursor_from_pdu(cursor_to_pdu(0xabcdefull));
    ASSERT_TRUE(g.has_value());
    EXPECT_EQ(*g, std::optional<std::uint64_t>(0xabcdefull));
    auto none_pdu = cursor_to_pdu(std::nullopt);
    EXPECT_TRUE(none_pdu.notexist());
    auto none = cursor_from_pdu(none_pdu);
    ASSERT_TRUE(none.has_value());
    EXPECT_FALSE(none->has_value());
    auto empty = cursor_from_pdu(::ReplicationCursorRes());
    ASSERT_FALSE(empty.has_value());
    EXPECT_EQ(empty.error().code(), make_error_code(Errc::protocol_error));
}

TEST(PduConvertDestroy, RoundTripsRequestAndResults) {
    const std::vector<zfs::FilesystemVersion> snaps = {
        version(zfs::VersionType::snapshot, "s1", 1, 1, 1700000000),
        version(zfs::VersionType::snapshot, "s2", 2, 2, 1700000060),
    };
    ::DestroySnapshotsReq req;
    ASSERT_TRUE(req.ParseFromString(destroy_request_to_pdu("pool/a", snaps).SerializeAsString()));
    EXPECT_EQ(req.filesystem(), "pool/a");
    auto back = destroy_request_from_pdu(req);
    ASSERT_TRUE(back.has_value()) << back.error().message();
    EXPECT_EQ(*back, snaps);

    const std::vector<DestroySnapshotResult> results = {{snaps[0], ""}, {snaps[1], "dataset is busy"}};
    ::DestroySnapshotsRes res;
    ASSERT_TRUE(res.ParseFromString(destroy_results_to_pdu(results).SerializeAsString()));
    ASSERT_EQ(res.results_size(), 2);
    EXPECT_EQ(res.results(1).error(), "dataset is busy");
    auto res_back = destroy_results_from_pdu(res, "pool/a");
    ASSERT_TRUE(res_back.has_value()) << res_back.error().message();
    EXPECT_EQ(*res_back, results);
}

TEST(PduConvertDestroy, RefusesMalformedRequestsAndResults) {
    auto req = destroy_request_to_pdu("pool/a", {version(zfs::VersionType::snapshot, "s1", 1, 1, 0)});
    auto no_fs = req;
    no_fs.clear_filesystem();
    auto r = destroy_request_from_pdu(no_fs);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code(), make_error_code(Errc::invalid_argument));
    auto bad_name = req;
    bad_name.mutable_snapshots(0)->set_name("pool/b@s1");
    EXPECT_FALSE(destroy_request_from_pdu(bad_name).has_value()) << "a name of another filesystem";

    ::DestroySnapshotsRes res;
    res.add_results()->set_error("lost its snapshot");
    auto rr = destroy_results_from_pdu(res, "pool/a");
    ASSERT_FALSE(rr.has_value());
    EXPECT_EQ(rr.error().code(), make_error_code(Errc::protocol_error));
    EXPECT_NE(rr.error().message().find("lost its snapshot"), std::string::npos);
}

TEST(PduConvertStatus, EndpointErrorsBecomeStatusesAndComeBack) {
    struct Case {
        Error error;
        grpc::StatusCode code;
    };
    const Case cases[] = {
        {Error(zfs::ZfsErrc::dataset_busy, "zfs destroy p/a@s1"), grpc::StatusCode::unavailable},
        {Error(Errc::timeout, "zfs list"), grpc::StatusCode::unavailable},
        {Error(Errc::invalid_argument, "endpoint does not allow access to filesystem p/x"),
         grpc::StatusCode::invalid_argument},
        {Error(Errc::parse_error, "bad"), grpc::StatusCode::invalid_argument},
        {Error(zfs::ZfsErrc::dataset_not_found, "p/nope"), grpc::StatusCode::not_found},
        {Error(Errc::not_found, "root_fs"), grpc::StatusCode::not_found},
        {Error(zfs::ZfsErrc::dataset_exists, "p/a#b"), grpc::StatusCode::already_exists},
        {Error(zfs::ZfsErrc::snapshot_held, "p/a@s1"), grpc::StatusCode::failed_precondition},
        {Error(zfs::ZfsErrc::unsupported, "bookmarks"), grpc::StatusCode::failed_precondition},
        {Error(zfs::ZfsErrc::command_failed, "zfs get"), grpc::StatusCode::internal},
        {Error(Errc::protocol_error, "guid"), grpc::StatusCode::internal},
    };
    for (const auto& c : cases) {
        const auto s = status_of(c.error);
        EXPECT_EQ(s.code, c.code) << c.error.message();
        EXPECT_EQ(s.message, c.error.message());
        const auto back = error_of(s, "/Replication/SendDry");
        EXPECT_EQ(back.temporary(), c.error.temporary()) << c.error.message();
        EXPECT_EQ(back.code().category(), remote_status_category());
        EXPECT_EQ(back.context(), "/Replication/SendDry: " + c.error.message());
        // A relayed status keeps its code.
        EXPECT_EQ(status_of(back).code, c.code);
    }
    EXPECT_TRUE(error_of({grpc::StatusCode::deadline_exceeded, "slow"}, "/Replication/Ping").temporary());
    EXPECT_FALSE(
        error_of({grpc::StatusCode::unimplemented, "unknown method"}, "/Replication/Ping").temporary());
    EXPECT_FALSE(error_of({grpc::StatusCode::cancelled, ""}, "/Replication/Ping").temporary());
    const auto e = error_of({grpc::StatusCode::unavailable, "connection closed"}, "/Replication/Ping");
    EXPECT_EQ(e.message(),
              "/Replication/Ping: connection closed: UNAVAILABLE (temporary, retrying can help)");
}

}  // namespace
}  // namespace zferry::replication::control
