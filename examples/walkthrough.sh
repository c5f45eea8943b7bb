#!/usr/bin/env bash
# The README's five-minute walkthrough, end to end: the lines between the
# README markers below are the README's walkthrough block, byte for byte
# (TestREADMEWalkthroughIsTheScript). Run it from anywhere in the checkout
# with a registry at $REGISTRY (default localhost:5000) and skopeo installed;
# the files it needs are in examples/ (bundle.json, the layouts, and two tiny
# images as an OCI layout in images/). Its files go to $WORK (default: a new
# temporary directory, kept). make interop runs it against Debian's
# docker-registry (TestInteropWalkthrough).
set -euo pipefail
cd "$(dirname "$0")/.."
# >>> README walkthrough
# 0. Build cnabsec and put it on PATH; work in a new directory with the example's files
go build -o bin/cnabsec ./cmd/cnabsec
export PATH="$PWD/bin:$PATH"
REGISTRY=${REGISTRY:-localhost:5000}   # your registry; loopback needs no --insecure-registry
TUF=${TUF:-127.0.0.1:8080}             # where step 5 serves the TUF repository
WORK=${WORK:-$(mktemp -d)}
cp -R examples/layout.yaml examples/image-layout.yaml examples/images "$WORK"
sed "s|localhost:5000|$REGISTRY|g" examples/bundle.json > "$WORK/bundle.src.json"   # the bundle's source
cd "$WORK"

# 1. Keys (ed25519 by default; --type ecdsa-p256|rsa-3072). Each key file is encrypted: the passphrase
#    is asked twice on a terminal, read from --passphrase-env VAR off one; --unencrypted writes it in the
#    clear (with a warning each time it signs). Tokens and KMS keys: docs/signer-plugins.md
#    Here the passphrase is $CNABSEC_PASS: a random one unless you set it
export CNABSEC_PASS=${CNABSEC_PASS:-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')}
for k in root targets snapshot timestamp ci owner dev; do
    cnabsec key generate keys/$k --passphrase-env CNABSEC_PASS
done
cnabsec key id keys/ci.pub                    # the one key ID used by TUF and in-toto
ONLINE=(--passphrase-env CNABSEC_PASS --snapshot-key keys/snapshot.key --timestamp-key keys/timestamp.key)

# 2. The TUF repository (root and targets keys belong offline; see docs/operations.md). Every name
#    the bundle references is delegated to the releases role: the bundle and both of its images
cnabsec repo init repo --root-key keys/root.key --targets-key keys/targets.key \
    --releases-key keys/ci.pub "${ONLINE[@]}"
cnabsec repo delegate repo --name "$REGISTRY/org/app" --name "$REGISTRY/org/app-installer" \
    --name "$REGISTRY/org/web" --key keys/targets.key "${ONLINE[@]}"
cnabsec repo status repo                      # releases waits for the CI key's signature (staged)
cnabsec repo sign repo --role releases --key keys/ci.key "${ONLINE[@]}"   # now published

# 3. Provenance: layouts signed by their owner, published under the offline targets key. layout.yaml
#    is docs/in-toto.md's: the developer's step produces bundle.json and CI's package step must MATCH
#    it, so the CI keys alone cannot vouch for content no developer wrote (layout create warns if they
#    can). image-layout.yaml has CI build each image and record its manifest (one party: warned about)
cnabsec layout create layout.yaml --key keys/owner.key --ci-key-id "$(cnabsec key id keys/ci.pub)" \
    --out root.layout --passphrase-env CNABSEC_PASS
cnabsec layout create image-layout.yaml --key keys/owner.key --out image.layout --passphrase-env CNABSEC_PASS
cnabsec layout publish root.layout --repo repo --name "$REGISTRY/org/app" \
    --layout-key keys/owner.pub --key keys/targets.key "${ONLINE[@]}"
for img in app-installer web; do
    cnabsec layout publish image.layout --repo repo --name "$REGISTRY/org/$img" \
        --layout-key keys/owner.pub --key keys/targets.key "${ONLINE[@]}"
done
cnabsec link run write-bundle --key keys/dev.key -m bundle.src.json -p bundle.json -d links \
    --passphrase-env CNABSEC_PASS -- \
    cnabsec bundle canonicalize bundle.src.json --out bundle.json   # on the developer's machine
cnabsec link run package --key keys/ci.key -m bundle.json -p bundle.json -d links \
    --passphrase-env CNABSEC_PASS -- \
    cnabsec bundle canonicalize bundle.json --out bundle.json       # in CI: the same bytes

# 4. CI builds each image (here: copies it from images/, an OCI layout, with skopeo; a local registry
#    speaks plain HTTP), records the manifest it pushed, then signs the images and the bundle
#    (bundle.json must be canonical: cnabsec bundle canonicalize)
for img in app-installer web; do
    ref=$REGISTRY/org/$img:1.0
    cnabsec link run build-image --key keys/ci.key -p manifest.json -d "links-$img" --passphrase-env CNABSEC_PASS -- \
        sh -c "skopeo copy -q --preserve-digests --dest-tls-verify=false oci:images:$img docker://$ref &&
            skopeo inspect --raw --tls-verify=false docker://$ref > manifest.json"
    cnabsec sign image "$ref" --links "links-$img" --repo repo --key keys/ci.key "${ONLINE[@]}"
done
cnabsec sign bundle bundle.json --ref "$REGISTRY/org/app:1.0" --push --links links \
    --repo repo --key keys/ci.key "${ONLINE[@]}"

# 5. Serve the repository (or: cnabsec repo push repo oci://$REGISTRY/org/tuf) until this shell
#    exits. The operator pins root.json, obtained out of band, verifies, then hands the verified
#    bytes to a runtime (with porter: -- sh -c 'porter install --cnab-file "$CNABSEC_BUNDLE"')
cnabsec repo serve repo --addr "$TUF" > serve.log 2>&1 & trap "kill $!" EXIT
until grep -q serving serve.log || ! kill -0 $!; do sleep 0.1; done   # until it listens (or exits)
cp repo/metadata/1.root.json root.json
cnabsec verify "$REGISTRY/org/app:1.0" --trust-root root.json --metadata "http://$TUF" --level 4 -- \
    sh -c 'echo "the runtime got $CNABSEC_BUNDLE ($CNABSEC_BUNDLE_DIGEST)"'

# 6. Air-gapped: export a kit, verify it with no network, import it into a private registry
cnabsec export "$REGISTRY/org/app:1.0" --trust-root root.json --metadata "http://$TUF" --level 4 --out kit
cnabsec verify "$REGISTRY/org/app:1.0" --trust-root root.json --kit kit --level 4
cnabsec import kit --to "$REGISTRY/private/app" --relocation-mapping-out mapping.json
# <<< README walkthrough
