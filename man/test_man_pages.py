#!/usr/bin/python3
"""test_man_pages.py - the generated man pages cover every option and every configuration key.

  test_man_pages.py --man-dir BUILD/man --cli BUILD/cli/bounceguard [--daemon BUILD/.../bounceguard-policyd ...]

Reads the programs' --help (and each bounceguard subcommand's) and `bounceguard dump-config`
itself, independently of scripts/gen_man.py, and fails when a page lacks one of them. It also
checks that it would notice: a copy of a page with one option removed must fail the same check.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

failures = []


def run(argv):
    proc = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30,
                          env={"PATH": "/usr/bin:/bin", "LC_ALL": "C"}, check=False)
    if proc.returncode != 0:
        sys.exit(f"FAIL: {argv} exited with {proc.returncode}: {proc.stderr[:300]!r}")
    return proc.stdout.decode()


def page_text(path):
    """The page's roff with the escapes the generator uses undone and font changes dropped."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    text = re.sub(r"\\f[BIRP]", "", text)
    return text.replace("\\-", "-").replace("\\&", "").replace("\\e", "\\")


def help_options(help_text):
    """Every --long and -s option named at the start of an entry of an Options: section."""
    opts, in_options = set(), False
    for line in help_text.splitlines():
        if re.match(r"^[A-Z][A-Za-z ]*:$", line):
            in_options = line == "Options:"
            continue
        if in_options and line.startswith("  ") and not line.startswith("    "):
            opts.update(re.findall(r"(?<![\w-])(--?[A-Za-z][\w-]*)", line.split("  ")[1]))
    return opts


def subcommands(help_text):
    m = re.search(r"^Subcommands:\n((?:  .*\n?)*)", help_text, re.M)
    return [l.split()[0] for l in (m.group(1).splitlines() if m else []) if l.startswith("  ") and l.strip()]


def check_options(page, text, name, opts):
    if not opts and " " not in name:
        failures.append(f"{name}: --help lists no options (the check would prove nothing)")
    for opt in sorted(opts):
        if not re.search(r"(?<![\w-])" + re.escape(opt) + r"(?![\w-])", text):
            failures.append(f"{page}: {name} option {opt} missing")


def check_program(man_dir, program):
    name = os.path.basename(program)
    page = os.path.join(man_dir, name + ".8")
    if not os.path.exists(page):
        failures.append(f"{page}: not generated")
        return
    text = page_text(page)
    help_text = run([program, "--help"])
    check_options(page, text, name, help_options(help_text))
    for sub in subcommands(help_text):
        m = re.search(r"^\.SS " + re.escape(sub) + r"\n(.*?)(?=^\.S[SH] |\Z)", text, re.M | re.S)
        if not m:
            failures.append(f"{page}: subcommand {sub} has no section")
            continue
        check_options(page, m.group(1), f"{name} {sub}",
                      help_options(run([program, sub, "--help"])) - {"-h", "--help"})


def check_keys(man_dir, cli):
    page = os.path.join(man_dir, "bounceguard.toml.5")
    text = page_text(page)
    with tempfile.NamedTemporaryFile("w", suffix=".toml") as empty:
        dump = run([cli, "--config", empty.name, "dump-config"])
    section, count = None, 0
    for line in dump.splitlines():
        m = re.match(r"^\[(.+)\]$", line)
        if m:
            section = m.group(1)
            body = re.search(r"^\.SS \[" + re.escape(section) + r"\]\n(.*?)(?=^\.S[SH] |\Z)", text, re.M | re.S)
            if not body:
                failures.append(f"{page}: section [{section}] missing")
            continue
        m = re.match(r"^([a-z0-9_]+) = ", line)
        if m:
            count += 1
            if not body or not re.search(r"^" + re.escape(m.group(1)) + r" = ", body.group(1), re.M):
                failures.append(f"{page}: key {section}.{m.group(1)} missing")
    if count < 10:
        failures.append(f"dump-config printed only {count} keys")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--man-dir", required=True)
    ap.add_argument("--cli", required=True)
    ap.add_argument("--daemon", action="append", default=[])
    args = ap.parse_args()
    for program in [args.cli] + args.daemon:
        check_program(args.man_dir, program)
    check_keys(args.man_dir, args.cli)

    # The check must notice a missing option: drop the --config entry of one page and re-check.
    global failures
    found, failures = failures, []
    program = args.daemon[0] if args.daemon else args.cli
    with tempfile.TemporaryDirectory() as tmp:
        name = os.path.basename(program) + ".8"
        with open(os.path.join(args.man_dir, name), encoding="utf-8") as f:
            lines = f.read().split("\n")
        i = next(i for i, l in enumerate(lines) if l.startswith(".TP") and "\\-\\-config" in lines[i + 1])
        with open(os.path.join(tmp, name), "w", encoding="utf-8") as f:
            f.write("\n".join(lines[:i] + lines[i + 3:]))
        check_options(name, page_text(os.path.join(tmp, name)), "mutant",
                      help_options(run([program, "--help"])))
    if not any("--config missing" in f for f in failures):
        found.append("self-check: a page without --config was not noticed")
    failures = found

    for f in failures:
        print("FAIL:", f)
    if failures:
        sys.exit(1)
    print(f"man pages: every option and key documented ({1 + len(args.daemon)} programs)")


if __name__ == "__main__":
    main()
