#include "zfs/send_validation.hpp"

#include "zfs/dataset_path.hpp"

#include <cstdio>

namespace zferry::zfs {
namespace {

std::string hex(std::uint64_t v) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "0x%016llx", static_cast<unsigned long long>(v));
    return buf;
}

Error refuse(const SendRequest& r, std::string why) {
    return Error(Errc::invalid_argument, "refusing to send from '" + r.filesystem + "': " + why);
}

Result<void> check_version_name(const SendRequest& r, const SendVersion& v, const char* role,
                                bool allow_bookmark) {
    const auto& rel = v.relative_name;
    if (rel.empty() || (rel[0] != '@' && rel[0] != '#'))
        return refuse(r, std::string(role) + " version '" + rel + "' must start with '@' or '#'");
    if (rel[0] == '#' && !allow_bookmark)
        return refuse(r, std::string(role) + " version '" + rel + "' must be a snapshot");
    auto type = rel[0] == '@' ? EntityType::snapshot : EntityType::bookmark;
    if (auto c = entity_namecheck(r.filesystem + rel, type); !c)
        return refuse(r, std::string(role) + " version: " + c.error().context());
    return {};
}

Result<void> check_version_fact(const SendRequest& r, const SendVersion& v,
                                const std::optional<std::uint64_t>& real, const char* role) {
    if (!real)
        return refuse(r,
                      std::string(role) + " version " + r.filesystem + v.relative_name + " does not exist");
    if (*real != v.guid)
        return refuse(r, std::string(role) + " version " + r.filesystem + v.relative_name + " has GUID " +
                             hex(*real) + ", the request expects " + hex(v.guid));
    return {};
}

}  // namespace

SendSpec ValidatedSendArgs::spec() const {
    return SendSpec{filesystem, from ? from->relative_name : std::string(), to.relative_name, resume_token};
}

Result<void> check_send_request_names(const SendRequest& r) {
    if (r.filesystem.empty()) return refuse(r, "the filesystem name is empty");
    if (auto c = entity_namecheck(r.filesystem, EntityType::filesystem); !c)
        return refuse(r, c.error().context());
    if (!r.to) return refuse(r, "the request has no 'to' version");
    if (auto c = check_version_name(r, *r.to, "'to'", false); !c) return c;
    if (r.from)
        if (auto c = check_version_name(r, *r.from, "'from'", true); !c) return c;
    return {};
}

Result<ValidatedSendArgs> validate_send_args(const SendRequest& r, const SendFacts& facts) {
    if (auto c = check_send_request_names(r); !c) return c.error();
    if (r.from)
        if (auto c = check_version_fact(r, *r.from, facts.from_guid, "'from'"); !c) return c.error();
    if (auto c = check_version_fact(r, *r.to, facts.to_guid, "'to'"); !c) return c.error();

    if (r.policy.encrypted && !facts.filesystem_encrypted)
        return refuse(r, "the send policy requires encrypted sends, but the filesystem is not encrypted");
    if (r.policy.raw && !r.policy.encrypted && facts.filesystem_encrypted)
        return refuse(
            r, "the send policy asks for raw sends without encryption, but the filesystem is encrypted");

    ValidatedSendArgs v;
    v.filesystem = r.filesystem;
    v.from = r.from;
    v.to = *r.to;
    v.policy = r.policy;
    v.encrypted_send = r.policy.encrypted;

    if (!r.resume_token.empty()) {
        auto t = decode_resume_token(r.resume_token);
        if (!t) return refuse(r, t.error().context());
        // A crafted token must not read another dataset than the one the request was
        // authorised for.
        if (t->to_filesystem() != r.filesystem)
            return refuse(r, "the resume token is for '" + t->toname + "', not for this filesystem");
        if (r.from && !t->fromguid)
            return refuse(r, "the request is incremental but the resume token is for a full send");
        if (!r.from && t->fromguid)
            return refuse(r, "the request is a full send but the resume token is incremental (fromguid " +
                                 hex(*t->fromguid) + ")");
        if (r.from && *t->fromguid != r.from->guid)
            return refuse(r, "resume token fromguid " + hex(*t->fromguid) + " does not match 'from' GUID " +
                                 hex(r.from->guid));
        if (t->toguid != r.to->guid)
            return refuse(
                r, "resume token toguid " + hex(t->toguid) + " does not match 'to' GUID " + hex(r.to->guid));
        const bool token_encrypted = facts.filesystem_encrypted && t->rawok;
        if (r.policy.encrypted && !token_encrypted)
            return refuse(
                r,
                "the send policy requires encrypted sends, but the resume token resumes an unencrypted send");
        if (!r.policy.encrypted && token_encrypted)
            return refuse(
                r, "the send policy forbids encrypted sends, but the resume token resumes an encrypted send");
        v.resume_token = r.resume_token;
        v.token = std::move(*t);
        v.encrypted_send = token_encrypted;
    }
    return v;
}

}  // namespace zferry::zfs
