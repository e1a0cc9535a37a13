#!/usr/bin/env bash
# gen_pdu_requests_corpus.sh: writes the seed corpus of the pdu_requests fuzz target
# (fuzz/corpus/pdu_requests/): each file is one byte selecting the message type (as
# pdu_requests_fuzz.cpp reads it) followed by a message serialized with `protoc --encode`
# from the text below. Run once; its output is committed.
set -euo pipefail
cd "$(dirname "$0")/.."
out=fuzz/corpus/pdu_requests
mkdir -p "$out"
seed() {  # seed NAME KIND MESSAGE TEXT
  { printf "\\x$(printf %02x "$2")"; protoc --proto_path=replication/pdu --encode="$3" pdu.proto <<<"$4"; } >"$out/$1"
}
snap='Type: Snapshot Name: "zrepl_20261130_120000_000" Guid: 858070502536706329 CreateTXG: 4711 Creation: "2026-11-30T12:00:00Z"'
snap2='Type: Snapshot Name: "zrepl_20261130_121000_000" Guid: 11409914756588207716 CreateTXG: 4790 Creation: "2026-11-30T12:10:00.123456789+01:00"'
book='Type: Bookmark Name: "zrepl_CURSOR_G_0be8ae9c3f2c8a19_J_push1" Guid: 858070502536706329 CreateTXG: 4711 Creation: "2026-11-30T12:00:00Z"'
prot='ReplicationConfig { protection { Initial: GuaranteeResumability Incremental: GuaranteeIncrementalReplication } }'
seed list_versions 0 ListFilesystemVersionsReq 'Filesystem: "pool/app/db"'
seed list_versions_empty 0 ListFilesystemVersionsReq ''
seed send_full 1 SendReq "Filesystem: \"pool/app\" To { $snap } $prot"
seed send_incremental 1 SendReq "Filesystem: \"pool/app\" From { $book } To { $snap2 } $prot"
seed send_resume 1 SendReq "Filesystem: \"pool/app\" From { $snap } To { $snap2 } ResumeToken: \"1-e604ea4bf-e0-789c63a2\" $prot"
seed send_no_protection 1 SendReq "Filesystem: \"pool/app\" To { $snap }"
seed send_to_bookmark 1 SendReq "Filesystem: \"pool/app\" To { $book } $prot"
seed send_bad_creation 1 SendReq "Filesystem: \"pool/app\" To { Type: Snapshot Name: \"s\" Creation: \"2026-13-45T99:00:00Z\" } $prot"
seed send_name_with_at 1 SendReq "Filesystem: \"pool/app\" To { Type: Snapshot Name: \"a@b\" Creation: \"2026-11-30T12:00:00Z\" } $prot"
seed receive 2 ReceiveReq "Filesystem: \"pool/app\" To { $snap } ClearResumeToken: true $prot"
seed receive_no_fs 2 ReceiveReq "To { $snap } $prot"
seed destroy 3 DestroySnapshotsReq "Filesystem: \"pool/app\" Snapshots { $snap } Snapshots { $snap2 }"
seed destroy_bookmark 3 DestroySnapshotsReq "Filesystem: \"pool/app\" Snapshots { $book }"
seed cursor 4 ReplicationCursorReq 'Filesystem: "pool/app"'
seed send_completed 5 SendCompletedReq "OriginalReq { Filesystem: \"pool/app\" From { $snap } To { $snap2 } $prot }"
seed send_completed_empty 5 SendCompletedReq ''
seed ping 6 PingReq 'Message: "hello from zferry"'
seed list_filesystems 7 ListFilesystemReq ''
seed cursor_res_guid 8 ReplicationCursorRes 'Guid: 858070502536706329'
seed cursor_res_notexist 8 ReplicationCursorRes 'Notexist: true'
seed cursor_res_neither 8 ReplicationCursorRes ''
seed destroy_res 9 DestroySnapshotsRes "Results { Snapshot { $snap } } Results { Snapshot { $snap2 } Error: \"dataset is busy\" }"
seed destroy_res_no_snapshot 9 DestroySnapshotsRes 'Results { Error: "gone" }'
