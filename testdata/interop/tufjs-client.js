// An independent TUF client for interop tests: npm's tuf-js refreshes from a
// cnabsec repository served over HTTP and downloads one target.
// Usage: node tufjs-client.js METADATA_DIR METADATA_URL TARGETS_URL TARGET_NAME OUT_FILE
// METADATA_DIR must hold the pinned root.json. Exit 0 and prints the target's
// sha256 on success; exit 1 with the error on stderr otherwise.
'use strict';
const path = require('path');
const crypto = require('crypto');
const fs = require('fs');
const modules = process.env.CNABSEC_TUFJS_DIR
  ? path.join(process.env.CNABSEC_TUFJS_DIR, 'node_modules')
  : 'node_modules';
const { Updater } = require(path.join(modules, 'tuf-js'));

async function main() {
  const [metadataDir, metadataBaseUrl, targetBaseUrl, targetName, outFile] = process.argv.slice(2);
  if (!outFile) throw new Error('usage: tufjs-client.js METADATA_DIR METADATA_URL TARGETS_URL TARGET_NAME OUT_FILE');
  const updater = new Updater({
    metadataDir,
    metadataBaseUrl,
    targetBaseUrl,
    targetDir: path.dirname(outFile),
    config: { fetchTimeout: 10000, fetchRetries: 0 },
  });
  await updater.refresh();
  const info = await updater.getTargetInfo(targetName);
  if (!info) throw new Error(`target ${targetName} not found`);
  const file = await updater.downloadTarget(info, outFile);
  const sum = crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
  process.stdout.write(`ok ${sum}\n`);
}

main().catch((err) => {
  process.stderr.write(`tuf-js: ${err && err.message ? err.message : err}\n`);
  process.exit(1);
});
