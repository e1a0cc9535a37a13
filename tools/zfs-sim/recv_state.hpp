// The receive_resume_token of a filesystem with an interrupted `zfs recv -s`.
#pragma once

#include "tools/zfs-sim/state.hpp"

#include <string>

namespace zfssim {

// OpenZFS's token format (zferry::zfs::encode_resume_token): fromguid (incrementals),
// object 1, offset = data bytes received, bytes = stream bytes received, toguid, toname
// and the *ok flags of the original stream.
std::string resume_token_of(const Dataset& fs);

}  // namespace zfssim
