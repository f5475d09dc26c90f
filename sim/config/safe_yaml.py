"""Reading YAML files that may come from anyone: bounded, decoded, then parsed.

Every YAML file the project reads goes through here first: configuration groups (Hydra's own
reads are checked by :mod:`sim.config.compose` before Hydra parses a file), scenario files,
and the ``.hydra/config.yaml`` of run folders read by the report, compare, budget and sweep
commands. Before anything is parsed:

- **size**: a file larger than :data:`MAX_YAML_BYTES` is refused (unread beyond the limit);
- **encoding**: the text must be UTF-8 (a byte-order mark is allowed); anything else is
  refused naming the file, where the first undecodable byte is and the encoding it looks like
  (a "£" saved by Excel or Notepad as Windows-1252 is the usual case);
- **aliases**: YAML anchors and aliases (``&a`` / ``*a``) let a file of a few hundred bytes
  expand to billions of values (an "alias bomb"). They are refused outright in site and
  scenario files, which planners share between organisations and never need them; elsewhere
  aliases may add at most :data:`MAX_ALIAS_VALUES` values (and a file at most
  :data:`MAX_YAML_NODES` in all);
- **nesting** deeper than :data:`MAX_YAML_DEPTH` is refused (it would exhaust the parser's
  recursion, not the machine).

The checks walk the parser's events, which takes time linear in the file's size whatever it
holds. Errors are :class:`~sim.config.schema.ConfigError`: one line naming the file, what was
found and the rule.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

import yaml

from sim.config.schema import ConfigError

#: Largest YAML file read (8 MiB): a site of every practice in England is about 1.5 MB.
MAX_YAML_BYTES = 8 * 1024 * 1024
#: Most values a file may hold once its aliases are expanded.
MAX_YAML_NODES = 1_000_000
#: Most values aliases may add to a file (where aliases are allowed at all). No shipped file
#: uses an alias; a user's anchors save repeating a few settings. Hydra's configuration
#: objects take tens of microseconds a value, several times over, so half a million aliased
#: values (a 300-byte file) kept every command busy for minutes.
MAX_ALIAS_VALUES = 10_000
#: Deepest nesting of mappings and lists.
MAX_YAML_DEPTH = 64

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_text(path: Path, key: str, value: str | None = None, limit: int = MAX_YAML_BYTES) -> str:
    """The text of ``path``, refusing a file over ``limit`` bytes or not UTF-8 encoded.

    ``key`` and ``value`` are what an error names as the setting and its value (for example
    ``site`` and ``my_area``, or ``scenario.my_option`` and the file's name, the default)."""
    path = Path(path)
    value = path.name if value is None else value
    try:
        with open(path, "rb") as fh:
            data = fh.read(limit + 1)
    except OSError as err:
        raise ConfigError(key, str(path), f"cannot be read ({err.strerror or err})") from None
    if len(data) > limit:
        raise ConfigError(
            key,
            value,
            f"is larger than {limit // (1024 * 1024)} MB; configuration files are small "
            "(split the file, or check it is the file you meant)",
            str(path),
        )
    return decode(data, key, path, value)


def decode(data: bytes, key: str, path: Path, value: str | None = None) -> str:
    """``data`` as UTF-8 text (a leading byte-order mark dropped), or a one-line error naming
    the file, the first undecodable byte and the encoding the file appears to be in."""
    value = Path(path).name if value is None else value
    for bom, name in ((b"\xff\xfe", "UTF-16"), (b"\xfe\xff", "UTF-16")):
        if data.startswith(bom):
            raise ConfigError(key, value, f"is encoded as {name}; save it as UTF-8", str(path))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        column = err.start - (data.rfind(b"\n", 0, err.start) + 1) + 1
        byte = data[err.start]
        guess = _guess_encoding(data)
        raise ConfigError(
            key,
            value,
            f"is not UTF-8 text: byte 0x{byte:02X} at line {line}, column {column} "
            f"(the file looks like {guess}); save it as UTF-8",
            str(path),
        ) from None


def _guess_encoding(data: bytes) -> str:
    """The likeliest single-byte encoding, named as a planner's software names it."""
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        return "Latin-1 (ISO-8859-1) or another non-UTF-8 encoding"
    odd = [c for c in text if not c.isascii()]
    shown = "".join(dict.fromkeys(odd))[:5]
    return f"Windows-1252, with {shown!r}" if shown else "Windows-1252"


def check_structure(
    text: str, key: str, path: Path, allow_aliases: bool, value: str | None = None
) -> None:
    """Refuse aliases (or more than :data:`MAX_ALIAS_VALUES` values added by them, or more
    than :data:`MAX_YAML_NODES` in all) and nesting deeper than :data:`MAX_YAML_DEPTH`, by
    walking the parser's events."""
    value = Path(path).name if value is None else value
    sizes: dict[str, int] = {}  # anchor -> values in the node it names, expanded
    stack: list[list[Any]] = []  # open collections: [values so far, anchor]
    total = aliased = 0
    try:
        for event in yaml.parse(text, Loader=_Loader):
            anchor = getattr(event, "anchor", None)
            if isinstance(event, yaml.AliasEvent) or (anchor and not allow_aliases):
                if not allow_aliases:
                    raise _structure_error(
                        key,
                        value,
                        path,
                        event,
                        "uses a YAML anchor or alias (&name / *name), which this file may "
                        "not: write the values out in full",
                    )
                size = sizes.get(str(anchor), 1)
                aliased += size
                if aliased > MAX_ALIAS_VALUES:
                    raise _structure_error(
                        key,
                        value,
                        path,
                        event,
                        f"expands to more than {MAX_ALIAS_VALUES:,} values through its aliases",
                    )
            elif isinstance(event, (yaml.MappingStartEvent, yaml.SequenceStartEvent)):
                stack.append([1, anchor])
                if len(stack) > MAX_YAML_DEPTH:
                    raise _structure_error(
                        key, value, path, event, f"nests deeper than {MAX_YAML_DEPTH} levels"
                    )
                continue
            elif isinstance(event, (yaml.MappingEndEvent, yaml.SequenceEndEvent)):
                size, anchor = stack.pop()
                if anchor:
                    sizes[str(anchor)] = size
            elif isinstance(event, yaml.ScalarEvent):
                size = 1
                if anchor:
                    sizes[str(anchor)] = 1
            else:
                continue
            if stack:
                stack[-1][0] += size
            else:
                total += size
            if total + sum(s[0] for s in stack) > MAX_YAML_NODES:
                raise _structure_error(
                    key,
                    value,
                    path,
                    event,
                    f"holds more than {MAX_YAML_NODES:,} values",
                )
    except yaml.YAMLError as err:
        raise yaml_error(err, key, value, path) from None


def yaml_error(err: yaml.YAMLError, key: str, value: str, path: Path) -> ConfigError:
    """A parser's error as one line naming the file, the line and column, and the problem."""
    mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    problem = getattr(err, "problem", None) or str(err).splitlines()[0]
    return ConfigError(key, value, f"is not valid YAML{where}: {problem}", str(path))


def _structure_error(key: str, value: str, path: Path, event: Any, rule: str) -> ConfigError:
    mark = event.start_mark
    return ConfigError(
        key, value, f"{rule} (line {mark.line + 1}, column {mark.column + 1})", str(path)
    )


@functools.lru_cache(maxsize=256)
def _checked(
    path: str, mtime_ns: int, size: int, key: str, value: str | None, allow_aliases: bool
) -> str:
    text = read_text(Path(path), key, value)
    check_structure(text, key, Path(path), allow_aliases, value)
    return text


def checked_text(path: Path, key: str, allow_aliases: bool = True, value: str | None = None) -> str:
    """The text of a YAML file that passed every check above (cached while the file is
    unchanged, so composing the same configuration twice reads it once)."""
    try:
        st = os.stat(path)
    except OSError as err:
        raise ConfigError(key, str(path), f"cannot be read ({err.strerror or err})") from None
    return _checked(str(path), st.st_mtime_ns, st.st_size, key, value, allow_aliases)


def load(path: Path, key: str, allow_aliases: bool = True, value: str | None = None) -> Any:
    """Parse a YAML file (safe YAML: no Python tags) after the checks above."""
    text = checked_text(path, key, allow_aliases, value)
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - a safe loader
    except yaml.YAMLError as err:
        raise yaml_error(err, key, Path(path).name if value is None else value, path) from None
