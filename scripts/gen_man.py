#!/usr/bin/python3
"""gen_man.py - write a man page from a hand-written roff template (man/*.in) and what the built
programs say about themselves, so that the pages cannot drift from --help and the key table.

  gen_man.py --template man/bounceguard-policyd.8.in --output OUT --version 0.1.0 \
             --program build/policyd/bounceguard-policyd [--subcommands] [--keys-from build/cli/bounceguard]

Placeholders, each alone on a line of the template:
  @VERSION@ (anywhere)  the project version
  @SYNOPSIS@            the program's usage line (from --help)
  @OPTIONS@             every option of --help, as .TP paragraphs
  @COMMANDS@            every subcommand: its description, usage, positionals and options
                        (runs PROGRAM SUBCOMMAND --help for each)
  @KEYS@                every configuration key with its default and its doc, by section
                        (runs PROGRAM --config EMPTY dump-config: the built-in defaults)
The programs are run with an empty environment and a timeout; a program that fails, or a help
text with no options, is an error (the page is not written), never a silent empty section.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

MAX_OUTPUT = 1 << 20


def run(argv):
    """Runs a built program and returns its stdout; exits with a clear message if it fails."""
    try:
        proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30,
                              env={"PATH": "/usr/bin:/bin", "LC_ALL": "C"}, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        sys.exit(f"gen_man: cannot run {' '.join(argv)}: {exc}")
    if proc.returncode != 0:
        sys.exit(f"gen_man: {' '.join(argv)} exited with {proc.returncode}: "
                 f"{proc.stderr.decode(errors='replace')[:500]}")
    if len(proc.stdout) > MAX_OUTPUT:
        sys.exit(f"gen_man: {' '.join(argv)}: output over {MAX_OUTPUT} bytes")
    return proc.stdout.decode("utf-8", errors="replace")


def esc(text):
    """Roff-escapes one line of running text: backslashes, hyphens, a leading dot or quote."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    if text[:1] in (".", "'"):
        text = "\\&" + text
    return text


def parse_help(text):
    """Splits CLI11 --help output into {"description", "usage", sections: {name: [(term, doc)]}}.
    An entry is "  TERM  DOC"; a line indented further continues the previous entry's DOC (CLI11
    puts DOC on the next line when TERM is wider than its column)."""
    lines = text.splitlines()
    result = {"description": "", "usage": "", "sections": {}}
    section = None
    for line in lines:
        if not line.strip():
            continue
        if line.startswith("Usage: "):
            result["usage"] = line[len("Usage: "):].strip()
            continue
        m = re.match(r"^([A-Z][A-Za-z ]*):$", line)
        if m:
            section = m.group(1)
            result["sections"].setdefault(section, [])
            continue
        if section is None:
            if not result["usage"]:
                result["description"] = (result["description"] + " " + line.strip()).strip()
            continue
        entries = result["sections"][section]
        m = re.match(r"^  (\S(?:.*?\S)?)(?:\s{2,}(\S.*))?$", line)
        if m and not line.startswith("    "):
            entries.append([m.group(1), m.group(2) or ""])
        elif entries:
            entries[-1][1] = (entries[-1][1] + " " + line.strip()).strip()
    return result


def term_roff(term):
    """'-h,--help' -> '\\fB\\-h\\fR, \\fB\\-\\-help\\fR'; '--listen TEXT ...' -> bold name, italic arg."""
    parts = term.split(None, 1)
    names = ", ".join(f"\\fB{esc(n)}\\fR" for n in parts[0].split(","))
    if len(parts) > 1:
        names += " \\fI" + esc(parts[1]) + "\\fR"
    return names


def entries_roff(entries):
    out = []
    for term, doc in entries:
        out += [".TP", term_roff(term), esc(doc) if doc else ""]
    return [l for l in out if l != ""]


def program_name(usage, name):
    """The usage line names the program by the path it was run as; the page names it by NAME."""
    first, _, rest = usage.partition(" ")
    return (name + (" " + rest if rest else "")) if "/" in first or first == name else usage


def synopsis(parsed, name):
    return [".B " + esc(name), esc(program_name(parsed["usage"], name)[len(name):].strip())]


def options(parsed, program):
    opts = parsed["sections"].get("Options", [])
    if not opts:
        sys.exit(f"gen_man: {program} --help lists no options")
    out = entries_roff(parsed["sections"].get("Positionals", []))
    return out + entries_roff(opts)


def commands(program, parsed, name):
    subs = parsed["sections"].get("Subcommands", [])
    if not subs:
        sys.exit(f"gen_man: {program} --help lists no subcommands")
    out = []
    for sub, doc in subs:
        if not re.fullmatch(r"[a-z][a-z0-9-]*", sub):
            sys.exit(f"gen_man: unexpected subcommand name {sub!r}")
        sp = parse_help(run([program, sub, "--help"]))
        usage = program_name(sp["usage"], name)
        out += [".SS " + esc(sub), esc(doc), ".PP", ".B " + esc(usage)]
        for section in ("Positionals", "Options"):
            entries = [e for e in sp["sections"].get(section, []) if e[0] != "-h,--help"]
            if entries:
                out += [".RS"] + entries_roff(entries) + [".RE"]
    return out


def keys(program):
    """Runs dump-config against an empty configuration file: the built-in defaults, with docs."""
    with tempfile.NamedTemporaryFile("w", suffix=".toml") as empty:
        text = run([program, "--config", empty.name, "dump-config"])
    out, doc, count = [], [], 0
    for line in text.splitlines():
        if not line.strip():
            continue
        m = re.match(r"^\[([a-z0-9_.]+)\]$", line)
        if m:
            out += [".SS [" + esc(m.group(1)) + "]"]
            continue
        if line.startswith("#"):
            doc.append(line[1:].strip())
            continue
        m = re.match(r"^([a-z0-9_]+) = (.*)$", line)
        if not m:
            sys.exit(f"gen_man: unexpected dump-config line {line!r}")
        out += [".TP", f"\\fB{esc(m.group(1))}\\fR = {esc(m.group(2))}", esc(" ".join(doc))]
        doc, count = [], count + 1
    if count == 0:
        sys.exit(f"gen_man: {program} dump-config printed no keys")
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--template", required=True)
    ap.add_argument("--output", required=True)
    ap.add_argument("--version", required=True)
    ap.add_argument("--program", help="the built program the page describes")
    ap.add_argument("--name", help="its installed name (default: the basename of --program)")
    ap.add_argument("--keys-from", help="the built bounceguard CLI, for @KEYS@")
    args = ap.parse_args()

    with open(args.template, encoding="utf-8") as f:
        template = f.read()
    parsed, name = None, None
    if args.program:
        name = args.name or os.path.basename(args.program)
        parsed = parse_help(run([args.program, "--help"]))

    out = []
    for line in template.replace("@VERSION@", args.version).splitlines():
        placeholder = line.strip()
        if placeholder in ("@SYNOPSIS@", "@OPTIONS@", "@COMMANDS@") and parsed is None:
            sys.exit(f"gen_man: {args.template} uses {placeholder}: give --program")
        if placeholder == "@SYNOPSIS@":
            out += synopsis(parsed, name)
        elif placeholder == "@OPTIONS@":
            out += options(parsed, args.program)
        elif placeholder == "@COMMANDS@":
            out += commands(args.program, parsed, name)
        elif placeholder == "@KEYS@":
            if not args.keys_from:
                sys.exit(f"gen_man: {args.template} uses @KEYS@: give --keys-from")
            out += keys(args.keys_from)
        elif re.search(r"@[A-Z]+@", line):
            sys.exit(f"gen_man: {args.template}: unknown placeholder in {line!r}")
        else:
            out.append(line)
    tmp = args.output + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")
    os.replace(tmp, args.output)


if __name__ == "__main__":
    main()
