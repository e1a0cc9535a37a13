// Fuzzes the pdu messages as the endpoints receive them (over the gRPC control channel and as
// dataconn request headers): the first byte selects the message type, the rest is parsed with
// ParseFromArray, then converted into zferry's structs as the servers do (pdu_convert).
// Invariants: nothing throws; a conversion either succeeds or returns an error with a message
// that maps to a non-OK gRPC status; what succeeds has its required parts (filesystem, a
// snapshot as To, valid protection) and survives to_pdu -> from_pdu unchanged.
#include "replication/control/pdu_convert.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <vector>

using namespace zferry;
using namespace zferry::replication;
using namespace zferry::replication::control;

namespace {

[[noreturn]] void fail(const char* what) {
    std::fprintf(stderr, "pdu_requests_fuzz: %s\n", what);
    std::abort();
}

void check_error(const Error& e) {
    if (e.message().empty() && e.context().empty()) fail("a conversion error without a message");
    if (status_of(e).ok()) fail("a conversion error maps to an OK status");
}

bool same_version(const zfs::FilesystemVersion& a, const zfs::FilesystemVersion& b) { return a == b; }

void check_step(const StepRequest& s) {
    if (s.filesystem.empty()) fail("a step without a filesystem");
    if (s.to.type != zfs::VersionType::snapshot) fail("a step whose To is no snapshot");
    if (s.intermediates) fail("a step from the wire asks for intermediates");
    auto again = from_pdu(to_pdu(s));
    if (!again) fail("a converted SendReq does not convert back");
    if (again->filesystem != s.filesystem || again->from.has_value() != s.from.has_value() ||
        (s.from && !same_version(*again->from, *s.from)) || !same_version(again->to, s.to) ||
        again->resume_token != s.resume_token || !(again->protection == s.protection))
        fail("a SendReq changed on its way to_pdu and back");
}

template <class Msg>
bool parse(Msg& m, const std::uint8_t* data, std::size_t size) {
    return m.ParseFromArray(data, static_cast<int>(size));
}

void one(std::uint8_t kind, const std::uint8_t* data, std::size_t size) {
    switch (kind % 10) {
        case 0: {
            ::ListFilesystemVersionsReq m;
            if (!parse(m, data, size)) return;
            (void)m.filesystem();
            return;
        }
        case 1: {
            ::SendReq m;
            if (!parse(m, data, size)) return;
            auto s = from_pdu(m);
            if (!s) return check_error(s.error());
            check_step(*s);
            return;
        }
        case 2: {
            ::ReceiveReq m;
            if (!parse(m, data, size)) return;
            auto r = from_pdu(m);
            if (!r) return check_error(r.error());
            if (r->filesystem.empty() || r->to.type != zfs::VersionType::snapshot || r->incremental)
                fail("a receive request without its required parts");
            auto again = from_pdu(to_pdu(*r));
            if (!again) fail("a converted ReceiveReq does not convert back");
            if (again->filesystem != r->filesystem || !same_version(again->to, r->to) ||
                again->clear_resume_token != r->clear_resume_token || !(again->protection == r->protection))
                fail("a ReceiveReq changed on its way to_pdu and back");
            return;
        }
        case 3: {
            ::DestroySnapshotsReq m;
            if (!parse(m, data, size)) return;
            auto v = destroy_request_from_pdu(m);
            if (!v) return check_error(v.error());
            if (static_cast<int>(v->size()) != m.snapshots_size()) fail("destroy request lost snapshots");
            auto again = destroy_request_from_pdu(destroy_request_to_pdu(m.filesystem(), *v));
            if (!again || *again != *v) fail("a DestroySnapshotsReq changed on its way to_pdu and back");
            return;
        }
        case 4: {
            ::ReplicationCursorReq m;
            if (!parse(m, data, size)) return;
            (void)m.filesystem();
            return;
        }
        case 5: {
            ::SendCompletedReq m;
            if (!parse(m, data, size)) return;
            if (!m.has_originalreq()) return;
            auto s = from_pdu(m.originalreq());
            if (!s) return check_error(s.error());
            check_step(*s);
            return;
        }
        case 6: {
            ::PingReq m;
            if (!parse(m, data, size)) return;
            ::PingRes res;
            res.set_echo(m.message());
            if (res.echo() != m.message()) fail("ping echo differs");
            return;
        }
        case 7: {
            ::ListFilesystemReq m;
            (void)parse(m, data, size);
            return;
        }
        case 8: {  // what a client receives for ReplicationCursor
            ::ReplicationCursorRes m;
            if (!parse(m, data, size)) return;
            auto c = cursor_from_pdu(m);
            if (!c) return check_error(c.error());
            auto again = cursor_from_pdu(cursor_to_pdu(*c));
            if (!again || *again != *c) fail("a cursor changed on its way to_pdu and back");
            return;
        }
        case 9: {  // what a client receives for DestroySnapshots
            ::DestroySnapshotsRes m;
            if (!parse(m, data, size)) return;
            const std::string fs = "pool/fs";
            auto r = destroy_results_from_pdu(m, fs);
            if (!r) return check_error(r.error());
            auto again = destroy_results_from_pdu(destroy_results_to_pdu(*r), fs);
            if (!again || *again != *r) fail("destroy results changed on their way to_pdu and back");
            return;
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    try {
        one(data[0], data + 1, size - 1);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "pdu_requests_fuzz: threw: %s\n", e.what());
        std::abort();
    } catch (...) {
        fail("threw a non-standard exception");
    }
    return 0;
}
