// zrepl's pdu messages: every message survives a round trip, and the field numbers (the
// wire contract with zrepl peers) produce the exact bytes zrepl's Go code produces.
#include "replication/pdu/pdu.pb.h"

#include <gtest/gtest.h>

#include <google/protobuf/util/message_differencer.h>

#include <string>
#include <vector>

namespace {

std::string hex(const std::string& bytes) {
    static const char* digits = "0123456789abcdef";
    std::string out;
    for (unsigned char c : bytes) {
        out += digits[c >> 4];
        out += digits[c & 0xf];
    }
    return out;
}

template <class M>
void expect_round_trip(const M& m) {
    std::string wire;
    ASSERT_TRUE(m.SerializeToString(&wire)) << M::descriptor()->name();
    M back;
    ASSERT_TRUE(back.ParseFromString(wire)) << M::descriptor()->name();
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(m, back))
        << M::descriptor()->name() << ": " << m.ShortDebugString() << " came back as "
        << back.ShortDebugString();
    std::string again;
    ASSERT_TRUE(back.SerializeToString(&again));
    EXPECT_EQ(hex(again), hex(wire)) << M::descriptor()->name() << " re-encodes identically";
}

FilesystemVersion snapshot(const std::string& name, std::uint64_t guid, std::uint64_t txg) {
    FilesystemVersion v;
    v.set_type(FilesystemVersion::Snapshot);
    v.set_name(name);
    v.set_guid(guid);
    v.set_createtxg(txg);
    v.set_creation("2026-11-30T08:55:00Z");
    return v;
}

ReplicationConfig config() {
    ReplicationConfig c;
    c.mutable_protection()->set_initial(GuaranteeResumability);
    c.mutable_protection()->set_incremental(GuaranteeIncrementalReplication);
    return c;
}

SendReq send_req() {
    SendReq r;
    r.set_filesystem("pool/a b");
    *r.mutable_from() = snapshot("s1", 0x932f3a7089080ce2, 10);
    *r.mutable_to() = snapshot("s2", 0xffffffffffffffff, 11);
    r.mutable_to()->set_type(FilesystemVersion::Snapshot);
    r.set_resumetoken("1-abc-de-789c");
    *r.mutable_replicationconfig() = config();
    return r;
}

TEST(Pdu, EveryMessageRoundTrips) {
    ListFilesystemReq lfreq;
    expect_round_trip(lfreq);

    ListFilesystemRes lfres;
    auto* fs = lfres.add_filesystems();
    fs->set_path("pool/a");
    fs->set_resumetoken("1-e3f40c323-f8-789c");
    fs->set_isplaceholder(true);
    lfres.add_filesystems()->set_path("pool/a/b");
    expect_round_trip(lfres);
    expect_round_trip(*fs);

    ListFilesystemVersionsReq lvreq;
    lvreq.set_filesystem("pool/a");
    expect_round_trip(lvreq);

    ListFilesystemVersionsRes lvres;
    *lvres.add_versions() = snapshot("a", 1, 1);
    auto* bm = lvres.add_versions();
    *bm = snapshot("zrepl_CURSOR_G_0000000000000001_J_job", 1, 1);
    bm->set_type(FilesystemVersion::Bookmark);
    expect_round_trip(lvres);

    expect_round_trip(send_req());
    expect_round_trip(config());
    expect_round_trip(config().protection());

    Property prop;
    prop.set_name("zrepl:placeholder");
    prop.set_value("on");
    expect_round_trip(prop);

    SendRes sres;
    sres.set_usedresumetoken(true);
    sres.set_expectedsize(5389768);
    expect_round_trip(sres);

    SendCompletedReq creq;
    *creq.mutable_originalreq() = send_req();
    expect_round_trip(creq);
    expect_round_trip(SendCompletedRes{});

    ReceiveReq rreq;
    rreq.set_filesystem("pool/a");
    *rreq.mutable_to() = snapshot("s2", 2, 2);
    rreq.set_clearresumetoken(true);
    *rreq.mutable_replicationconfig() = config();
    expect_round_trip(rreq);
    expect_round_trip(ReceiveRes{});

    DestroySnapshotsReq dreq;
    dreq.set_filesystem("pool/a");
    *dreq.add_snapshots() = snapshot("old", 3, 3);
    expect_round_trip(dreq);

    DestroySnapshotsRes dres;
    auto* result = dres.add_results();
    *result->mutable_snapshot() = snapshot("old", 3, 3);
    result->set_error("dataset is busy");
    expect_round_trip(dres);
    expect_round_trip(*result);

    ReplicationCursorReq cq;
    cq.set_filesystem("pool/a");
    expect_round_trip(cq);
    ReplicationCursorRes guid_res;
    guid_res.set_guid(0x1234);
    expect_round_trip(guid_res);
    ReplicationCursorRes notexist;
    notexist.set_notexist(true);
    expect_round_trip(notexist);

    PingReq ping;
    ping.set_message("hello");
    expect_round_trip(ping);
    PingRes pong;
    pong.set_echo("hello");
    expect_round_trip(pong);
}

// Expected bytes derived by hand from the field numbers and protobuf's encoding rules
// (tag = field << 3 | wire type; 0 varint, 2 length-delimited).
TEST(Pdu, FieldNumbersAreZrepls) {
    PingReq ping;
    ping.set_message("hi");
    EXPECT_EQ(hex(ping.SerializeAsString()), "0a026869");

    FilesystemVersion v;
    v.set_type(FilesystemVersion::Bookmark);
    v.set_name("b");
    v.set_guid(300);
    v.set_createtxg(2);
    v.set_creation("T");
    // 08 01 Type=Bookmark, 12 01 'b' Name, 18 ac02 Guid=300, 20 02 CreateTXG, 2a 01 'T' Creation
    EXPECT_EQ(hex(v.SerializeAsString()),
              "0801120162"
              "18ac02"
              "2002"
              "2a0154");

    Filesystem fs;
    fs.set_path("p");
    fs.set_resumetoken("t");
    fs.set_isplaceholder(true);
    EXPECT_EQ(hex(fs.SerializeAsString()),
              "0a0170"
              "120174"
              "1801");

    // Snapshot is the enum's zero value, so proto3 leaves Type off the wire.
    FilesystemVersion snap;
    snap.set_name("a");
    SendReq sr;
    sr.set_filesystem("p");
    *sr.mutable_to() = snap;
    sr.set_resumetoken("r");
    *sr.mutable_replicationconfig() = config();
    // 0a 01 'p' Filesystem, 1a 03 (12 01 'a') To, 22 01 'r' ResumeToken,
    // 32 06 (0a 04 (08 01 10 02)) ReplicationConfig{protection{Initial=1, Incremental=2}}
    EXPECT_EQ(hex(sr.SerializeAsString()),
              "0a0170"
              "1a03120161"
              "220172"
              "32060a0408011002");

    ReceiveReq rr;
    rr.set_clearresumetoken(true);
    *rr.mutable_replicationconfig() = config();
    // 18 01 ClearResumeToken, 22 06 ReplicationConfig (field 4 here, 6 in SendReq)
    EXPECT_EQ(hex(rr.SerializeAsString()),
              "1801"
              "22060a0408011002");

    SendCompletedReq done;
    done.mutable_originalreq()->set_filesystem("p");
    EXPECT_EQ(hex(done.SerializeAsString()), "12030a0170") << "OriginalReq is field 2, not 1";

    SendRes res;
    res.set_usedresumetoken(true);
    res.set_expectedsize(1);
    EXPECT_EQ(hex(res.SerializeAsString()), "08011001");

    // A oneof member is on the wire when set, even with its zero value.
    ReplicationCursorRes zero_guid;
    zero_guid.set_guid(0);
    EXPECT_EQ(hex(zero_guid.SerializeAsString()), "0800");
    ReplicationCursorRes notexist;
    notexist.set_notexist(true);
    EXPECT_EQ(hex(notexist.SerializeAsString()), "1001");

    DestroySnapshotsRes dres;
    dres.add_results()->set_error("e");
    EXPECT_EQ(hex(dres.SerializeAsString()), "0a03120165");

    PingRes pong;
    pong.set_echo("hi");
    EXPECT_EQ(hex(pong.SerializeAsString()), "0a026869");
}

TEST(Pdu, DecodesZreplBytes) {
    // FilesystemVersion{Type: Bookmark, Name: "c", Guid: 0xffffffffffffffff, CreateTXG: 7}
    const std::string wire = std::string("\x08\x01\x12\x01\x63\x18", 6) +
                             std::string("\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 10) +
                             std::string("\x20\x07", 2);
    FilesystemVersion v;
    ASSERT_TRUE(v.ParseFromString(wire));
    EXPECT_EQ(v.type(), FilesystemVersion::Bookmark);
    EXPECT_EQ(v.name(), "c");
    EXPECT_EQ(v.guid(), 0xffffffffffffffffULL);
    EXPECT_EQ(v.createtxg(), 7u);
    EXPECT_TRUE(v.creation().empty());
    // Unknown fields (a newer peer) are kept, not an error.
    FilesystemVersion newer;
    ASSERT_TRUE(newer.ParseFromString(wire + std::string("\x30\x01", 2)));
    EXPECT_EQ(newer.SerializeAsString(), wire + std::string("\x30\x01", 2));
}

TEST(Pdu, ServiceAndEnumsAreZrepls) {
    const auto* file = PingReq::descriptor()->file();
    EXPECT_EQ(file->package(), "") << "a package would change the gRPC paths /Replication/...";
    const auto* svc = file->FindServiceByName("Replication");
    ASSERT_NE(svc, nullptr);
    const std::vector<std::string> methods = {
        "Ping",    "ListFilesystems", "ListFilesystemVersions", "DestroySnapshots", "ReplicationCursor",
        "SendDry", "SendCompleted"};
    ASSERT_EQ(svc->method_count(), static_cast<int>(methods.size()));
    for (int i = 0; i < svc->method_count(); ++i) EXPECT_EQ(svc->method(i)->name(), methods[i]);
    EXPECT_EQ(svc->FindMethodByName("SendDry")->input_type()->name(), "SendReq");
    EXPECT_EQ(svc->FindMethodByName("SendDry")->output_type()->name(), "SendRes");
    EXPECT_EQ(GuaranteeInvalid, 0);
    EXPECT_EQ(GuaranteeResumability, 1);
    EXPECT_EQ(GuaranteeIncrementalReplication, 2);
    EXPECT_EQ(GuaranteeNothing, 3);
    EXPECT_EQ(FilesystemVersion::Snapshot, 0);
    EXPECT_EQ(FilesystemVersion::Bookmark, 1);
}

}  // namespace
