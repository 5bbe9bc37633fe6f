"""The player's ES modules as the one module ``st.components.v2`` takes (its ``js=`` string).

Why a build step at all: Streamlit 1.67 gives the browser inline ``js`` as a ``blob:`` URL that it
``import()``\\ s (``getOrCreateUrlForJs`` in its frontend), and a ``blob:`` URL is no base for a
relative specifier, so ``import ... from "./timing.js"`` cannot resolve there. A file-backed ``js``
(served under ``/_stcore/bidi-components/<component>/``, where relative imports would work) needs
the component declared with an ``asset_dir`` in the manifest of an *installed* package, which this
app is not. Node imports the same files directly (``node --test tests/js/``).

The step keeps each module's scope: every module but the entry becomes a function scope whose
exports are returned as one frozen object, and each ``import`` becomes a destructuring of that
object, so a module's private names stay private and an import of a name the module does not
export is an error here, as it is for a browser. Modules are evaluated once, dependencies first
(the order an ES module graph without cycles has). The sources keep to this subset:

* ``import { a, b as c } from "./name.js";`` — top of a line, relative to this folder;
* ``export function f`` / ``export async function f`` / ``export const X`` / ``export class C``;
* ``export default function`` in the entry module only, kept as it is.

Anything else that starts a line with ``import`` or ``export`` raises :class:`ValueError`, as do
cycles and missing files.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

IMPORT = re.compile(r'^import\s*\{([^}]*)\}\s*from\s*"\./([\w.-]+\.js)";[ \t]*$', re.M)
EXPORT = re.compile(r"^export\s+((?:async\s+)?function\*?|const|let|class)\s+([A-Za-z_$][\w$]*)", re.M)
DEFAULT = re.compile(r"^export\s+default\s+function\b", re.M)
MODULE_SYNTAX = re.compile(r"^[ \t]*(import|export)\b.*$", re.M)
IDENTIFIER = re.compile(r"[A-Za-z_$][\w$]*")


@dataclass(frozen=True)
class Module:
    name: str  # file name, e.g. "timing.js"
    imports: tuple[tuple[str, tuple[tuple[str, str], ...]], ...]  # (file, ((imported, local), ...))
    exports: tuple[str, ...]
    has_default: bool
    body: str  # the source with imports replaced and ``export`` keywords dropped (same line count)


def _variable(name: str) -> str:
    return "__asp_module_" + re.sub(r"\W", "_", name.removesuffix(".js"))


def _specifiers(text: str, where: str) -> tuple[tuple[str, str], ...]:
    pairs = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        imported, _, local = (word.strip() for word in item.partition(" as "))
        local = local or imported
        if not (IDENTIFIER.fullmatch(imported) and IDENTIFIER.fullmatch(local)):
            raise ValueError(f"{where}: cannot read the import specifier {item!r}")
        pairs.append((imported, local))
    return tuple(pairs)


def parse(name: str, source: str, *, entry: bool) -> Module:
    """One module's imports, exports and rewritten body (see the module docstring for the subset)."""
    imports = []

    def replace_import(match: re.Match) -> str:
        specifiers = _specifiers(match.group(1), name)
        imports.append((match.group(2), specifiers))
        fields = ", ".join(imported if imported == local else f"{imported}: {local}" for imported, local in specifiers)
        return f"const {{ {fields} }} = {_variable(match.group(2))};" + "\n" * match.group(0).count("\n")

    body = IMPORT.sub(replace_import, source)
    has_default = bool(DEFAULT.search(body))
    if has_default and not entry:
        raise ValueError(f"{name}: only the entry module may have a default export")
    if entry and not has_default:
        raise ValueError(f"{name}: the entry module needs `export default function`")
    exports = tuple(match.group(2) for match in EXPORT.finditer(body))
    if entry and exports:
        raise ValueError(f"{name}: the entry module exports only its default function, not {', '.join(exports)}")
    body = EXPORT.sub(lambda match: f"{match.group(1)} {match.group(2)}", body)
    for match in MODULE_SYNTAX.finditer(body):
        if not (entry and DEFAULT.match(match.group(0))):
            line = body.count("\n", 0, match.start()) + 1
            raise ValueError(f"{name}:{line}: module syntax the bundle step does not handle: {match.group(0).strip()!r}")
    return Module(name, tuple(imports), exports, has_default, body)


def bundle(folder: str | Path, entry: str) -> str:
    """The modules reachable from ``folder/entry`` as one ES module whose default export is the entry's."""
    folder = Path(folder)
    modules: dict[str, Module] = {}
    order: list[str] = []  # dependencies before the modules that import them
    visiting: list[str] = []

    def visit(name: str) -> None:
        if name in modules:
            return
        if name in visiting:
            raise ValueError("import cycle: " + " → ".join([*visiting[visiting.index(name):], name]))
        path = folder / name
        if not path.is_file():
            importer = f" (imported by {visiting[-1]})" if visiting else ""
            raise ValueError(f"{path} not found{importer}")
        visiting.append(name)
        module = parse(name, path.read_text(encoding="utf-8"), entry=name == entry)
        for dependency, specifiers in module.imports:
            if dependency == entry:
                raise ValueError(f"{name} imports the entry module {entry}")
            visit(dependency)
            missing = [imported for imported, _ in specifiers if imported not in modules[dependency].exports]
            if missing:
                raise ValueError(f"{name} imports {', '.join(missing)} that {dependency} does not export")
        visiting.pop()
        modules[name] = module
        order.append(name)

    visit(entry)
    parts = [f"// One module made by spotting/ui/player/bundle.py from {', '.join(order)}: do not edit.\n"]
    for name in order[:-1]:
        module = modules[name]
        parts.append(f"// ---------------------------------------------------------------- {name}\n"
                     f"const {_variable(name)} = (() => {{\n{module.body.rstrip()}\n"
                     f"return Object.freeze({{ {', '.join(module.exports)} }});\n}})();\n")
    parts.append(f"// ---------------------------------------------------------------- {entry}\n{modules[entry].body}")
    return "\n".join(parts)
