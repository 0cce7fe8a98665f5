// `pnpm bench [filter]`: runs every tools/bench/*.bench.mjs whose name contains `filter`, in name order.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = dirname(fileURLToPath(import.meta.url));
const filter = process.argv[2] ?? '';
const files = readdirSync(dir)
  .filter((name) => name.endsWith('.bench.mjs') && name.includes(filter))
  .sort();

if (files.length === 0) {
  console.error(`no tools/bench/*.bench.mjs matches "${filter}"`);
  process.exit(1);
}

const failed = [];
for (const file of files) {
  console.log(`\n# ${file}`);
  const { status } = spawnSync(process.execPath, [join(dir, file)], { stdio: 'inherit' });
  if (status !== 0) failed.push(file);
}
if (failed.length > 0) {
  console.error(`\nfailed: ${failed.join(', ')}`);
  process.exit(1);
}
