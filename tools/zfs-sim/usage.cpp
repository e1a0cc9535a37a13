#include "tools/zfs-sim/usage.hpp"

#include <map>

namespace zfssim {
namespace {

const std::map<std::string, std::string>& helps() {
    static const std::map<std::string, std::string> h = {
        {"create",
         "\tcreate [-Pnpuv] [-o property=value] ... <filesystem>\n"
         "\tcreate [-Pnpsv] [-b blocksize] [-o property=value] ... -V <size> <volume>\n"},
        {"destroy",
         "\tdestroy [-fnpRrv] <filesystem|volume>\n"
         "\tdestroy [-dnpRrv] <filesystem|volume>@<snap>[%<snap>][,...]\n"
         "\tdestroy <filesystem|volume>#<bookmark>\n"},
        {"snapshot", "\tsnapshot [-r] [-o property=value] ... <filesystem|volume>@<snap> ...\n"},
        {"rollback", "\trollback [-rRf] <snapshot>\n"},
        {"list",
         "\tlist [-Hp] [-r|-d max] [-o property[,...]] [-s property]...\n"
         "\t    [-S property]... [-t type[,...]] [filesystem|volume|snapshot] ...\n"},
        {"set", "\tset [-u] <property=value> ... <filesystem|volume|snapshot> ...\n"},
        {"get",
         "\tget [-rHp] [-d max] [-o \"all\" | field[,...]]\n"
         "\t    [-t type[,...]] [-s source[,...]]\n"
         "\t    <\"all\" | property[,...]> [filesystem|volume|snapshot|bookmark] ...\n"},
        {"inherit", "\tinherit [-rS] <property> <filesystem|volume|snapshot> ...\n"},
        {"send",
         "\tsend [-DLPbcehnpsVvw] [-i|-I snapshot]\n"
         "\t     [-R [-X dataset[,dataset]...]]     <snapshot>\n"
         "\tsend [-DnVvPLecw] [-i snapshot|bookmark] <filesystem|volume|snapshot>\n"
         "\tsend [-DnPpVvLec] [-i bookmark|snapshot] --redact <bookmark> <snapshot>\n"
         "\tsend [-nVvPe] -t <receive_resume_token>\n"
         "\tsend [-PnVv] --saved filesystem\n"},
        {"receive",
         "\treceive [-vMnsFhu] [-o <property>=<value>] ... \n"
         "\t    [-x <property>] ... <filesystem|volume|snapshot>\n"
         "\treceive [-vMnsFhu] [-o <property>=<value>] ... \n"
         "\t    [-x <property>] ... \n"
         "\t    [-d | -e] <filesystem>\n"
         "\treceive -A <filesystem|volume>\n"},
        {"hold", "\thold [-r] <tag> <snapshot> ...\n"},
        {"holds", "\tholds [-rHp] <snapshot> ...\n"},
        {"release", "\trelease [-r] <tag> <snapshot> ...\n"},
        {"bookmark", "\tbookmark <snapshot|bookmark> <newbookmark>\n"},
    };
    return h;
}

const char* kPropTable =
    "\nThe following properties are supported:\n\n"
    "\tPROPERTY       EDIT  INHERIT   VALUES\n\n"
    "\tavailable        NO       NO   <size>\n"
    "\tcreatetxg        NO       NO   <uint64>\n"
    "\tcreation         NO       NO   <date>\n"
    "\tguid             NO       NO   <uint64>\n"
    "\tkeystatus        NO       NO   none | unavailable | available\n"
    "\treceive_resume_token  NO       NO   <string token>\n"
    "\treferenced       NO       NO   <size>\n"
    "\ttype             NO       NO   filesystem | volume | snapshot | bookmark\n"
    "\tused             NO       NO   <size>\n"
    "\tuserrefs         NO       NO   <count>\n"
    "\tatime           YES      YES   on | off\n"
    "\tcanmount        YES       NO   on | off | noauto\n"
    "\tcompression     YES      YES   on | off | lzjb | gzip | gzip-[1-9] | zle | lz4 | zstd\n"
    "\tencryption       NO      YES   on | off | aes-128-ccm | aes-192-ccm | aes-256-ccm | aes-128-gcm | "
    "aes-192-gcm | aes-256-gcm\n"
    "\tmountpoint      YES      YES   <path> | legacy | none\n"
    "\treadonly        YES      YES   on | off\n"
    "\nSizes are specified in bytes with standard units such as K, M, G, etc.\n"
    "\nUser-defined properties can be specified by using a name containing a colon (:).\n";

}  // namespace

std::string usage_text(const std::string& cmd_in) {
    std::string cmd = cmd_in == "recv" ? "receive" : cmd_in == "snap" ? "snapshot" : cmd_in;
    auto it = helps().find(cmd);
    if (it == helps().end()) return {};
    std::string out = "usage:\n" + it->second;
    if (cmd == "set" || cmd == "get" || cmd == "inherit" || cmd == "list") {
        out += kPropTable;
    } else {
        out +=
            "\nFor the property list, run: zfs set|get\n"
            "\nFor the delegated permission list, run: zfs allow|unallow\n"
            "\nFor further help on a command or topic, run: zfs help [<topic>]\n";
    }
    return out;
}

std::string global_usage() {
    std::string out = "usage: zfs command args ...\nwhere 'command' is one of the following:\n\n";
    for (auto& [name, h] : helps()) out += h;
    out += "\nEach dataset is of the form: pool/[dataset/]*dataset[@name]\n";
    return out;
}

}  // namespace zfssim
