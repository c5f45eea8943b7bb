#!/usr/bin/env bash
# The key ceremony with a hardware token (docs/operations.md, "Key ceremony
# with a token"): root and targets keys are created on the token and never
# leave it; snapshot and timestamp keys are encrypted files for the online
# signer; the CI key is reached through a signer plugin. SoftHSM2 stands in
# for the token here; with a real token, set MODULE to its PKCS#11 module and
# skip step 1. Needs cnabsec and cnabsec-signer-pkcs11 on PATH (make build),
# skopeo, and a registry at $REGISTRY (default localhost:5000); the CI key is
# CI_KEY (plugin:NAME?...; the test plugin in the tests); the application is
# $APP (default $REGISTRY/org/app).
set -euo pipefail
umask 077
EXAMPLES=$(cd "$(dirname "$0")" && pwd)
WORK=${WORK:-$(mktemp -d)}
cd "$WORK"
MODULE=${MODULE:-/usr/lib/softhsm/libsofthsm2.so}
REGISTRY=${REGISTRY:-localhost:5000}
APP=${APP:-$REGISTRY/org/app}

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

# 7. A signed release. The layout owner's key is an encrypted file; the layout is published under
#    the targets key on the token. CI pushes the image (here: copied from examples/images with
#    skopeo; a local registry speaks plain HTTP), records the manifest it pushed in a link signed
#    through the plugin, and signs the image into the releases role.
cnabsec --passphrase-env CNABSEC_PASS key generate keys/owner
cp "$EXAMPLES/image-layout.yaml" .
cnabsec layout create image-layout.yaml --key keys/owner.key --out image.layout --passphrase-env CNABSEC_PASS
cnabsec layout publish image.layout --repo repo --name "$APP" --layout-key keys/owner.pub \
    --key "$(token targets-2)" "${ONLINE[@]}"
cnabsec link run build-image --key "$CI_KEY" -p manifest.json -d links -- \
    sh -c "skopeo copy -q --preserve-digests --dest-tls-verify=false oci:$EXAMPLES/images:web docker://$APP:1.0 &&
        skopeo inspect --raw --tls-verify=false docker://$APP:1.0 > manifest.json"
cnabsec sign image "$APP:1.0" --links links --repo repo --key "$CI_KEY" "${ONLINE[@]}"

# 8. Publish the repository to the registry and verify the release at level 4 (TUF signatures
#    and in-toto provenance) from a root pinned out of band; status shows where each key lives.
cnabsec repo push repo "oci://$REGISTRY/org/tuf"
cp repo/metadata/1.root.json root.json
cnabsec verify "$APP:1.0" --image --trust-root root.json --metadata "oci://$REGISTRY/org/tuf" --level 4
cnabsec repo status repo --key "$(token root)" --key "$(token targets-2)" --key "$CI_KEY" \
    --key keys/snapshot.pub --key keys/timestamp.pub
