/**
 * The URL of one of this package's compiled modules, by its path from src/ (e.g.
 * './data/images/reader.js'), for threads to load: where this package runs from its TypeScript source
 * (a test run), the file in dist/, since a thread cannot load TypeScript.
 */
export function compiledModule(path: string): URL {
  const root = import.meta.url.endsWith('.ts') ? '../dist/' : './';
  return new URL(root + path.replace(/^\.\//, ''), import.meta.url);
}
