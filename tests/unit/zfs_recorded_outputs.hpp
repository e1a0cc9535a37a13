// Outputs of real `zfs` commands, as OpenZFS 2.2 (Linux) and zfs-fuse 0.7.0 (Debian 12,
// pool v23) print them. The zfs-fuse refusals are the exact texts of the platform notes;
// usage texts follow each implementation's zfs_main.c help strings.
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
    "srcpool/a\tguid\t2295108596588587902\n"
    "srcpool/a\tcreatetxg\t5\n"
    "srcpool/a\tcreation\t1795918140\n"
    "srcpool/a\tuserrefs\t-\n"
    "srcpool/a@s2\tguid\t9513458617418219409\n"
    "srcpool/a@s2\tcreatetxg\t31\n"
    "srcpool/a@s2\tcreation\t1795918262\n"
    "srcpool/a@s2\tuserrefs\t1\n"
    "srcpool/a@s1\tguid\t16151441826446423416\n"
    "srcpool/a@s1\tcreatetxg\t12\n"
    "srcpool/a@s1\tcreation\t1795918200\n"
    "srcpool/a@s1\tuserrefs\t0\n"
    "srcpool/a/child\tguid\t4438017460519626245\n"
    "srcpool/a/child\tcreatetxg\t40\n"
    "srcpool/a/child\tcreation\t1795918300\n"
    "srcpool/a/child\tuserrefs\t-\n";

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
    "srcpool/a\tzrepl:placeholder\t-\t-\n"
    "srcpool/a\tcreatetxg\t5\t-\n";

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
inline constexpr std::string_view kZfsFuseDestroyHeld = "cannot destroy 'srcpool/a@s1': dataset is busy\n";
inline constexpr std::string_view kDestroyNoSnapshots =
    "could not find any snapshots to destroy; check snapshot names.\n";
inline constexpr std::string_view kZfsFuseDestroyCommaList =
    "cannot open 'dstpool/a2@s2,s4': invalid dataset name\n";
inline constexpr std::string_view kZfsFuseOpenMissing =
    "cannot open 'srcpool/nonexist': dataset does not exist\n";
inline constexpr std::string_view kOpenzfsOpenNoPool = "cannot open 'nopool/x': no such pool or dataset\n";
inline constexpr std::string_view kBookmarkExists =
    "cannot create bookmark 'pool/data#b1': bookmark exists\n";
inline constexpr std::string_view kRecvAbortNothing =
    "cannot abort 'pool/recv/data': 'pool/recv/data' does not have any resumable receive state to abort\n";
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
    "\treceive [-vnF] [-d | -e] <filesystem>\n"
    "\n"
    "For the property list, run: zfs set|get\n";
inline constexpr std::string_view kZfsFuseDestroyUsage =
    "missing dataset argument\n"
    "usage:\n"
    "\tdestroy [-rRf] <filesystem|volume>\n"
    "\tdestroy [-rRd] <snapshot>\n";
inline constexpr std::string_view kZfsFuseListInvalidP =
    "invalid option 'p'\n"
    "usage:\n"
    "\tlist [-rH][-d max] [-o property[,...]] [-t type[,...]] [-s property] ...\n"
    "\t    [-S property] ... [filesystem|volume|snapshot] ...\n"
    "\n"
    "The following properties are supported:\n"
    "\n"
    "\tPROPERTY       EDITABLE  INHERIT   VALUES\n"
    "\n"
    "\tavailable            NO       NO   <size>\n"
    "\tcompressratio        NO       NO   <1.00x or higher if compressed>\n";
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
    "\n"
    "\tlist [-rH][-d max] [-o property[,...]] [-t type[,...]] [-s property] ...\n"
    "\t    [-S property] ... [filesystem|volume|snapshot] ...\n"
    "\n"
    "\tset <property=value> <filesystem|volume|snapshot> ...\n"
    "\tget [-rHp] [-d max] [-o \"all\" | field[,...]] [-s source[,...]]\n"
    "\t    <\"all\" | property[,...]> [filesystem|volume|snapshot] ...\n"
    "\tinherit [-r] <property> <filesystem|volume|snapshot> ...\n"
    "\tupgrade [-v]\n"
    "\tupgrade [-r] [-V version] <-a | filesystem ...>\n"
    "\n"
    "\tmount\n"
    "\tmount [-vO] [-o opts] <-a | filesystem>\n"
    "\tunmount [-f] <-a | filesystem|mountpoint>\n"
    "\tshare <-a | filesystem>\n"
    "\tunshare <-a | filesystem|mountpoint>\n"
    "\n"
    "\tsend [-RDp] [-[iI] snapshot] <snapshot>\n"
    "\treceive [-vnF] <filesystem|volume|snapshot>\n"
    "\treceive [-vnF] [-d | -e] <filesystem>\n"
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
    "bad property list: invalid property 'encryption'\n";
inline constexpr std::string_view kZfsFuseInvalidOptionN = "invalid option 'n'\n";
// zfs-fuse `zfs list -H -o name,zrepl:placeholder -r -t filesystem,volume srcpool` (no -p).
inline constexpr std::string_view kZfsFuseFilesystemListing =
    "srcpool\t-\n"
    "srcpool/a\t-\n"
    "srcpool/placeholder\ton\n";
inline constexpr std::string_view kZfsFuseInvalidOptionT = "invalid option 't'\n";

}  // namespace zferry::test::recorded
