#!/usr/bin/python3
"""install_blocks.py - the shell blocks of INSTALL.md that a path's walkthrough test runs.

A block is marked by an HTML comment on the line before its fence, which a reader of the
rendered page does not see; it names the paths whose walkthrough runs the block:

    <!-- install-test: postfix postfix-milter expect="REGEX" expect="REGEX" -->
    ```sh
    ...
    ```

    install_blocks.py INSTALL.md PATH OUTDIR

writes OUTDIR/NN.sh (the block) and OUTDIR/NN.expect (its regexes, one a line) for every block
marked with PATH, in document order, and prints how many. A marker that is not followed by a
```sh fence, an unclosed fence, or a path with no block at all is an error (exit 1), so that an
edit cannot silently drop a step from the test.
"""
import os
import re
import sys

MARKER = re.compile(r'^<!-- install-test: (?P<paths>[a-z0-9-]+(?: [a-z0-9-]+)*)'
                    r'(?P<args>(?: expect="(?:[^"\\]|\\.)*")*)\s*-->\s*$')
EXPECT = re.compile(r'expect="((?:[^"\\]|\\.)*)"')


def blocks(lines, path):
    """Yields (line number, script, [regex]) for each block marked with path."""
    i = 0
    while i < len(lines):
        m = MARKER.match(lines[i])
        if not m:
            if lines[i].startswith('<!-- install-test:'):
                raise ValueError('line %d: a marker that does not parse' % (i + 1))
            i += 1
            continue
        if i + 1 >= len(lines) or lines[i + 1].rstrip() != '```sh':
            raise ValueError('line %d: marker not followed by a ```sh fence' % (i + 1))
        expects = [e.replace('\\"', '"') for e in EXPECT.findall(m.group('args'))]
        for e in expects:
            re.compile(e)
        start = i + 2
        end = start
        while end < len(lines) and lines[end].rstrip() != '```':
            end += 1
        if end == len(lines):
            raise ValueError('line %d: the fence is not closed' % (i + 2))
        if path in m.group('paths').split():
            yield i + 1, ''.join(lines[start:end]), expects
        i = end + 1


def main(argv):
    if len(argv) != 4:
        print('usage: install_blocks.py INSTALL.md PATH OUTDIR', file=sys.stderr)
        return 2
    doc, path, outdir = argv[1:]
    with open(doc, encoding='utf-8') as f:
        lines = f.readlines()
    try:
        found = list(blocks(lines, path))
    except (ValueError, re.error) as e:
        print('%s: %s' % (doc, e), file=sys.stderr)
        return 1
    if not found:
        print('%s: no block marked "install-test: %s"' % (doc, path), file=sys.stderr)
        return 1
    os.makedirs(outdir, exist_ok=True)
    for n, (line, script, expects) in enumerate(found, 1):
        base = os.path.join(outdir, '%02d' % n)
        with open(base + '.sh', 'w', encoding='utf-8') as f:
            f.write('# %s:%d\n' % (os.path.basename(doc), line) + script)
        with open(base + '.expect', 'w', encoding='utf-8') as f:
            f.write(''.join(e + '\n' for e in expects))
    print(len(found))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
