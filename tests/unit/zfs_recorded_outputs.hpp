// Outputs of `zfs` commands. Every kZfsFuse* text was captured from zfs-fuse 0.7.0-25
// (Debian 12, pool v23; test pools "zprobe" and "srcpool"/"dstpool"). The OpenZFS 2.2 texts follow its
// zfs_main.c help strings and libzfs error messages (no OpenZFS host was available).
#pragma once

#include <string_view>

namespace zferry::test::recorded {

// ---- zfs list -H -p -o name,guid,createtxg,creation,userrefs -r -d 1 -t bookmark,snapshot
//      -s createtxg pool/data   (OpenZFS 2.2)
inline constexpr std::string_view kOpenzfsVersionsListing =
    "pool/data@zrepl_20261124_020000_000\t12205403398441345881\t1043\t1795917600\t1\n"
    "pool/data#zrepl_CURSOR_G_a962a7a4c5c1a159_J_backup\t12205403398441345881\t1043\t1795917600\t-\n"
    "pool/data@zrepl_20261124_021000_000\t6373318745287307520\t1100\t1795918200\t0\n"
    "pool/data@manual snap: with space\t17857045203116932373\t1200\t1795918800\t2\n";

// ---- zfs get -H -p -o name,property,value guid,createtxg,creation,userrefs -r -d 1 srcpool/a
//      (zfs-fuse: no `list -p`; the filesystem itself and a child come along)
inline constexpr std::string_view kZfsFuseVersionsGet =
    "zprobe/a\tguid\t16251674721936727955\n"
    "zprobe/a\tcreatetxg\t7\n"
    "zprobe/a\tcreation\t1795491056\n"
    "zprobe/a\tuserrefs\t-\n"
    "zprobe/a@s1\tguid\t9257401375648202238\n"
    "zprobe/a@s1\tcreatetxg\t12\n"
    "zprobe/a@s1\tcreation\t1795491056\n"
    "zprobe/a@s1\tuserrefs\t1\n"
    "zprobe/a@s2\tguid\t14549836892993644610\n"
    "zprobe/a@s2\tcreatetxg\t17\n"
    "zprobe/a@s2\tcreation\t1795491056\n"
    "zprobe/a@s2\tuserrefs\t0\n"
    "zprobe/a/child\tguid\t3804845365938705860\n"
    "zprobe/a/child\tcreatetxg\t19\n"
    "zprobe/a/child\tcreation\t1795491056\n"
    "zprobe/a/child\tuserrefs\t-\n";

// zfs-fuse `zfs list -H -o name,guid,createtxg,creation -t snapshot`: guid humanized, creation
// a date; the reason zferry reads versions with `zfs get` there.
inline constexpr std::string_view kZfsFuseHumanizedList = "srcpool/a@s1\t1.99E\t12\tTue Nov 24  2:09 2026\n";

// ---- zfs list -H -p -o name,zrepl:placeholder,encryption -r -t filesystem,volume pool (OpenZFS)
inline constexpr std::string_view kOpenzfsFilesystemListing =
    "pool\t-\toff\n"
    "pool/backups\ton\toff\n"
    "pool/backups/client one\ton\taes-256-gcm\n"
    "pool/backups/client one/data\t-\taes-256-gcm\n";

// ---- zfs get -Hp -o name,property,value,source zrepl:placeholder,encryption -r pool/backups
inline constexpr std::string_view kOpenzfsPropertiesGet =
    "pool/backups\tzrepl:placeholder\ton\tlocal\n"
    "pool/backups\tencryption\toff\tdefault\n"
    "pool/backups/c1\tzrepl:placeholder\ton\tinherited from pool/backups\n"
    "pool/backups/c1\tencryption\taes-256-gcm\t-\n"
    "pool/backups/c2\tzrepl:placeholder\toff\treceived\n"
    "pool/backups/c2\tencryption\toff\ttemporary\n";

// zfs-fuse: unset user property → value '-', source '-'.
inline constexpr std::string_view kZfsFusePropertiesGet =
    "zprobe/a\tzrepl:placeholder\t-\t-\n"
    "zprobe/a\tcreatetxg\t7\t-\n";

// ---- zfs holds -H pool/data@s1 (OpenZFS)
inline constexpr std::string_view kOpenzfsHolds =
    "pool/data@s1\tzrepl_STEP_J_backup\tTue Nov 24 02:10 2026\n"
    "pool/data@s1\tzrepl_last_received_J_sink job\tTue Nov 24 02:11 2026\n";

// ---- stderr texts
inline constexpr std::string_view kHoldTagExists =
    "cannot hold 'srcpool/a@s1': tag already exists on this dataset\n";
inline constexpr std::string_view kReleaseNoSuchTag =
    "cannot release 'zrepl_test' from 'srcpool/a@s2': no such tag on this dataset\n";
inline constexpr std::string_view kDestroyBatchHeldOld =
    "cannot destroy snapshot pool/data@s1: dataset is busy\n"
    "cannot destroy snapshot pool/data@s3: dataset is busy\n";
inline constexpr std::string_view kDestroyHeldNew =
    "cannot destroy snapshot pool/data@s1: it's being held. Run 'zfs holds -r pool/data@s1' to see "
    "holders.\n";
inline constexpr std::string_view kZfsFuseDestroyHeld = "cannot destroy 'zprobe/a@s1': dataset is busy\n";
inline constexpr std::string_view kDestroyNoSnapshots =
    "could not find any snapshots to destroy; check snapshot names.\n";
inline constexpr std::string_view kZfsFuseDestroyCommaList =
    "cannot open 'zprobe/a@s1,s2': invalid dataset name\n";
inline constexpr std::string_view kZfsFuseOpenMissing =
    "cannot open 'srcpool/nonexist': dataset does not exist\n";
inline constexpr std::string_view kOpenzfsOpenNoPool = "cannot open 'nopool/x': no such pool or dataset\n";
inline constexpr std::string_view kBookmarkExists =
    "cannot create bookmark 'pool/data#b1': bookmark exists\n";
inline constexpr std::string_view kRecvAbortNothing =
    "cannot abort 'pool/recv/data': 'pool/recv/data' does not have any resumable receive state to abort\n";
// zfs-fuse and OpenZFS (libzfs's EZFS_NOSPC) on a full receiving pool.
inline constexpr std::string_view kZfsFuseRecvOutOfSpace =
    "cannot receive new filesystem stream: out of space\n";
inline constexpr std::string_view kRecvResumable =
    "cannot receive incremental stream: checksum mismatch or incomplete stream.\n"
    "Partially received snapshot is saved.\n"
    "A resuming stream can be generated on the sending system by running:\n"
    "    zfs send -t "
    "1-eadabb296-e8-789c636064000310a501c49c50360710a715e5e7a69766a63040416445bb6a3cd7a2290a40363b92bafca4"
    "acd4e412060626a83a0cf9b4b4e2d412908c0e5c9e0d493ea9b224b518483ba8ea61d55f920f714515bf9b3fc3c396ef0648f29c"
    "60f9bcc4dc54"
    "a07c516a414e414e62495a7e512ed0c812fde2a2648724b09900d43e2191\n";
inline constexpr std::string_view kRecvEncryptedOverwrite =
    "cannot receive new filesystem stream: zfs receive -F cannot be used to destroy an encrypted filesystem "
    "or "
    "overwrite an unencrypted one with an encrypted one\n";
inline constexpr std::string_view kRecvEmptyStdin = "cannot receive: failed to read from stream\n";
inline constexpr std::string_view kZfsFuseRecvInvalidStream =
    "cannot receive new filesystem stream: invalid backup stream\n";
// zfs-fuse: a receive started while the daemon still tears down an aborted one (CI, 2026-11).
inline constexpr std::string_view kZfsFuseRecvBusy = "cannot receive incremental stream: dataset is busy\n";

// ---- capability probes: OpenZFS 2.2
inline constexpr std::string_view kOpenzfsSendUsage =
    "missing snapshot argument\n"
    "usage:\n"
    "\tsend [-DLPbcehnpsVvw] [-i|-I snapshot]\n"
    "\t     [-R [-X dataset[,dataset]...]]     <snapshot>\n"
    "\tsend [-DnVvPLecw] [-i snapshot|bookmark] <filesystem|volume|snapshot>\n"
    "\tsend [-DnPpVvLec] [-i bookmark|snapshot] --redact <bookmark> <snapshot>\n"
    "\tsend [-nVvPe] -t <receive_resume_token>\n"
    "\tsend [-PnVv] --saved filesystem\n"
    "\n"
    "For the property list, run: zfs set|get\n"
    "\n"
    "For the delegated permission list, run: zfs allow|unallow\n"
    "\n"
    "For further help on a command or topic, run: zfs help [<topic>]\n";
inline constexpr std::string_view kOpenzfsReceiveUsage =
    "missing snapshot argument\n"
    "usage:\n"
    "\treceive [-vMnsFhu] [-o <property>=<value>] ... [-x <property>] ...\n"
    "\t    <filesystem|volume|snapshot>\n"
    "\treceive [-vMnsFhu] [-o <property>=<value>] ... [-x <property>] ... \n"
    "\t    [-d | -e] <filesystem>\n"
    "\treceive -A <filesystem|volume>\n"
    "\n"
    "For the property list, run: zfs set|get\n";
inline constexpr std::string_view kOpenzfsDestroyUsage =
    "missing dataset argument\n"
    "usage:\n"
    "\tdestroy [-fnpRrv] <filesystem|volume>\n"
    "\tdestroy [-dnpRrv] <filesystem|volume>@<snap>[%<snap>][,...]\n"
    "\tdestroy <filesystem|volume>#<bookmark>\n";
inline constexpr std::string_view kOpenzfsListProbe = "pool\nbackup\n";
inline constexpr std::string_view kOpenzfsBookmarkUsage =
    "missing snapshot argument\n"
    "usage:\n"
    "\tbookmark <snapshot|bookmark> <newbookmark>\n";
inline constexpr std::string_view kOpenzfsHoldsUsage =
    "missing snapshot argument\n"
    "usage:\n"
    "\tholds [-rHp] <snapshot> ...\n";

// ---- capability probes: zfs-fuse 0.7.0
inline constexpr std::string_view kZfsFuseSendUsage =
    "missing snapshot argument\n"
    "usage:\n"
    "\tsend [-RDp] [-[iI] snapshot] <snapshot>\n"
    "\n"
    "For the property list, run: zfs set|get\n"
    "\n"
    "For the delegated permission list, run: zfs allow|unallow\n";
inline constexpr std::string_view kZfsFuseReceiveUsage =
    "missing snapshot argument\n"
    "usage:\n"
    "\treceive [-vnF] <filesystem|volume|snapshot>\n"
    "\treceive [-vnF] -d <filesystem>\n"
    "\n"
    "For the property list, run: zfs set|get\n"
    "\n"
    "For the delegated permission list, run: zfs allow|unallow\n";
inline constexpr std::string_view kZfsFuseDestroyUsage =
    "missing path argument\n"
    "usage:\n"
    "\tdestroy [-rRf] <filesystem|volume>\n"
    "\tdestroy [-rRd] <snapshot>\n"
    "\n"
    "For the property list, run: zfs set|get\n"
    "\n"
    "For the delegated permission list, run: zfs allow|unallow\n";
inline constexpr std::string_view kZfsFuseListInvalidP =
    "invalid option 'p'\n"
    "usage:\n"
    "\tlist [-rH][-d max] [-o property[,...]] [-t type[,...]] [-s property] ...\n"
    "\t    [-S property] ... [filesystem|volume|snapshot] ...\n"
    "\n"
    "The following properties are supported:\n"
    "\n"
    "\tPROPERTY       EDIT  INHERIT   VALUES\n"
    "\n"
    "\tavailable        NO       NO   <size>\n"
    "\tcompressratio    NO       NO   <1.00x or higher if compressed>\n"
    "\tcreation         NO       NO   <date>\n"
    "\tdefer_destroy    NO       NO   yes | no\n"
    "\tmounted          NO       NO   yes | no\n"
    "\torigin           NO       NO   <snapshot>\n"
    "\treferenced       NO       NO   <size>\n"
    "\ttype             NO       NO   filesystem | volume | snapshot\n"
    "\tused             NO       NO   <size>\n"
    "\tusedbychildren   NO       NO   <size>\n"
    "\tusedbydataset    NO       NO   <size>\n"
    "\tusedbyrefreservation  NO       NO   <size>\n"
    "\tusedbysnapshots  NO       NO   <size>\n"
    "\tuserrefs         NO       NO   <count>\n"
    "\taclinherit      YES      YES   discard | noallow | restricted | passthrough | passthrough-x\n"
    "\taclmode         YES      YES   discard | groupmask | passthrough\n"
    "\tatime           YES      YES   on | off\n"
    "\tcanmount        YES       NO   on | off | noauto\n"
    "\tcasesensitivity  NO      YES   sensitive | insensitive | mixed\n"
    "\tchecksum        YES      YES   on | off | fletcher2 | fletcher4 | sha256\n"
    "\tcompression     YES      YES   on | off | lzjb | gzip | gzip-[1-9] | zle\n"
    "\tcopies          YES      YES   1 | 2 | 3\n"
    "\tdedup           YES      YES   on | off | verify | sha256[,verify]\n"
    "\tdevices         YES      YES   on | off\n"
    "\texec            YES      YES   on | off\n"
    "\tlogbias         YES      YES   latency | throughput\n"
    "\tmlslabel        YES      YES   <sensitivity label>\n"
    "\tmountpoint      YES      YES   <path> | legacy | none\n"
    "\tnbmand          YES      YES   on | off\n"
    "\tnormalization    NO      YES   none | formC | formD | formKC | formKD\n"
    "\tprimarycache    YES      YES   all | none | metadata\n"
    "\tquota           YES       NO   <size> | none\n"
    "\treadonly        YES      YES   on | off\n"
    "\trecordsize      YES      YES   512 to 128k, power of 2\n"
    "\trefquota        YES       NO   <size> | none\n"
    "\trefreservation  YES       NO   <size> | none\n"
    "\treservation     YES       NO   <size> | none\n"
    "\tsecondarycache  YES      YES   all | none | metadata\n"
    "\tsetuid          YES      YES   on | off\n"
    "\tsharenfs        YES      YES   on | off | share(1M) options\n"
    "\tsharesmb        YES      YES   on | off | sharemgr(1M) options\n"
    "\tsnapdir         YES      YES   hidden | visible\n"
    "\tutf8only         NO      YES   on | off\n"
    "\tversion         YES       NO   1 | 2 | 3 | 4 | current\n"
    "\tvolblocksize     NO      YES   512 to 128k, power of 2\n"
    "\tvolsize         YES       NO   <size>\n"
    "\tvscan           YES      YES   on | off\n"
    "\txattr           YES      YES   on | off\n"
    "\tzoned           YES      YES   on | off\n"
    "\tuserused@...     NO       NO   <size>\n"
    "\tgroupused@...    NO       NO   <size>\n"
    "\tuserquota@...   YES       NO   <size> | none\n"
    "\tgroupquota@...  YES       NO   <size> | none\n"
    "\n"
    "Sizes are specified in bytes with standard units such as K, M, G, etc.\n"
    "\n"
    "User-defined properties can be specified by using a name containing a colon (:).\n"
    "\n"
    "The {user|group}{used|quota}@ properties must be appended with\n"
    "a user or group specifier of one of these forms:\n"
    "    POSIX name      (eg: \"matt\")\n"
    "    POSIX id        (eg: \"126829\")\n"
    "    SMB name@domain (eg: \"matt@sun\")\n"
    "    SMB SID         (eg: \"S-1-234-567-89\")\n";
inline constexpr std::string_view kZfsFuseBookmarkUnrecognized =
    "unrecognized command 'bookmark'\n"
    "usage: zfs command args ...\n"
    "where 'command' is one of the following:\n"
    "\n"
    "\tcreate [-p] [-o property=value] ... <filesystem>\n"
    "\tcreate [-ps] [-b blocksize] [-o property=value] ... -V <size> <volume>\n"
    "\tdestroy [-rRf] <filesystem|volume>\n"
    "\tdestroy [-rRd] <snapshot>\n"
    "\n"
    "\tsnapshot [-r] [-o property=value] ... <filesystem@snapname|volume@snapname>\n"
    "\trollback [-rRf] <snapshot>\n"
    "\tclone [-p] [-o property=value] ... <snapshot> <filesystem|volume>\n"
    "\tpromote <clone-filesystem>\n"
    "\trename <filesystem|volume|snapshot> <filesystem|volume|snapshot>\n"
    "\trename -p <filesystem|volume> <filesystem|volume>\n"
    "\trename -r <snapshot> <snapshot>\n"
    "\tlist [-rH][-d max] [-o property[,...]] [-t type[,...]] [-s property] ...\n"
    "\t    [-S property] ... [filesystem|volume|snapshot] ...\n"
    "\n"
    "\tset <property=value> <filesystem|volume|snapshot> ...\n"
    "\tget [-rHp] [-d max] [-o \"all\" | field[,...]] [-s source[,...]]\n"
    "\t    <\"all\" | property[,...]> [filesystem|volume|snapshot] ...\n"
    "\tinherit [-rS] <property> <filesystem|volume|snapshot> ...\n"
    "\tupgrade [-v]\n"
    "\tupgrade [-r] [-V version] <-a | filesystem ...>\n"
    "\tuserspace [-hniHp] [-o field[,...]] [-sS field] ... [-t type[,...]]\n"
    "\t    <filesystem|snapshot>\n"
    "\tgroupspace [-hniHpU] [-o field[,...]] [-sS field] ... [-t type[,...]]\n"
    "\t    <filesystem|snapshot>\n"
    "\n"
    "\tmount\n"
    "\tmount [-vO] [-o opts] <-a | filesystem>\n"
    "\tunmount [-f] <-a | filesystem|mountpoint>\n"
    "\tshare <-a | filesystem>\n"
    "\tunshare <-a | filesystem|mountpoint>\n"
    "\n"
    "\tsend [-RDp] [-[iI] snapshot] <snapshot>\n"
    "\treceive [-vnF] <filesystem|volume|snapshot>\n"
    "\treceive [-vnF] -d <filesystem>\n"
    "\n"
    "\tallow <filesystem|volume>\n"
    "\tallow [-ldug] <\"everyone\"|user|group>[,...] <perm|@setname>[,...]\n"
    "\t    <filesystem|volume>\n"
    "\tallow [-ld] -e <perm|@setname>[,...] <filesystem|volume>\n"
    "\tallow -c <perm|@setname>[,...] <filesystem|volume>\n"
    "\tallow -s @setname <perm|@setname>[,...] <filesystem|volume>\n"
    "\n"
    "\tunallow [-rldug] <\"everyone\"|user|group>[,...]\n"
    "\t    [<perm|@setname>[,...]] <filesystem|volume>\n"
    "\tunallow [-rld] -e [<perm|@setname>[,...]] <filesystem|volume>\n"
    "\tunallow [-r] -c [<perm|@setname>[,...]] <filesystem|volume>\n"
    "\tunallow [-r] -s @setname [<perm|@setname>[,...]] <filesystem|volume>\n"
    "\n"
    "\thold [-r] <tag> <snapshot> ...\n"
    "\tholds [-r] <snapshot> ...\n"
    "\trelease [-r] <tag> <snapshot> ...\n"
    "\n"
    "Each dataset is of the form: pool/[dataset/]*dataset[@name]\n"
    "\n"
    "For the property list, run: zfs set|get\n"
    "\n"
    "For the delegated permission list, run: zfs allow|unallow\n";
inline constexpr std::string_view kZfsFuseHoldsPyzfs = "internal error: /usr/lib/zfs/pyzfs.py not found\n";
inline constexpr std::string_view kZfsFuseBadPropertyEncryption =
    "bad property list: invalid property 'encryption'\n"
    "usage:\n"
    "\tget [-rHp] [-d max] [-o \"all\" | field[,...]] [-s source[,...]]\n"
    "\t    <\"all\" | property[,...]> [filesystem|volume|snapshot] ...\n"
    "\n"
    "The following properties are supported:\n"
    "\n"
    "\tPROPERTY       EDIT  INHERIT   VALUES\n"
    "\n"
    "\tavailable        NO       NO   <size>\n"
    "\tcompressratio    NO       NO   <1.00x or higher if compressed>\n"
    "\tcreation         NO       NO   <date>\n"
    "\tdefer_destroy    NO       NO   yes | no\n"
    "\tmounted          NO       NO   yes | no\n"
    "\torigin           NO       NO   <snapshot>\n"
    "\treferenced       NO       NO   <size>\n"
    "\ttype             NO       NO   filesystem | volume | snapshot\n"
    "\tused             NO       NO   <size>\n"
    "\tusedbychildren   NO       NO   <size>\n"
    "\tusedbydataset    NO       NO   <size>\n"
    "\tusedbyrefreservation  NO       NO   <size>\n"
    "\tusedbysnapshots  NO       NO   <size>\n"
    "\tuserrefs         NO       NO   <count>\n"
    "\taclinherit      YES      YES   discard | noallow | restricted | passthrough | passthrough-x\n"
    "\taclmode         YES      YES   discard | groupmask | passthrough\n"
    "\tatime           YES      YES   on | off\n"
    "\tcanmount        YES       NO   on | off | noauto\n"
    "\tcasesensitivity  NO      YES   sensitive | insensitive | mixed\n"
    "\tchecksum        YES      YES   on | off | fletcher2 | fletcher4 | sha256\n"
    "\tcompression     YES      YES   on | off | lzjb | gzip | gzip-[1-9] | zle\n"
    "\tcopies          YES      YES   1 | 2 | 3\n"
    "\tdedup           YES      YES   on | off | verify | sha256[,verify]\n"
    "\tdevices         YES      YES   on | off\n"
    "\texec            YES      YES   on | off\n"
    "\tlogbias         YES      YES   latency | throughput\n"
    "\tmlslabel        YES      YES   <sensitivity label>\n"
    "\tmountpoint      YES      YES   <path> | legacy | none\n"
    "\tnbmand          YES      YES   on | off\n"
    "\tnormalization    NO      YES   none | formC | formD | formKC | formKD\n"
    "\tprimarycache    YES      YES   all | none | metadata\n"
    "\tquota           YES       NO   <size> | none\n"
    "\treadonly        YES      YES   on | off\n"
    "\trecordsize      YES      YES   512 to 128k, power of 2\n"
    "\trefquota        YES       NO   <size> | none\n"
    "\trefreservation  YES       NO   <size> | none\n"
    "\treservation     YES       NO   <size> | none\n"
    "\tsecondarycache  YES      YES   all | none | metadata\n"
    "\tsetuid          YES      YES   on | off\n"
    "\tsharenfs        YES      YES   on | off | share(1M) options\n"
    "\tsharesmb        YES      YES   on | off | sharemgr(1M) options\n"
    "\tsnapdir         YES      YES   hidden | visible\n"
    "\tutf8only         NO      YES   on | off\n"
    "\tversion         YES       NO   1 | 2 | 3 | 4 | current\n"
    "\tvolblocksize     NO      YES   512 to 128k, power of 2\n"
    "\tvolsize         YES       NO   <size>\n"
    "\tvscan           YES      YES   on | off\n"
    "\txattr           YES      YES   on | off\n"
    "\tzoned           YES      YES   on | off\n"
    "\tuserused@...     NO       NO   <size>\n"
    "\tgroupused@...    NO       NO   <size>\n"
    "\tuserquota@...   YES       NO   <size> | none\n"
    "\tgroupquota@...  YES       NO   <size> | none\n"
    "\n"
    "Sizes are specified in bytes with standard units such as K, M, G, etc.\n"
    "\n"
    "User-defined properties can be specified by using a name containing a colon (:).\n"
    "\n"
    "The {user|group}{used|quota}@ properties must be appended with\n"
    "a user or group specifier of one of these forms:\n"
    "    POSIX name      (eg: \"matt\")\n"
    "    POSIX id        (eg: \"126829\")\n"
    "    SMB name@domain (eg: \"matt@sun\")\n"
    "    SMB SID         (eg: \"S-1-234-567-89\")\n";
inline constexpr std::string_view kZfsFuseInvalidOptionN =
    "invalid option 'n'\n"
    "usage:\n"
    "\tsend [-RDp] [-[iI] snapshot] <snapshot>\n"
    "\n"
    "For the property list, run: zfs set|get\n"
    "\n"
    "For the delegated permission list, run: zfs allow|unallow\n";
// zfs-fuse `zfs list -H -o name,zrepl:placeholder -r -t filesystem,volume srcpool` (no -p).
inline constexpr std::string_view kZfsFuseFilesystemListing =
    "zprobe\t-\n"
    "zprobe/a\t-\n"
    "zprobe/a/child\t-\n";
inline constexpr std::string_view kZfsFuseInvalidOptionT =
    "invalid option 't'\n"
    "usage:\n"
    "\tsend [-RDp] [-[iI] snapshot] <snapshot>\n"
    "\n"
    "For the property list, run: zfs set|get\n"
    "\n"
    "For the delegated permission list, run: zfs allow|unallow\n";

inline constexpr std::string_view kZfsFuseDestroyMissingSnapshot =
    "cannot open 'zprobe/a@nosuch': dataset does not exist\n";

inline constexpr std::string_view kZfsFuseHoldTagExists =
    "cannot hold 'zprobe/a@s1': tag already exists on this dataset\n";

inline constexpr std::string_view kZfsFuseReleaseNoSuchTag =
    "cannot release 'nosuch' from 'zprobe/a@s2': no such tag on this dataset\n";

inline constexpr std::string_view kZfsFuseGetMissing =
    "cannot open 'zprobe/nonexist': dataset does not exist\n";

// zfs-fuse client without its daemon (any command), rc=1.
inline constexpr std::string_view kZfsFuseDaemonDown =
    "connect: No such file or directory\n"
    "Please make sure that the zfs-fuse daemon is running.\n"
    "internal error: failed to initialize ZFS library\n";

}  // namespace zferry::test::recorded
