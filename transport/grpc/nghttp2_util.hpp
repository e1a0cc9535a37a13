// Small helpers shared by the nghttp2-based sessions. Included only by their .cpp files.
#pragma once

#include <nghttp2/nghttp2.h>

#include <string>
#include <string_view>
#include <vector>

namespace zferry::transport::grpc::detail {

// Header fields for nghttp2_submit_*: owns the strings, so nghttp2 (which copies them) never
// reads freed memory.
class HeaderList {
public:
    void add(std::string_view name, std::string_view value) {
        names_.emplace_back(name);
        values_.emplace_back(value);
    }
    std::vector<nghttp2_nv> nva() const {
        std::vector<nghttp2_nv> out;
        out.reserve(names_.size());
        for (std::size_t i = 0; i < names_.size(); ++i)
            out.push_back(nghttp2_nv{reinterpret_cast<std::uint8_t*>(const_cast<char*>(names_[i].data())),
                                     reinterpret_cast<std::uint8_t*>(const_cast<char*>(values_[i].data())),
                                     names_[i].size(), values_[i].size(), NGHTTP2_NV_FLAG_NONE});
        return out;
    }

private:
    std::vector<std::string> names_;
    std::vector<std::string> values_;
};

inline std::string_view as_view(const std::uint8_t* p, std::size_t n) {
    return {reinterpret_cast<const char*>(p), n};
}

// "application/grpc", optionally followed by "+subtype" or ";params" (grpc-go's check).
inline bool is_grpc_content_type(std::string_view v) {
    constexpr std::string_view base = "application/grpc";
    if (v.substr(0, base.size()) != base) return false;
    return v.size() == base.size() || v[base.size()] == '+' || v[base.size()] == ';';
}

}  // namespace zferry::transport::grpc::detail
