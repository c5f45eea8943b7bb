#!/usr/bin/env bash
# The key ceremony with a hardware token (docs/operations.md, "Key ceremony
# with a token"): root and targets keys are created on the token and never
# leave it; snapshot and timestamp keys are encrypted files for the online
# signer; the CI key is reached through a signer plugin. SoftHSM2 stands in
# for the token here; with a real token, set MODULE to its PKCS#11 module and
# skip step 1. Needs cnabsec and cnabsec-signer-pkcs11 on PATH (make build);
# the CI key's plugin is CI_PLUGIN (the test plugin in the tests).
set -euo pipefail
umask 077
WORK=${WORK:-$(mktemp -d)}
cd "$WORK"
MODULE=${MODULE:-/usr/lib/softhsm/libsofthsm2.so}

# 1. A token, its PIN in a file only the ceremony user reads (softhsm2-util
#    takes PINs as arguments: acceptable for a test token only).
export SOFTHSM2_CONF=$WORK/softhsm2.conf
mkdir -p tokens
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' "$WORK" >"$SOFTHSM2_CONF"
head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n' >pin
softhsm2-util --init-token --free --label cnabsec --so-pin "$(cat pin)" --pin "$(cat pin)" >/dev/null
token() { echo "pkcs11:token=cnabsec;object=$1?module-path=$MODULE&pin-source=file:$WORK/pin"; }

# 2. Root and targets keys created on the token; their public keys to files.
mkdir -p keys
cnabsec key generate --pkcs11 "$(token root)" --type ecdsa-p256 keys/root
cnabsec key generate --pkcs11 "$(token targets)" --type rsa-3072 keys/targets
cnabsec key id -o json "$(token root)"

# 3. Online keys: encrypted files (the passphrase comes from a variable).
export CNABSEC_PASS=${CNABSEC_PASS:-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')}
cnabsec --passphrase-env CNABSEC_PASS key generate keys/snapshot
cnabsec --passphrase-env CNABSEC_PASS key generate keys/timestamp
ONLINE=(--passphrase-env CNABSEC_PASS --snapshot-key keys/snapshot.key --timestamp-key keys/timestamp.key)

# 4. The CI key lives behind a signer plugin (CI_KEY=plugin:NAME?...); its
#    public key, with the same key ID, goes to a file.
cnabsec key export "$CI_KEY" --out keys/ci.pub
cnabsec key id "$CI_KEY" >ci.id
cnabsec key id keys/ci.pub | cmp - ci.id

# 5. The repository: root and targets sign on the token.
cnabsec repo init repo --root-key "$(token root)" --targets-key "$(token targets)" \
    --snapshot-key keys/snapshot.key --timestamp-key keys/timestamp.key --releases-key keys/ci.pub \
    --passphrase-env CNABSEC_PASS
cnabsec repo delegate repo --name "$APP" --key "$(token targets)" "${ONLINE[@]}"
cnabsec repo sign repo --role releases --key "$CI_KEY" "${ONLINE[@]}"

# 6. Rotate the targets key from the token to a file, then back to a new token key.
cnabsec --passphrase-env CNABSEC_PASS key generate keys/targets-file
cnabsec repo rotate repo --role targets --add-key keys/targets-file.pub --remove-key keys/targets.pub \
    --key "$(token root)" "${ONLINE[@]}"
cnabsec repo delegate repo --name "$APP-extra" --key keys/targets-file.key "${ONLINE[@]}"
cnabsec key generate --pkcs11 "$(token targets-2)" --type ecdsa-p256 keys/targets-2
cnabsec repo rotate repo --role targets --add-key keys/targets-2.pub --remove-key keys/targets-file.pub \
    --key "$(token root)" "${ONLINE[@]}"
cnabsec repo delegate repo --name "$APP-more" --key "$(token targets-2)" "${ONLINE[@]}"
cnabsec repo status repo
