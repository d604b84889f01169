#!/usr/bin/env bash
# make_tls_certs.sh DIR — a throwaway PKI for the TLS tests, made with the openssl CLI (3.0):
#   ca.pem ca.key               the test CA (trusted through tls_ca_file)
#   server.pem server.key       signed by ca, for localhost and 127.0.0.1 (SANs)
#   wrong.pem wrong.key         signed by ca, for wrong.example only (hostname mismatch)
#   expired.pem expired.key     signed by ca, for localhost and 127.0.0.1, valid in 2020 only
#   unknown.pem unknown.key     for localhost and 127.0.0.1, signed by another CA (not trusted)
#   client.pem client.key       client certificate (CN m2m-proxy-client), signed by ca
# openssl 3.0's `x509 -req` cannot backdate, so every leaf is issued with `openssl ca`, whose
# -startdate/-enddate can.
set -euo pipefail
dir=$1
mkdir -p "$dir"
cd "$dir"

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

mkca() {  # name subject
  key "$1.key"
  openssl req -x509 -new -key "$1.key" -subj "/CN=$2" -days 3650 -out "$1.pem" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
  mkdir -p "$1.db"
  : > "$1.db/index.txt"
  echo 1000 > "$1.db/serial"
  cat > "$1.db/ca.cnf" <<CNF
[ca]
default_ca = this
[this]
database = $PWD/$1.db/index.txt
serial = $PWD/$1.db/serial
new_certs_dir = $PWD/$1.db
certificate = $PWD/$1.pem
private_key = $PWD/$1.key
default_md = sha256
policy = any
unique_subject = no
copy_extensions = none
[any]
commonName = supplied
CNF
}

issue() {  # ca name subject extensions [startdate enddate]
  local ca=$1 name=$2 subj=$3 ext=$4
  key "$name.key"
  openssl req -new -key "$name.key" -subj "/CN=$subj" -out "$name.csr"
  printf '%s\n' "$ext" > "$name.ext"
  local dates=(-days 825)
  if [ $# -ge 6 ]; then dates=(-startdate "$5" -enddate "$6"); fi
  openssl ca -batch -notext -config "$ca.db/ca.cnf" -in "$name.csr" -out "$name.pem" \
    -extfile "$name.ext" "${dates[@]}" 2>/dev/null
  rm -f "$name.csr" "$name.ext"
}

server_ext="basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=DNS:localhost,IP:127.0.0.1"

mkca ca "m2m-proxy test CA"
mkca otherca "some other CA"
issue ca server localhost "$server_ext"
issue ca wrong wrong.example "basicConstraints=CA:FALSE
extendedKeyUsage=serverAuth
subjectAltName=DNS:wrong.example"
issue ca expired localhost "$server_ext" 200101000000Z 200201000000Z
issue otherca unknown localhost "$server_ext"
issue ca client m2m-proxy-client "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth"
