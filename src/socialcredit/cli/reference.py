"""The documentation site's three references, generated from what the code declares, so that
they cannot drift from it: the command line from its commands' help, the HTTP API from the
OpenAPI document the app serves, and the policy pack from the pack's models (their docstrings
and ``#:`` comments). ``scripts/docs`` builds the site; these pages are written at build time
(``scripts/lib/mkdocs_hooks.py``) and are never committed.
"""

from __future__ import annotations

import inspect
import json
import re
import tempfile
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer
from pydantic import BaseModel
from typer._click.core import Command, Context
from typer.core import TyperGroup

# Rich markup a command's help may carry ([bold], [/]); removed for Markdown
_MARKUP = re.compile(r"\[/?[a-z ]*\]")


def _cell(text: object) -> str:
    """Text safe in one cell of a Markdown table."""
    s = " ".join(str(text).split())
    return s.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")


def _prose(text: str | None) -> str:
    if not text:
        return ""
    text = _MARKUP.sub("", inspect.cleandoc(text))
    text = text.replace("<", "&lt;").replace(">", "&gt;")
    # a help's "Example: socialcredit ..." lines read as code
    return re.sub(r"^Example: (.+)$", r"Example: `\1`", text, flags=re.MULTILINE)


def _first_paragraph(text: str | None) -> str:
    return _prose(text).split("\n\n", 1)[0]


# -- the command line ------------------------------------------------------------------------


def cli_markdown(app: typer.Typer | None = None) -> str:
    """Every command and sub-command of ``socialcredit``, with its arguments and options."""
    if app is None:
        from . import app as main_app

        app = main_app
    root = typer.main.get_command(app)
    lines = [
        "# Command line",
        "",
        "Generated from the commands' own help (`socialcredit COMMAND --help` prints the same).",
        "Every command that reads state takes `--as-of` and answers as of that moment; every",
        "command that writes takes it too and acts as if it were that moment.",
        "",
    ]
    for path, cmd in _walk(root, ["socialcredit"]):
        lines += _command_section(path, cmd)
    return "\n".join(lines).rstrip() + "\n"


def _walk(cmd: Command, path: list[str]) -> Iterator[tuple[list[str], Command]]:
    yield path, cmd
    if isinstance(cmd, TyperGroup):
        for name, sub in cmd.commands.items():
            if not sub.hidden:
                yield from _walk(sub, [*path, name])


def _command_section(path: list[str], cmd: Command) -> list[str]:
    depth = min(len(path) + 1, 4)
    out = [f"{'#' * depth} {' '.join(path)}", ""]
    text = _prose(cmd.help)
    if text:
        out += [text, ""]
    ctx = Context(cmd, info_name=" ".join(path))
    pieces = ["[OPTIONS]"] if any(p.param_type_name == "option" for p in cmd.params) else []
    for p in cmd.params:
        if p.param_type_name == "argument":
            name = (p.name or "").upper()
            name = f"{name}..." if p.nargs == -1 else name
            pieces.append(name if p.required else f"[{name}]")
    if isinstance(cmd, TyperGroup):
        pieces.append("COMMAND [ARGS]...")
    out += ["```text", " ".join([*path, *pieces]), "```", ""]
    rows = []
    for p in cmd.params:
        if getattr(p, "hidden", False):
            continue
        if p.param_type_name == "option":
            names = ", ".join(f"`{o}`" for o in [*p.opts, *p.secondary_opts])
        else:
            names = f"`{(p.name or '').upper()}`"
        default = "" if p.required or p.default in (None, False, ()) else p.default
        if callable(default):
            default = ""
        help_text = getattr(p, "help", None) or ""
        rows.append(
            f"| {names} | {_cell(_type_of(p, ctx))} | {'yes' if p.required else ''} | "
            f"{_cell(default)} | {_cell(_MARKUP.sub('', help_text))} |"
        )
    if rows:
        out += [
            "| argument or option | type | required | default | what |",
            "|---|---|---|---|---|",
        ]
        out += [*rows, ""]
    if isinstance(cmd, TyperGroup):
        subs = [(n, c) for n, c in cmd.commands.items() if not c.hidden]
        if subs:
            out += ["| command | what |", "|---|---|"]
            for name, sub in subs:
                anchor = "-".join([*path, name]).lower()
                out.append(
                    f"| [{name}](#{anchor}) | {_cell(sub.short_help or _first_paragraph(sub.help))} |"
                )
            out.append("")
    return out


def _type_of(param: Any, ctx: Context) -> str:
    """The type as the command's help shows it (``<path>``, ``<int range>``)."""
    shown = getattr(param, "display_type", None)
    return str(shown(ctx)) if callable(shown) else ""


# -- the HTTP API ------------------------------------------------------------------------------


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document the app serves at ``/openapi.json``, built over a throwaway registry
    (the document does not depend on what a registry holds)."""
    import os

    from ..api.app import create_app
    from ..bootstrap import Registry
    from ..config import Settings

    with tempfile.TemporaryDirectory(prefix="socialcredit-reference-") as tmp:
        saved = {k: os.environ.get(k) for k in ("SOCIALCREDIT_DATABASE_URL",)}
        os.environ["SOCIALCREDIT_DATABASE_URL"] = f"sqlite:///{Path(tmp) / 'reference.db'}"
        try:
            reg = Registry(Settings.from_env())
            try:
                return create_app(reg).openapi()
            finally:
                reg.close()
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


def api_markdown(doc: dict[str, Any] | None = None) -> str:
    """Every operation of the OpenAPI document, grouped by tag, then every schema."""
    doc = doc if doc is not None else openapi_document()
    lines = [
        "# HTTP API",
        "",
        f"Generated from the OpenAPI document the registry serves at `/openapi.json` "
        f"(OpenAPI {doc.get('openapi', '')}, API version {doc['info'].get('version', '')}); "
        "a running registry shows it interactively at `/docs`. Every call but the public ones "
        "takes `Authorization: Bearer <token>`.",
        "",
    ]
    by_tag: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}
    for route, ops in doc.get("paths", {}).items():
        for method, op in ops.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            tag = (op.get("tags") or [_area(route)])[0]
            by_tag.setdefault(tag, []).append((method.upper(), route, op))
    for tag in sorted(by_tag):
        lines += [f"## {tag}", ""]
        for method, route, op in by_tag[tag]:
            lines += [f"### `{method} {route}`", ""]
            if op.get("summary"):
                lines += [f"**{_cell(op['summary'])}**", ""]
            if op.get("description"):
                lines += [_prose(op["description"]), ""]
            params = op.get("parameters") or []
            if params:
                lines += ["| parameter | in | required | type | what |", "|---|---|---|---|---|"]
                for p in params:
                    lines.append(
                        f"| `{p['name']}` | {p.get('in', '')} | "
                        f"{'yes' if p.get('required') else ''} | "
                        f"{_cell(_schema_type(p.get('schema', {})))} | "
                        f"{_cell(p.get('description', ''))} |"
                    )
                lines.append("")
            body = op.get("requestBody")
            if body:
                kinds = ", ".join(
                    f"`{media}` {_schema_type(spec.get('schema', {}))}"
                    for media, spec in body.get("content", {}).items()
                )
                lines += [f"Body: {kinds}", ""]
            responses = op.get("responses") or {}
            if responses:
                lines += ["| status | what |", "|---|---|"]
                for status, resp in responses.items():
                    content = resp.get("content", {})
                    shape = ", ".join(_schema_type(c.get("schema", {})) for c in content.values())
                    lines.append(
                        f"| {status} | {_cell(resp.get('description', ''))}"
                        f"{' — ' + _cell(shape) if shape.strip() else ''} |"
                    )
                lines.append("")
    schemas = doc.get("components", {}).get("schemas", {})
    if schemas:
        lines += ["## Schemas", ""]
        for name in sorted(schemas):
            s = schemas[name]
            lines += [f"### {name}", ""]
            if s.get("description"):
                lines += [_prose(s["description"]), ""]
            props = s.get("properties") or {}
            required = set(s.get("required") or [])
            if props:
                lines += ["| field | type | required | what |", "|---|---|---|---|"]
                for field, spec in props.items():
                    lines.append(
                        f"| `{field}` | {_cell(_schema_type(spec))} | "
                        f"{'yes' if field in required else ''} | "
                        f"{_cell(spec.get('description', ''))} |"
                    )
                lines.append("")
            elif s.get("enum"):
                lines += ["One of: " + ", ".join(f"`{v}`" for v in s["enum"]), ""]
    return "\n".join(lines).rstrip() + "\n"


def _area(route: str) -> str:
    """An untagged operation's section: its path's first segment after the version."""
    parts = [p for p in route.split("/") if p and p not in {"v1"} and not p.startswith("{")]
    return parts[0] if parts else "other"


def _schema_type(s: dict[str, Any]) -> str:
    if "$ref" in s:
        name = s["$ref"].rsplit("/", 1)[-1]
        return f"[{name}](#{name.lower()})"
    for key in ("anyOf", "oneOf", "allOf"):
        if key in s:
            return " or ".join(_schema_type(x) for x in s[key])
    t = s.get("type")
    if t == "array":
        return f"list of {_schema_type(s.get('items', {}))}"
    if t == "object" and isinstance(s.get("additionalProperties"), dict):
        return f"map to {_schema_type(s['additionalProperties'])}"
    if "enum" in s:
        return " \\| ".join(json.dumps(v, ensure_ascii=False) for v in s["enum"])
    if "const" in s:
        return json.dumps(s["const"], ensure_ascii=False)
    fmt = s.get("format")
    return f"{t} ({fmt})" if t and fmt else str(t or "any")


# -- the policy pack ---------------------------------------------------------------------------


def _pack_files() -> list[tuple[str, type[BaseModel], str]]:
    from ..policy import model as m

    return [
        ("pack.yaml", m.PackMeta, "the pack itself: id, version, languages, time zone"),
        ("citations.yaml", m.Citation, "a map of citation ids to legal documents"),
        ("record_types/*.yaml", m.RecordType, "a list of record types"),
        ("lists/*.yaml", m.ListDef, "a list of red and black lists"),
        ("measures/*.yaml", m.Measure, "a list of measures"),
        ("sources/*.yaml", m.Source, "a list of sources (competent authorities)"),
        ("grading/*.yaml", m.GradingMethod, "a list of grading methods"),
        ("formats/*.yaml", m.FormatSpec, "a list of national publication formats"),
        ("lending.yaml", m.LendingPolicy, "consent, the lender's report and the score"),
        ("resolution/thresholds.yaml", m.ResolutionPolicy, "resolution's thresholds"),
        ("publication.yaml", m.PublicationPolicy, "what is published, and how"),
        ("intake.yaml", m.IntakePolicy, "what is kept of refused rows"),
        ("objections.yaml", m.RecordObjections, "objections to records"),
        ("statements.yaml", m.StatementPolicy, "the subject's statements"),
        ("labels.yaml", m.Labels, "names of fields and values in the pack's languages"),
        ("versions/<date>/version.yaml", m.VersionFile, "a dated version of the rules"),
    ]


def pack_markdown() -> str:
    """Each file of a policy pack, the model it is read into, and every model's fields."""
    lines = [
        "# Policy pack",
        "",
        "Generated from the models the pack loader reads each file into "
        "(`socialcredit.policy.model`); the loader refuses any key not listed here. Every "
        "entry names its legal basis by citation id (`citations.yaml`). How to write a pack: "
        "[Policy packs](../packs.md).",
        "",
        "| file | read as | holds |",
        "|---|---|---|",
    ]
    for file, model, what in _pack_files():
        lines.append(f"| `{file}` | [{model.__name__}](#{model.__name__.lower()}) | {what} |")
    lines.append("")
    seen: list[type[BaseModel]] = []
    queue = [model for _, model, _ in _pack_files()]
    while queue:
        model = queue.pop(0)
        if model in seen:
            continue
        seen.append(model)
        section, nested = _model_section(model)
        lines += section
        queue += [n for n in nested if n not in seen]
    return "\n".join(lines).rstrip() + "\n"


def _model_section(model: type[BaseModel]) -> tuple[list[str], list[type[BaseModel]]]:
    out = [f"## {model.__name__}", ""]
    doc = model.__doc__
    if doc and not doc.startswith(f"{model.__name__}("):
        out += [_prose(doc), ""]
    comments = _field_comments(model)
    nested: list[type[BaseModel]] = []
    if model.model_fields:
        out += ["| key | type | required | default | what |", "|---|---|---|---|---|"]
    for name, info in model.model_fields.items():
        nested += _models_in(info.annotation)
        if info.is_required():
            default = ""
        elif info.default_factory is not None:
            default = _cell(json.dumps(_jsonable(info.default_factory()), ensure_ascii=False))  # type: ignore[call-arg]
        else:
            default = _cell(json.dumps(_jsonable(info.default), ensure_ascii=False))
        out.append(
            f"| `{info.alias or name}` | {_type_name(info.annotation)} | "
            f"{'yes' if info.is_required() else ''} | {default} | "
            f"{_cell(comments.get(name, ''))} |"
        )
    out.append("")
    return out, nested


def _jsonable(v: Any) -> Any:
    if isinstance(v, BaseModel):
        return v.model_dump(mode="json", exclude_defaults=True)
    try:
        json.dumps(v)
    except TypeError:
        return str(v)
    return v


def _field_comments(model: type[BaseModel]) -> dict[str, str]:
    """A field's ``#:`` comment lines above it and its trailing ``#`` comment, from the source."""
    try:
        source = inspect.getsource(model)
    except (OSError, TypeError):
        return {}
    found: dict[str, str] = {}
    pending: list[str] = []
    field = re.compile(r"^\s{4}(\w+)\s*:")
    for line in source.splitlines()[1:]:
        stripped = line.strip()
        if stripped.startswith("#:"):
            pending.append(stripped[2:].strip())
            continue
        m = field.match(line)
        if m and m.group(1) in model.model_fields:
            text = " ".join(pending)
            if "  # " in line:
                text = (text + " " + line.split("  # ", 1)[1].strip()).strip()
            found[m.group(1)] = text.replace("``", "`")
        if not stripped.startswith("#"):
            pending = []
    return found


def _models_in(tp: Any) -> list[type[BaseModel]]:
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return [tp]
    return [m for arg in typing.get_args(tp) for m in _models_in(arg)]


def _type_name(tp: Any) -> str:
    if tp is type(None):
        return "null"
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        name = tp.__name__
        return f"[{name}](#{name.lower()})"
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Literal:
        return " \\| ".join(f"`{a}`" for a in args)
    if origin in (list, tuple, set, frozenset):
        return f"list of {_type_name(args[0])}" if args else "list"
    if origin is dict:
        return f"map of {_type_name(args[0])} to {_type_name(args[1])}" if args else "map"
    if origin is typing.Union or type(tp).__name__ == "UnionType":
        return " or ".join(_type_name(a) for a in args)
    if origin is typing.Annotated:
        return _type_name(args[0])
    if hasattr(tp, "__value__"):  # a type alias (``type Basis = ...``)
        return _type_name(tp.__value__)
    return getattr(tp, "__name__", str(tp))


def write_all(out: Path) -> list[Path]:
    """Write the three references into ``out`` (for a look without building the site)."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in (
        ("cli.md", cli_markdown()),
        ("api.md", api_markdown()),
        ("pack.md", pack_markdown()),
    ):
        (out / name).write_text(text, encoding="utf-8")
        written.append(out / name)
    return written
