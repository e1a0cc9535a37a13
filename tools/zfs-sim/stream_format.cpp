#include "tools/zfs-sim/stream_format.hpp"

#include <boost/json.hpp>

#include <cstring>

namespace zfssim {

namespace json = boost::json;

std::string StreamHeader::snapshot_name() const {
    auto p = toname.find('@');
    return p == std::string::npos ? toname : toname.substr(p + 1);
}

std::string StreamHeader::to_json() const {
    json::object o;
    o["v"] = 1;
    o["toguid"] = toguid;
    o["fromguid"] = fromguid;
    o["toname"] = toname;
    o["fromname"] = fromname;
    o["createtxg"] = createtxg;
    o["creation"] = creation;
    o["raw"] = raw;
    o["compressok"] = compressok;
    o["embedok"] = embedok;
    o["largeblockok"] = largeblockok;
    o["encryption"] = encryption;
    o["resume"] = resume;
    o["volume"] = volume;
    o["resume_offset"] = resume_offset;
    o["total"] = total;
    if (props) {
        json::object p;
        for (auto& [k, v] : *props) p[k] = v;
        o["props"] = std::move(p);
    }
    return json::serialize(o);
}

std::optional<StreamHeader> StreamHeader::from_json(std::string_view s) {
    boost::system::error_code ec;
    json::value v = json::parse(s, ec);
    if (ec || !v.is_object()) return std::nullopt;
    const json::object& o = v.as_object();
    try {
        StreamHeader h;
        h.toguid = json::value_to<std::uint64_t>(o.at("toguid"));
        h.fromguid = json::value_to<std::uint64_t>(o.at("fromguid"));
        h.toname = json::value_to<std::string>(o.at("toname"));
        h.fromname = json::value_to<std::string>(o.at("fromname"));
        h.createtxg = json::value_to<std::uint64_t>(o.at("createtxg"));
        h.creation = json::value_to<std::uint64_t>(o.at("creation"));
        h.raw = o.at("raw").as_bool();
        h.compressok = o.at("compressok").as_bool();
        h.embedok = o.at("embedok").as_bool();
        h.largeblockok = o.at("largeblockok").as_bool();
        h.encryption = json::value_to<std::string>(o.at("encryption"));
        h.resume = o.at("resume").as_bool();
        if (auto* vol = o.if_contains("volume")) h.volume = vol->as_bool();
        h.resume_offset = json::value_to<std::uint64_t>(o.at("resume_offset"));
        h.total = json::value_to<std::uint64_t>(o.at("total"));
        if (auto* p = o.if_contains("props")) {
            std::map<std::string, std::string> m;
            for (auto& kv : p->as_object())
                m[std::string(kv.key())] = json::value_to<std::string>(kv.value());
            h.props = std::move(m);
        }
        if (h.toname.find('@') == std::string::npos) return std::nullopt;
        return h;
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

void put_u32(std::string& out, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
}

void put_u64(std::string& out, std::uint64_t v) {
    for (int i = 0; i < 8; ++i) out += static_cast<char>((v >> (8 * i)) & 0xff);
}

std::uint32_t get_u32(const unsigned char* p) {
    std::uint32_t v = 0;
    for (int i = 3; i >= 0; --i) v = (v << 8) | p[i];
    return v;
}

std::uint64_t get_u64(const unsigned char* p) {
    std::uint64_t v = 0;
    for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
    return v;
}

std::string encode_prefix(const std::string& header_json, std::uint64_t data_len) {
    std::string out(kStreamMagic);
    put_u32(out, static_cast<std::uint32_t>(header_json.size()));
    out += header_json;
    put_u64(out, data_len);
    return out;
}

std::uint64_t stream_size(const std::string& header_json, std::uint64_t data_len) {
    return kStreamMagic.size() + 4 + header_json.size() + 8 + data_len + kTrailerMagic.size() + 8;
}

void StreamHash::mix(std::uint64_t w) {
    h_ = (h_ ^ w) * 1099511628211ULL;
    h_ ^= h_ >> 29;
}

void StreamHash::update(const void* data, std::size_t n) {
    const auto* p = static_cast<const unsigned char*>(data);
    while (n > 0 && pend_n_ > 0) {
        pend_[pend_n_++] = *p++;
        --n;
        if (pend_n_ == 8) {
            std::uint64_t w;
            std::memcpy(&w, pend_, 8);
            mix(w);
            pend_n_ = 0;
        }
    }
    while (n >= 8) {
        std::uint64_t w;
        std::memcpy(&w, p, 8);
        mix(w);
        p += 8;
        n -= 8;
    }
    while (n > 0) {
        pend_[pend_n_++] = *p++;
        --n;
    }
}

std::uint64_t StreamHash::value() const {
    std::uint64_t h = h_;
    for (std::size_t i = 0; i < pend_n_; ++i) h = (h ^ pend_[i]) * 1099511628211ULL;
    return h;
}

}  // namespace zfssim
