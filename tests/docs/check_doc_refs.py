#!/usr/bin/python3
"""check_doc_refs.py - every configuration key and every `bounceguard` option that INSTALL.md and
README.md name must exist, so that a reader never types a key or an option the programs refuse.

    check_doc_refs.py BOUNCEGUARD BOUNCEGUARD-POLICYD BOUNCEGUARD-MILTER DOC...

Keys: `section.key` in code spans (`policy.mode`, `enforce.on_store_error = "tempfail"`), and
`key = value` lines under a `[section]` in ```toml blocks, are looked up in
`BOUNCEGUARD dump-config` (the key table, as the programs load it); `[section]` headers too.
Options: in ```sh blocks and in code spans, each `bounceguard SUBCOMMAND --option` is looked up in
`BOUNCEGUARD SUBCOMMAND --help`, and the subcommand in `BOUNCEGUARD --help`; the options of
`bounceguard-policyd ...` and `bounceguard-milter ...` in their programs' --help. Prints each unknown
name with its file and line; exit 1 if there is one.
"""
import re
import shlex
import subprocess
import sys

SECTIONS = ('log', 'store', 'classify', 'policy', 'enforce', 'milter', 'policyd', 'maillog',
            'breaker', 'suppress', 'metrics')
KEY_SPAN = re.compile(r'`\[?((?:%s)\.[a-z0-9_]+(?:\.[a-z0-9_]+)?)' % '|'.join(SECTIONS))
CODE_SPAN = re.compile(r'`((?:/usr/s?bin/)?bounceguard(?:-policyd|-milter)? [^`]*)`')


def run(*cmd):
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def known_keys(binary):
    keys, section = set(), ''
    for line in run(binary, 'dump-config').splitlines():
        m = re.match(r'^\[([a-z0-9_.]+)\]', line)
        if m:
            section = m.group(1)
            keys.add(section)
            continue
        m = re.match(r'^([a-z0-9_]+) = ', line)
        if m and section:
            keys.add(section + '.' + m.group(1))
    return keys


class Options:
    def __init__(self, binary, daemons):
        self.binary = binary
        self.cache = {}
        self.subcommands = set(re.findall(r'^  ([a-z][a-z-]+) ', run(binary, '--help'), re.M))
        self.daemons = {name: set(re.findall(r'(--[a-z][a-z-]*)', run(path, '--help')))
                        for name, path in daemons.items()}

    def of(self, sub):
        if sub not in self.cache:
            self.cache[sub] = set(re.findall(r'(--[a-z][a-z-]*)', run(self.binary, sub, '--help')))
        return self.cache[sub]


def option_name(word):
    """'--since' for '--since', '[--since' or '--format=csv]'; None for other words."""
    m = re.match(r'^\[?(--[a-z][a-z-]*)', word)
    return m.group(1) if m else None


def check_command(words, opts):
    """Problems with one `bounceguard ...` command line (already split into words)."""
    out = []
    daemon = words[0].rsplit('/', 1)[-1]
    if daemon in opts.daemons:
        for w in words[1:]:
            name = option_name(w)
            if name and name not in opts.daemons[daemon]:
                out.append('%s: unknown option %s' % (daemon, name))
        return out
    i = 1
    while i < len(words) and words[i].startswith('--'):  # global options and their values
        if words[i] not in ('--config', '--store', '--help'):
            out.append('unknown global option %s' % words[i])
        i += 2 if '=' not in words[i] else 1
    if i >= len(words):
        return out
    sub = words[i]
    if sub not in opts.subcommands:
        return out + ['unknown subcommand "%s"' % sub]
    for w in words[i + 1:]:
        if w in ('|', '&&', ';', '>', '<') or w.startswith('#'):
            break
        name = option_name(w)
        if name:
            if name not in opts.of(sub):
                out.append('bounceguard %s: unknown option %s' % (sub, name))
    return out


def split(text):
    try:
        return shlex.split(text, comments=True)
    except ValueError:
        return text.split()


def commands_in(line):
    """The `bounceguard ...` commands of one shell line (also after pipes, `&&`, runuser/sudo)."""
    for part in re.split(r'\||&&|;|\$\(', line):
        words = split(part)
        if words and words[0] in ('runuser', 'sudo'):
            words = words[words.index('--') + 1:] if '--' in words else words[3:]
        if words and words[0].rsplit('/', 1)[-1] in ('bounceguard', 'bounceguard-policyd',
                                                       'bounceguard-milter'):
            yield words


def main(argv):
    if len(argv) < 5:
        print('usage: check_doc_refs.py BOUNCEGUARD BOUNCEGUARD-POLICYD BOUNCEGUARD-MILTER DOC...',
              file=sys.stderr)
        return 2
    binary = argv[1]
    keys = known_keys(binary)
    opts = Options(binary, {'bounceguard-policyd': argv[2], 'bounceguard-milter': argv[3]})
    problems = []
    for doc in argv[4:]:
        fence, section = None, ''
        with open(doc, encoding='utf-8') as f:
            lines = f.read().splitlines()
        for n, line in enumerate(lines, 1):
            where = '%s:%d' % (doc, n)
            stripped = line.strip()
            if stripped.startswith('```'):
                fence = None if fence is not None else (stripped[3:] or 'text')
                section = ''
                continue
            if fence == 'toml':
                m = re.match(r'^\[([a-z0-9_.]+)\]', stripped)
                if m:
                    section = m.group(1)
                    if section not in keys:
                        problems.append('%s: unknown section [%s]' % (where, section))
                    continue
                m = re.match(r'^([a-z0-9_]+)\s*=', stripped)
                if m and section and section + '.' + m.group(1) not in keys:
                    problems.append('%s: unknown key %s.%s' % (where, section, m.group(1)))
                continue
            if fence == 'sh':
                for words in commands_in(stripped):
                    problems += ['%s: %s' % (where, p) for p in check_command(words, opts)]
                continue
            if fence is not None:
                continue
            for key in KEY_SPAN.findall(line):
                if key not in keys:
                    problems.append('%s: unknown key %s' % (where, key))
            for span in CODE_SPAN.findall(line):
                for words in commands_in(span):
                    problems += ['%s: %s' % (where, p) for p in check_command(words, opts)]
    for p in problems:
        print(p)
    print('%d problem(s) in %s' % (len(problems), ', '.join(argv[4:])))
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
