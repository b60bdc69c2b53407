/** `build-rootfs.ts CACHE KEY`: the locked build step of rootfs.ts (run under flock by ensureRootfs). */
import { buildRootfsLocked } from './rootfs.js';

const [cache, key] = process.argv.slice(2);
if (!cache || !key) {
  process.stderr.write('usage: build-rootfs.ts CACHE KEY\n');
  process.exit(2);
}
buildRootfsLocked(cache, key);
