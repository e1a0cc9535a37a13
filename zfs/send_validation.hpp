// The sender never trusts a send request or its resume token (reference §5.4): names are
// checked, versions must exist with the requested GUIDs, a token must name the requested
// dataset and versions, and the encryption policy must be consistent. Pure: the caller
// looks the facts up in ZFS (after check_send_request_names passed) and hands them in.
#pragma once

#include "core/error.hpp"
#include "zfs/resume_token.hpp"
#include "zfs/send_command.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace zferry::zfs {

struct SendVersion {
    std::string relative_name;  // "@snap" or "#bookmark"
    std::uint64_t guid = 0;
    friend bool operator==(const SendVersion&, const SendVersion&) = default;
};

struct SendRequest {
    std::string filesystem;
    std::optional<SendVersion> from;  // snapshot or bookmark
    std::optional<SendVersion> to;    // required, a snapshot
    std::string resume_token;
    SendPolicy policy;
};

// Looked up in ZFS for the request: nullopt = the version does not exist.
struct SendFacts {
    std::optional<std::uint64_t> from_guid;
    std::optional<std::uint64_t> to_guid;
    bool filesystem_encrypted = false;  // `encryption` property is not "off"
};

struct ValidatedSendArgs {
    std::string filesystem;
    std::optional<SendVersion> from;
    SendVersion to;
    std::string resume_token;  // empty: no resume
    std::optional<ResumeToken> token;
    SendPolicy policy;
    bool encrypted_send = false;  // the stream will be raw/encrypted

    SendSpec spec() const;
};

// Step 1: names only, before anything is looked up in ZFS.
Result<void> check_send_request_names(const SendRequest& r);

// Steps 1-4. Every refusal is Errc::invalid_argument and names the dataset and the reason.
Result<ValidatedSendArgs> validate_send_args(const SendRequest& r, const SendFacts& facts);

}  // namespace zferry::zfs
