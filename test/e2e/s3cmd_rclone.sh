#!/usr/bin/env bash
# End-to-end: a real `garage server` process, driven by the real s3cmd and rclone over TCP.
# Each client creates a bucket, round-trips a small, an inline (< 3 KiB) and a multipart
# (> 20 MiB) object, lists with a prefix and a delimiter, copies, deletes and syncs a small
# directory tree both ways; contents are compared by SHA-256.
# shellcheck disable=SC2016 # single-quoted bash -c bodies expand the exported variables in the child
set -euo pipefail
# shellcheck source=test/e2e/lib/e2e.sh
source "$(dirname "$0")/lib/e2e.sh"
e2e_start_node

e2e_create_key e2e-clients --create-bucket

# Plain configurations: endpoint, credentials, region and path-style addressing only.
cat >"$dir/s3cfg" <<EOF
[default]
access_key = $key_id
secret_key = $secret
host_base = 127.0.0.1:$s3_port
host_bucket = 127.0.0.1:$s3_port
bucket_location = garage
use_https = False
signature_v2 = False
EOF
cat >"$dir/rclone.conf" <<EOF
[g]
type = s3
provider = Other
access_key_id = $key_id
secret_access_key = $secret
endpoint = http://127.0.0.1:$s3_port
region = garage
force_path_style = true
EOF
unset AWS_CA_BUNDLE
e2e_export_aws
export S3CMD="s3cmd -c $dir/s3cfg --no-progress"
export RCLONE="rclone --config $dir/rclone.conf"
export AWS="/usr/bin/aws --endpoint-url http://127.0.0.1:$s3_port"
export D=$dir

head -c 2000 /dev/urandom >"$dir/inline.bin"
head -c $((200 * 1024 + 7)) /dev/urandom >"$dir/small.bin"
head -c $((20 * 1024 * 1024 + 12345)) /dev/urandom >"$dir/large.bin"

# A small tree to sync: nested directories, an empty file, a name with a space.
tree=$dir/tree
mkdir -p "$tree/a/b" "$tree/c"
echo one >"$tree/one.txt"
head -c 5000 /dev/urandom >"$tree/a/five-k.bin"
head -c 300000 /dev/urandom >"$tree/a/b/deep.bin"
: >"$tree/c/empty"
echo spaced >"$tree/c/with space.txt"

# tree_hashes DIR: "sha256  relative/path" for every file of DIR, sorted by path.
tree_hashes() { (cd "$1" && find . -type f -print0 | sort -z | xargs -0 sha256sum); }
same_file() { [[ $(sha256sum <"$1") == $(sha256sum <"$2") ]]; }
# etag_parts BUCKET KEY: the part count of a multipart ETag ("<md5>-N"), checked with awscli.
etag_parts() {
    $AWS s3api head-object --bucket "$1" --key "$2" --query ETag --output text | sed -n 's/.*-\([0-9]*\)"*$/\1/p'
}
export -f tree_hashes same_file etag_parts

# ---------------------------------------------------------------------------------------- s3cmd
check "s3cmd creates a bucket" bash -c '$S3CMD mb s3://by-s3cmd && $S3CMD ls | grep -q "s3://by-s3cmd$"'
for f in inline small; do
    check "s3cmd puts and gets the $f object" bash -c "\$S3CMD put '$dir/$f.bin' s3://by-s3cmd/dir/$f.bin &&
        \$S3CMD get --force s3://by-s3cmd/dir/$f.bin '$dir/$f.s3cmd' && same_file '$dir/$f.bin' '$dir/$f.s3cmd'"
done
check "s3cmd puts and gets a multipart object (5 MiB parts)" bash -c "
    \$S3CMD put --multipart-chunk-size-mb=5 '$dir/large.bin' s3://by-s3cmd/dir/sub/large.bin &&
    [[ \$(etag_parts by-s3cmd dir/sub/large.bin) == 5 ]] &&
    \$S3CMD get --force s3://by-s3cmd/dir/sub/large.bin '$dir/large.s3cmd' && same_file '$dir/large.bin' '$dir/large.s3cmd'"
check "s3cmd lists with a prefix and a delimiter" bash -c '
    out=$($S3CMD ls s3://by-s3cmd/dir/) && echo "$out" &&
    [[ $(grep -c "s3://by-s3cmd/dir/" <<<"$out") == 3 ]] &&
    grep -Eq "^ *DIR +s3://by-s3cmd/dir/sub/$" <<<"$out" &&
    grep -Eq " 2000 +s3://by-s3cmd/dir/inline.bin$" <<<"$out" &&
    grep -q "s3://by-s3cmd/dir/small.bin$" <<<"$out" &&
    [[ $($S3CMD ls --recursive s3://by-s3cmd/ | wc -l) == 3 ]]'
check "s3cmd copies an object" bash -c "\$S3CMD cp s3://by-s3cmd/dir/small.bin s3://by-s3cmd/copy.bin &&
    \$S3CMD get --force s3://by-s3cmd/copy.bin '$dir/copy.s3cmd' && same_file '$dir/small.bin' '$dir/copy.s3cmd'"
check "s3cmd deletes an object" bash -c '$S3CMD del s3://by-s3cmd/copy.bin &&
    ! $S3CMD ls s3://by-s3cmd/ | grep -q copy.bin && ! $S3CMD get --force s3://by-s3cmd/copy.bin "$D/gone"'
check "s3cmd syncs a directory tree up and back" bash -c "
    \$S3CMD sync '$tree/' s3://by-s3cmd/tree/ && rm -rf '$dir/back-s3cmd' && mkdir '$dir/back-s3cmd' &&
    \$S3CMD sync s3://by-s3cmd/tree/ '$dir/back-s3cmd/' &&
    diff <(tree_hashes '$tree') <(tree_hashes '$dir/back-s3cmd')"
check "s3cmd sync removes what was deleted locally" bash -c "
    cp -r '$tree' '$dir/tree2' && rm '$dir/tree2/a/five-k.bin' && echo changed >'$dir/tree2/one.txt' &&
    \$S3CMD sync --delete-removed '$dir/tree2/' s3://by-s3cmd/tree/ &&
    rm -rf '$dir/back2' && mkdir '$dir/back2' && \$S3CMD sync s3://by-s3cmd/tree/ '$dir/back2/' &&
    diff <(tree_hashes '$dir/tree2') <(tree_hashes '$dir/back2')"
check "s3cmd removes objects recursively and the bucket" bash -c '
    $S3CMD del --recursive --force s3://by-s3cmd/ && [[ -z $($S3CMD ls --recursive s3://by-s3cmd/) ]] &&
    $S3CMD rb s3://by-s3cmd && ! $S3CMD ls | grep -q by-s3cmd'

# --------------------------------------------------------------------------------------- rclone
check "rclone creates a bucket" bash -c '$RCLONE mkdir g:by-rclone && $RCLONE lsd g: | grep -q " by-rclone$"'
for f in inline small; do
    check "rclone puts and gets the $f object" bash -c "\$RCLONE copyto '$dir/$f.bin' g:by-rclone/dir/$f.bin &&
        \$RCLONE copyto g:by-rclone/dir/$f.bin '$dir/$f.rclone' && same_file '$dir/$f.bin' '$dir/$f.rclone'"
done
check "rclone puts and gets a multipart object (5 MiB chunks)" bash -c "
    \$RCLONE copyto --s3-upload-cutoff 5M --s3-chunk-size 5M '$dir/large.bin' g:by-rclone/dir/sub/large.bin &&
    [[ \$(etag_parts by-rclone dir/sub/large.bin) == 5 ]] &&
    \$RCLONE copyto g:by-rclone/dir/sub/large.bin '$dir/large.rclone' && same_file '$dir/large.bin' '$dir/large.rclone'"
check "rclone lists with a prefix and a delimiter (lsf, lsd)" bash -c '
    out=$($RCLONE lsf g:by-rclone/dir/) && echo "$out" &&
    [[ $(sort <<<"$out" | tr "\n" " ") == "inline.bin small.bin sub/ " ]] &&
    [[ $($RCLONE lsd g:by-rclone/dir | awk "{print \$NF}") == sub ]] &&
    [[ $($RCLONE lsf -R --files-only g:by-rclone | sort | tr "\n" " ") == "dir/inline.bin dir/small.bin dir/sub/large.bin " ]]'
check "rclone copies an object server-side" bash -c "
    \$RCLONE copyto -v g:by-rclone/dir/small.bin g:by-rclone/copy.bin 2>&1 | tee '$dir/rc.log' &&
    grep -q 'server-side copy' '$dir/rc.log' &&
    \$RCLONE copyto g:by-rclone/copy.bin '$dir/copy.rclone' && same_file '$dir/small.bin' '$dir/copy.rclone'"
check "rclone copies a large object server-side in parts (UploadPartCopy)" bash -c "
    \$RCLONE copyto --s3-copy-cutoff 5M g:by-rclone/dir/sub/large.bin g:by-rclone/copy-large.bin &&
    [[ \$(etag_parts by-rclone copy-large.bin) -ge 2 ]] &&
    \$RCLONE copyto g:by-rclone/copy-large.bin '$dir/copy-large.rclone' && same_file '$dir/large.bin' '$dir/copy-large.rclone'"
check "rclone deletes objects" bash -c '$RCLONE deletefile g:by-rclone/copy.bin && $RCLONE deletefile g:by-rclone/copy-large.bin &&
    ! $RCLONE lsf g:by-rclone | grep -q copy &&
    ! $AWS s3api head-object --bucket by-rclone --key copy.bin'
check "rclone syncs a directory tree up and back" bash -c "
    \$RCLONE sync '$tree' g:by-rclone/tree && rm -rf '$dir/back-rclone' &&
    \$RCLONE sync g:by-rclone/tree '$dir/back-rclone' &&
    diff <(tree_hashes '$tree') <(tree_hashes '$dir/back-rclone') && \$RCLONE check '$tree' g:by-rclone/tree"
check "rclone sync removes what was deleted locally" bash -c "
    rm -rf '$dir/tree3' && cp -r '$tree' '$dir/tree3' && rm -r '$dir/tree3/a/b' && echo changed >'$dir/tree3/one.txt' &&
    \$RCLONE sync '$dir/tree3' g:by-rclone/tree && rm -rf '$dir/back3' &&
    \$RCLONE sync g:by-rclone/tree '$dir/back3' &&
    diff <(tree_hashes '$dir/tree3') <(tree_hashes '$dir/back3')"
check "rclone purges the bucket" bash -c '$RCLONE purge g:by-rclone && ! $RCLONE lsd g: | grep -q by-rclone'

e2e_summary
