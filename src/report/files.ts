import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Writes each named text into `dir` (created if missing); returns the paths, in order. */
export async function writeFiles(
  dir: string,
  files: Readonly<Record<string, string>>,
): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const paths: string[] = [];
  for (const [name, text] of Object.entries(files)) {
    const path = join(dir, name);
    await writeFile(path, text);
    paths.push(path);
  }
  return paths;
}
