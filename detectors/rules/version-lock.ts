/**
 * `version.lock.json`: each rule's version and a hash of its logic, so that an alert's `ruleVersion` means
 * something (as Elastic's detection-rules lock does). The hash covers the rule file and the `lib/` modules it
 * imports, transitively, printed without comments and with the rule's `meta` left out: rewording a description
 * needs no new version, changing what fires does. `version-lock.test.ts` fails when a hash changes and the
 * version does not.
 *
 *   npx tsx detectors/rules/version-lock.ts --write              record bumped versions
 *   npx tsx detectors/rules/version-lock.ts --write --refactor=ID  record a new hash for the same version, for
 *                                                                  a change that provably keeps every alert
 */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { format, resolveConfig } from 'prettier';
import ts from 'typescript';
import { RULES } from './index.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
export const VERSION_LOCK = join(HERE, 'version.lock.json');

export interface LockEntry {
  version: number;
  /** SHA-256 of the rule's logic (see the module comment). */
  hash: string;
  /** Hashes this version had before refactors recorded with `--refactor`. */
  refactoredFrom?: string[];
}

export type VersionLock = Record<string, LockEntry>;

/** The source without comments, layout and the `meta` property of the rule object. */
export function logicOf(text: string): string {
  const source = ts.createSourceFile('rule.ts', text, ts.ScriptTarget.Latest, true);
  const dropMeta: ts.TransformerFactory<ts.SourceFile> = (context) => (root) => {
    const visit = (node: ts.Node): ts.Node =>
      ts.isPropertyAssignment(node) && node.name.getText(root) === 'meta'
        ? context.factory.updatePropertyAssignment(node, node.name, context.factory.createNull())
        : ts.visitEachChild(node, visit, context);
    return ts.visitEachChild(root, visit, context);
  };
  const [printed] = ts.transform(source, [dropMeta]).transformed;
  // The printer keeps each literal's line layout and trailing commas: both are formatting, not logic.
  return ts
    .createPrinter({ removeComments: true })
    .printFile(printed!)
    .replace(/\s+/g, ' ')
    .replace(/,? ?([}\])])/g, ' $1');
}

/** The rule file and every module under `lib/` it reaches through relative imports (tests excluded). */
function filesOf(ruleFile: string): string[] {
  const seen = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, false);
    for (const statement of source.statements) {
      if (!ts.isImportDeclaration(statement) || !ts.isStringLiteral(statement.moduleSpecifier)) continue;
      if (statement.importClause?.isTypeOnly === true) continue;
      const specifier = statement.moduleSpecifier.text;
      if (!specifier.startsWith('.')) continue;
      const target = resolve(dirname(file), specifier);
      if (target.startsWith(join(HERE, 'lib')) && !target.endsWith('.test.ts')) visit(target);
    }
  };
  visit(ruleFile);
  return [...seen].sort();
}

/** The current hash of every rule's logic. */
export function ruleHashes(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const rule of RULES) {
    const hash = createHash('sha256');
    for (const file of filesOf(join(HERE, `${rule.meta.id}.ts`))) {
      hash
        .update(file.slice(HERE.length))
        .update('\u0000')
        .update(logicOf(readFileSync(file, 'utf8')))
        .update('\u0000');
    }
    out[rule.meta.id] = `sha256:${hash.digest('hex')}`;
  }
  return out;
}

export function readLock(): VersionLock {
  return JSON.parse(readFileSync(VERSION_LOCK, 'utf8')) as VersionLock;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const write = process.argv.includes('--write');
  const refactored = new Set(
    process.argv.filter((arg) => arg.startsWith('--refactor=')).map((arg) => arg.slice('--refactor='.length)),
  );
  let lock: VersionLock = {};
  try {
    lock = readLock();
  } catch {
    // First run: no lock yet.
  }
  const hashes = ruleHashes();
  const next: VersionLock = {};
  const problems: string[] = [];
  for (const rule of RULES) {
    const { id, version } = rule.meta;
    const hash = hashes[id]!;
    const locked = lock[id];
    if (locked === undefined || version > locked.version) next[id] = { version, hash };
    else if (locked.hash === hash) next[id] = locked;
    else if (refactored.has(id) && version === locked.version)
      next[id] = { version, hash, refactoredFrom: [...(locked.refactoredFrom ?? []), locked.hash] };
    else {
      problems.push(`${id}: logic changed at version ${version}; bump meta.version (or --refactor=${id})`);
      next[id] = locked;
    }
  }
  for (const problem of problems) console.error(problem);
  if (write) {
    // Formatted as the checkout's format check wants it.
    const options = (await resolveConfig(VERSION_LOCK)) ?? {};
    writeFileSync(VERSION_LOCK, await format(JSON.stringify(next), { ...options, filepath: VERSION_LOCK }));
  }
  process.exitCode = problems.length > 0 ? 1 : 0;
}
