#!/usr/bin/env bash
# Makes throwaway certificates for the TLS tests, with openssl:
#
#   scripts/lib/test-certs.sh DIR [SUBJECT_ALT_NAMES]
#
# DIR/ca.pem (a CA, also DIR/ca.key), DIR/server.pem + server.key signed by it for
# SUBJECT_ALT_NAMES (default DNS:localhost,IP:127.0.0.1), and DIR/client.pem + client.key, a
# client certificate (CN tickmesh) for servers that ask for one. Keys are P-256 and 0600;
# everything is valid for two days.
set -euo pipefail

dir=$1
san=${2:-DNS:localhost,IP:127.0.0.1}
mkdir -p "$dir"
cd "$dir"

cat >ca.cnf <<'CNF'
[req]
distinguished_name = dn
prompt = no
x509_extensions = v3_ca
[dn]
CN = tickmesh test ca
[v3_ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
CNF
openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout ca.key -out ca.pem -days 2 -config ca.cnf 2>/dev/null

# issue NAME COMMON_NAME EXTENSIONS
issue() {
    printf '[req]\ndistinguished_name = dn\nprompt = no\n[dn]\nCN = %s\n' "$2" >"$1.cnf"
    printf '%s\n' "$3" >"$1.ext"
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
        -keyout "$1.key" -out "$1.csr" -config "$1.cnf" 2>/dev/null
    openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial \
        -out "$1.pem" -days 2 -extfile "$1.ext" 2>/dev/null
}
issue server localhost "basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = $san
authorityKeyIdentifier = keyid"
issue client tickmesh "basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = clientAuth
authorityKeyIdentifier = keyid"
rm -f ./*.csr ./*.cnf ./*.ext ca.srl
chmod 600 ./*.key
