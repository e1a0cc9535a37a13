// Printing a decoded resume token: the human form mirrors `zfs send -nvt`, the JSON form is
// what scripts consume (GUIDs as 0x hex strings, because JSON numbers lose 64-bit precision
// in most consumers).
#pragma once

#include "zfs/resume_token.hpp"

#include <string>

namespace zferry::cli {

std::string resume_token_human(const zfs::ResumeToken& t);
std::string resume_token_json(const zfs::ResumeToken& t);

}  // namespace zferry::cli
