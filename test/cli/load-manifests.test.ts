import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isManifestName, loadManifests } from '../../cli/load-manifests';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'tessera-load-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('which files are manifests', () => {
  it('takes *.yaml and *.yml, never a dotfile or an editor leftover', () => {
    expect(['page.yaml', 'home.yml', 'a.b.yaml'].filter(isManifestName)).toEqual(['page.yaml', 'home.yml', 'a.b.yaml']);
    expect(['.#page.yaml', '.page.yaml.swp', '.page.yaml', 'page.yaml~', 'notes.txt', 'page.yaml.bak', '4913'].filter(isManifestName)).toEqual([]);
  });
});

describe('loadManifests', () => {
  it('skips an Emacs lock file (.#page.yaml, a dangling symlink) without a word', async () => {
    await writeFile(path.join(dir, 'page.yaml'), 'route: /page\nfragments: {}\n');
    await symlink('user@host.1234:1700000000', path.join(dir, '.#page.yaml'));
    const result = await loadManifests(dir, dir);
    expect(result.diagnostics).toEqual([]);
    expect(result.warnings).toEqual([]);
    expect(result.files).toEqual([path.join(dir, 'page.yaml')]);
    expect(result.manifests?.routes.map((r) => r.name)).toEqual(['page']);
  });

  it('skips, with a warning, an entry named like a manifest that cannot be read, and compiles the rest', async () => {
    await writeFile(path.join(dir, 'page.yaml'), 'route: /page\nfragments: {}\n');
    await symlink(path.join(dir, 'moved.yaml'), path.join(dir, 'dangling.yaml'));
    await mkdir(path.join(dir, 'folder.yaml'));
    const result = await loadManifests(dir, dir);
    expect(result.diagnostics).toEqual([]);
    expect(result.warnings).toEqual(['dangling.yaml: skipped, it cannot be read (ENOENT)', 'folder.yaml: skipped, it cannot be read (EISDIR)']);
    expect(result.manifests?.routes.map((r) => r.name)).toEqual(['page']);
  });

  it('says there are no manifests when only unreadable entries are left', async () => {
    await symlink(path.join(dir, 'moved.yaml'), path.join(dir, 'dangling.yaml'));
    const result = await loadManifests(dir, dir);
    expect(result.manifests).toBeUndefined();
    expect(result.diagnostics.map((d) => d.message)).toEqual(['no manifests here: expected *.yaml files, one per route']);
  });
});
