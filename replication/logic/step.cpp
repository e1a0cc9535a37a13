#include "replication/logic/step.hpp"

namespace zferry::replication {

std::vector<zfs::FilesystemVersion> Step::delivered() const {
    std::vector<zfs::FilesystemVersion> out = intermediates;
    out.push_back(to);
    return out;
}

std::ostream& operator<<(std::ostream& os, const Step& s) {
    if (s.is_full())
        os << "full send of " << s.to.relative_name();
    else
        os << s.from->relative_name() << " -> " << s.to.relative_name();
    if (s.is_compound()) {
        // A step may carry thousands of snapshots: more than a few are named by their ends.
        const auto& in = s.intermediates;
        if (in.size() > 4) {
            os << " with -I (also " << in.size() << " snapshots " << in.front().relative_name() << " .. "
               << in.back().relative_name() << ")";
        } else {
            os << " with -I (also ";
            const char* sep = "";
            for (const auto& v : in) {
                os << sep << v.relative_name();
                sep = ", ";
            }
            os << ")";
        }
    }
    // The token is long and says nothing to a reader; its presence does.
    if (s.is_resumed())
        os << " resuming (token " << s.resume_token.substr(0, 24)
           << (s.resume_token.size() > 24 ? "...)" : ")");
    return os;
}

}  // namespace zferry::replication
