"""Griffe extension used by the API reference (mkdocs.yml: ``extensions``).

The package's docstrings follow Darts (numpydoc with Sphinx roles); mkdocstrings renders Markdown. This extension
bridges the two without touching the package:

- classes whose docstring is built at import time (``__doc__ = text_model_doc(...)`` in the text models) get it
  from the imported class, since static analysis cannot see it;
- module attributes documented with a Sphinx ``#:`` comment get that comment as docstring;
- Sphinx roles (``:class:`~darts_llm.cache.EmbeddingCache```, ``:func:`get_encoder```, ...) become optional
  cross-references: a link when the target is rendered somewhere in the API reference, code otherwise;
- the text models get their ``__init__`` signature at import time (the backbone's parameters and the text
  parameters); the documented signature is that runtime signature, as users call it;
- a reST literal-block marker ``::`` at the end of a line becomes ``:``;
- numpydoc sections whose items are indented deeper than their header (the text models' assembled docstrings)
  are dedented, a list of names continued over several lines is joined, and an item naming more than four
  parameters at once ("All parameters of TiDEModel") becomes a paragraph above the parameter table instead of
  one table row per name.
"""

from __future__ import annotations

import importlib
import inspect
import re
from html import escape

import griffe

_MAX_GROUP = 4
# a line that only lists parameter names (the continuation of a wrapped name list)
_NAMES = re.compile(r"^\s*\*{0,2}[A-Za-z_]\w*(,\s*\*{0,2}[A-Za-z_]\w*)*,?\s*$")

_ROLE = re.compile(r":(?:py:)?(?:class|meth|func|attr|data|mod|exc|obj|const):`(~?)([^`<>]+?)`")


def _walk(obj):
    yield obj
    for member in obj.members.values():
        if member.is_alias:
            continue
        yield from _walk(member)


class DartsLLMDocs(griffe.Extension):
    def on_package(self, *, pkg: griffe.Module, **kwargs) -> None:
        if pkg.name != "darts_llm":
            return
        for obj in list(_walk(pkg)):
            if obj.is_class and obj.path.startswith("darts_llm.models."):
                self._generated_init(obj)
            if obj.docstring is None:
                self._dynamic_docstring(obj)
            if obj.docstring is None and obj.is_attribute:
                self._comment_docstring(obj)
            if obj.docstring is not None:
                obj.docstring.value = self._markdown(obj, obj.docstring.value)

    @staticmethod
    def _generated_init(cls) -> None:
        """Text models get their ``__init__`` signature at import time (the backbone's parameters plus the text
        parameters, ``darts_llm.models.text_settings.merged_signature``): document that runtime signature."""
        try:
            runtime = getattr(importlib.import_module(cls.module.path), cls.name)
        except (ImportError, AttributeError):  # pragma: no cover - documentation build only
            return
        signature = getattr(getattr(runtime, "__init__", None), "__signature__", None)
        if signature is None:
            return
        params = []
        for p in signature.parameters.values():
            annotation = None if p.annotation is p.empty else inspect.formatannotation(p.annotation)
            default = None if p.default is p.empty else repr(p.default)
            params.append(griffe.Parameter(p.name, annotation=annotation, kind=griffe.ParameterKind(p.kind.description),
                                           default=default))
        init = cls.members.get("__init__")
        if init is None or init.is_alias:
            init = griffe.Function("__init__", parent=cls)
            cls.set_member("__init__", init)
        init.parameters = griffe.Parameters(*params)

    @staticmethod
    def _dynamic_docstring(obj) -> None:
        if not obj.is_class:
            return
        try:
            runtime = getattr(importlib.import_module(obj.module.path), obj.name)
        except (ImportError, AttributeError):  # pragma: no cover - documentation build only
            return
        doc = runtime.__dict__.get("__doc__")
        if doc:
            obj.docstring = griffe.Docstring(inspect.cleandoc(doc), parent=obj, lineno=obj.lineno)

    @staticmethod
    def _comment_docstring(obj) -> None:
        try:
            lines = obj.module.lines
        except Exception:  # noqa: BLE001 - e.g. a module without source
            return
        if not obj.lineno or obj.parent is not obj.module:
            return
        comment = []
        i = obj.lineno - 2
        while i >= 0 and lines[i].lstrip().startswith("#:"):
            comment.insert(0, lines[i].lstrip()[2:].strip())
            i -= 1
        if comment:
            obj.docstring = griffe.Docstring(" ".join(comment), parent=obj, lineno=obj.lineno)

    @staticmethod
    def _markdown(obj, text: str) -> str:
        def role(match: re.Match) -> str:
            tilde, target = match.group(1), match.group(2).strip()
            target = target.rstrip("()")
            shown = target.rsplit(".", 1)[-1] if tilde else target
            identifier = _identifier(obj, target)
            return f'<autoref identifier="{escape(identifier)}" optional><code>{escape(shown)}</code></autoref>'

        text = _ROLE.sub(role, text)
        text = re.sub(r"(\S)::$", r"\1:", text, flags=re.MULTILINE)
        return _normalize_sections(text)


def _identifier(obj, target: str) -> str:
    """Full path of a Sphinx role target written in the docstring of ``obj`` (best effort)."""
    head, _, rest = target.partition(".")
    path = None
    scope = obj if (obj.is_class or obj.is_module) else obj.parent
    while scope is not None and path is None:
        member = scope.members.get(head)
        if member is not None:
            path = member.target_path if member.is_alias else member.path
        scope = scope.parent
    if path is None:
        try:
            path = obj.resolve(head)
        except Exception:  # noqa: BLE001 - griffe.NameResolutionError and friends
            path = head
    return f"{path}.{rest}" if rest else path


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _normalize_sections(text: str) -> str:
    """Dedent over-indented numpydoc sections, join wrapped name lists, lift big parameter groups out."""
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        is_header = (
            i + 1 < len(lines)
            and re.fullmatch(r"-{3,}", lines[i + 1].strip() or "x") is not None
            and line.strip()
            and _indent(line) == _indent(lines[i + 1])
        )
        if not is_header:
            out.append(line)
            i += 1
            continue
        base = _indent(line)
        j = i + 2
        while j < len(lines) and not (
            j + 1 < len(lines) and lines[j].strip() and re.fullmatch(r"-{3,}", lines[j + 1].strip() or "x")
        ):
            j += 1
        body = lines[i + 2 : j]
        nonblank = [_indent(b) for b in body if b.strip()]
        shift = min(nonblank) - base if nonblank and min(nonblank) > base else 0
        body = [b[shift:] if b.strip() else "" for b in body]
        body, lifted = _group_items(body, base, line.strip() in ("Parameters", "Other Parameters"))
        if lifted:
            while out and not out[-1].strip():
                out.pop()
            out += ["", *lifted, ""]
        out += [line, lines[i + 1], *body]
        i = j
    return "\n".join(out)


def _group_items(body: list[str], base: int, is_parameters: bool) -> tuple[list[str], list[str]]:
    """Join item name lines that end with a comma; lift items naming more than ``_MAX_GROUP`` parameters."""
    out: list[str] = []
    lifted: list[str] = []
    k = 0
    while k < len(body):
        line = body[k]
        if line.strip() and _indent(line) == base:
            names = line.rstrip()
            while names.endswith(",") and k + 1 < len(body) and _NAMES.match(body[k + 1]):
                k += 1
                names += " " + body[k].strip()
            desc = []
            while k + 1 < len(body) and (not body[k + 1].strip() or _indent(body[k + 1]) > base):
                k += 1
                desc.append(body[k])
            n_names = len([n for n in names.split(":")[0].split(",") if n.strip()])
            if is_parameters and n_names > _MAX_GROUP:
                listed = ", ".join(f"`{n.strip()}`" for n in names.split(":")[0].split(",") if n.strip())
                text = " ".join(d.strip() for d in desc if d.strip())
                lifted.append(f"**Inherited parameters** {listed}: {text}")
            elif is_parameters and 1 < n_names and ":" not in names:
                # one item per name, so that each gets its own type and default from the signature
                for n in names.split(","):
                    if n.strip():
                        out += [" " * base + n.strip(), *desc]
            else:
                out += [names, *desc]
        else:
            out.append(line)
        k += 1
    return out, lifted

