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
        os << " with -I (also ";
        const char* sep = "";
        for (const auto& v : s.intermediates) {
            os << sep << v.relative_name();
            sep = ", ";
        }
        os << ")";
    }
    if (s.is_resumed()) os << " resuming with token " << s.resume_token;
    return os;
}

}  // namespace zferry::replication
