#include "tools/zfs-sim/recv_state.hpp"

#include "tools/zfs-sim/stream_format.hpp"
#include "zfs/resume_token.hpp"

namespace zfssim {

std::string resume_token_of(const Dataset& fs) {
    if (!fs.partial) return "-";
    auto h = StreamHeader::from_json(fs.partial->header);
    if (!h) return "-";
    zferry::zfs::ResumeToken t;
    if (h->fromguid != 0) t.fromguid = h->fromguid;
    t.object = 1;
    t.offset = fs.partial->data_bytes;
    t.bytes = fs.partial->stream_bytes;
    t.toguid = h->toguid;
    t.toname = h->toname;
    t.rawok = h->raw;
    t.compressok = h->compressok;
    t.embedok = h->embedok;
    t.largeblockok = h->largeblockok;
    return zferry::zfs::encode_resume_token(t);
}

}  // namespace zfssim
