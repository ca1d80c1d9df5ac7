#!/usr/bin/env bash
# Generate throw-away TLS material for local testing: a CA, a server certificate for
# localhost (SAN DNS:localhost, IP:127.0.0.1, IP:::1) and a client certificate
# (CN=petrel-client, O=Petrel test), all EC P-256 keys, into an output directory (default
# tls/out/, which git ignores); also a second client certificate (CN=petrel-revoked) and
# a CRL from the CA that revokes it (ca.crl), for crlfile. Never use these in production; never commit the keys.
#
#   tls/gen-certs.sh [-o DIR] [-d DAYS] [-f]
#     -o DIR   output directory (default: tls/out next to this script)
#     -d DAYS  validity of every certificate (default 365)
#     -f       regenerate even if valid certificates are already there
#
# Idempotent: if DIR already holds a CA and server and client certificates that verify
# against it and stay valid for at least another day, nothing is changed.
set -euo pipefail

script_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out_dir="$script_dir/out"
days=365
force=false

usage() {
    echo "usage: $0 [-o DIR] [-d DAYS] [-f]" >&2
    exit 2
}

while getopts "o:d:f" opt; do
    case "$opt" in
        o) out_dir=$OPTARG ;;
        d) days=$OPTARG ;;
        f) force=true ;;
        *) usage ;;
    esac
done
shift $((OPTIND - 1))
[[ $# -eq 0 ]] || usage
[[ "$days" =~ ^[1-9][0-9]*$ ]] || { echo "gen-certs: -d wants a positive number of days" >&2; exit 2; }

readonly files=(ca.key ca.crt server.key server.crt client.key client.crt revoked.key revoked.crt
                ca.crl)

# True if everything is there, chains to the CA and is valid for another day.
up_to_date() {
    local dir=$1 file
    for file in "${files[@]}"; do
        [[ -s "$dir/$file" ]] || return 1
    done
    for file in ca.crt server.crt client.crt; do
        openssl x509 -in "$dir/$file" -noout -checkend 86400 >/dev/null 2>&1 || return 1
    done
    openssl verify -CAfile "$dir/ca.crt" "$dir/server.crt" "$dir/client.crt" >/dev/null 2>&1 &&
        openssl crl -in "$dir/ca.crl" -CAfile "$dir/ca.crt" -noout >/dev/null 2>&1
}

if ! $force && up_to_date "$out_dir"; then
    echo "gen-certs: $out_dir already holds valid certificates (use -f to regenerate)"
    exit 0
fi

command -v openssl >/dev/null || { echo "gen-certs: openssl not found (apt-get install openssl)" >&2; exit 1; }

mkdir -p "$out_dir"
# Build everything in a scratch directory next to the output, then move it in, so an
# interrupted run never leaves a half-made set behind.
work=$(mktemp -d "$out_dir/.gen-certs.XXXXXX")
trap 'rm -rf "$work"' EXIT
umask 077  # private keys readable by the owner only

new_key() {  # file
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null
}

# sign NAME SUBJECT SIGNER_CERT SIGNER_KEY EXTENSIONS...; an empty SIGNER_CERT
# means self-signed.
sign() {
    local name=$1 subject=$2 signer_cert=$3 signer_key=$4
    shift 4
    printf '%s\n' "$@" >"$work/$name.ext"
    openssl req -new -key "$work/$name.key" -subj "$subject" -out "$work/$name.csr"
    local signer=(-signkey "$signer_key")
    if [[ -n "$signer_cert" ]]; then
        signer=(-CA "$signer_cert" -CAkey "$signer_key")
    fi
    openssl x509 -req -in "$work/$name.csr" "${signer[@]}" -days "$days" \
        -set_serial "0x$(openssl rand -hex 16)" -extfile "$work/$name.ext" \
        -out "$work/$name.crt" 2>/dev/null
    rm -f "$work/$name.csr" "$work/$name.ext"
}

new_key "$work/ca.key"
sign ca "/CN=Petrel throw-away test CA" "" "$work/ca.key" \
    "basicConstraints = critical, CA:TRUE" \
    "keyUsage = critical, keyCertSign, cRLSign" \
    "subjectKeyIdentifier = hash"

new_key "$work/server.key"
sign server "/CN=localhost" "$work/ca.crt" "$work/ca.key" \
    "basicConstraints = critical, CA:FALSE" \
    "keyUsage = critical, digitalSignature" \
    "extendedKeyUsage = serverAuth" \
    "subjectAltName = DNS:localhost, IP:127.0.0.1, IP:::1" \
    "subjectKeyIdentifier = hash" \
    "authorityKeyIdentifier = keyid"

client_extensions=(
    "basicConstraints = critical, CA:FALSE"
    "keyUsage = critical, digitalSignature"
    "extendedKeyUsage = clientAuth"
    "subjectKeyIdentifier = hash"
    "authorityKeyIdentifier = keyid"
)
new_key "$work/client.key"
sign client "/O=Petrel test/CN=petrel-client" "$work/ca.crt" "$work/ca.key" "${client_extensions[@]}"
new_key "$work/revoked.key"
sign revoked "/CN=petrel-revoked" "$work/ca.crt" "$work/ca.key" "${client_extensions[@]}"

# The CRL: `openssl ca` keeps its revocations in an index file, made here and dropped.
printf '%s\n' "[ca]" "default_ca = test_ca" "[test_ca]" "database = $work/index.txt" \
    "crlnumber = $work/crlnumber" "default_md = sha256" "default_crl_days = $days" \
    >"$work/ca.cnf"
: >"$work/index.txt"
echo 1000 >"$work/crlnumber"
openssl ca -config "$work/ca.cnf" -keyfile "$work/ca.key" -cert "$work/ca.crt" \
    -revoke "$work/revoked.crt" 2>/dev/null
openssl ca -config "$work/ca.cnf" -keyfile "$work/ca.key" -cert "$work/ca.crt" \
    -gencrl -out "$work/ca.crl" 2>/dev/null
rm -f "$work"/ca.cnf "$work"/index.txt* "$work"/crlnumber*

chmod 644 "$work"/*.crt "$work/ca.crl"
(cd "$work" && openssl verify -CAfile ca.crt server.crt client.crt)

for file in "${files[@]}"; do
    mv -f "$work/$file" "$out_dir/$file"
done
echo "gen-certs: wrote ${files[*]} to $out_dir (valid $days days)"
