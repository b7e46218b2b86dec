"""One-line TypeErrors for arguments of the wrong type.

pybind11 reports a call it cannot convert as a multi-line message that lists
the signature and reprints every argument (a whole array included). This
module wraps the extension's functions and methods so that such a call raises
``TypeError: rank_ensemble: restarts must be int, not float (2.5)`` instead;
every other exception passes through unchanged.
"""
import functools
import numbers
import os
import re

_SIGNATURE = re.compile(r"^\s*1\. \((.*)\) -> ", re.M)


def _split_top(text):
    parts, depth, quote, start = [], 0, None, 0
    for i, ch in enumerate(text):
        if quote:
            quote = None if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    parts.append(text[start:].strip())
    return [p for p in parts if p]


def _parameters(message):
    """[(name, type text)] of the first signature pybind11 lists, '*' skipped."""
    match = _SIGNATURE.search(message)
    if not match:
        return None
    out = []
    for p in _split_top(match.group(1)):
        if p in ("*", "/"):
            continue
        name, _, rest = p.partition(":")
        out.append((name.strip(), rest.partition("=")[0].strip()))
    return out


def _accepts(type_text, value):
    simple = {"int": lambda v: isinstance(v, numbers.Integral) and not isinstance(v, bool),
              "float": lambda v: isinstance(v, numbers.Real) and not isinstance(v, bool),
              "bool": lambda v: isinstance(v, bool) or type(v).__name__ == "bool_",
              "str": lambda v: isinstance(v, str),
              "os.PathLike": lambda v: isinstance(v, (str, os.PathLike))}
    if type_text in simple:
        return simple[type_text](value)
    optional = re.fullmatch(r"Optional\[(.*)\]", type_text)
    if optional:
        return value is None or _accepts(optional.group(1), value)
    pair = re.fullmatch(r"Tuple\[(\w+), (\w+)\]", type_text)
    if pair and pair.group(1) in simple:
        return (isinstance(value, (tuple, list)) and len(value) == 2 and
                all(simple[pair.group(1)](v) for v in value))
    element = re.fullmatch(r"List\[(\w+)\]", type_text)
    if element and element.group(1) in simple:
        try:
            return all(simple[element.group(1)](v) for v in value)
        except TypeError:
            return False
    return True  # object, arrays, classes: the binding checks those itself


def _one_line(name, message, args, kwargs):
    params = _parameters(message)
    if params is None:
        return None
    given = dict(zip((p for p, _ in params), args))
    given.update(kwargs)
    known = {p for p, _ in params}
    for key in kwargs:
        if key not in known:
            return f"{name}: unexpected argument '{key}'"
    for param, type_text in params:
        if param in given and param != "self" and not _accepts(type_text, given[param]):
            value = given[param]
            shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
            return f"{name}: {param} must be {type_text}, not {type(value).__name__} ({shown})"
    if len(args) > len(params):
        return f"{name}: takes at most {len(params)} positional arguments, got {len(args)}"
    return f"{name}: the arguments do not match its signature (help(ltr.{name}) shows it)"


def wrap(function, name):
    @functools.wraps(function)
    def call(*args, **kwargs):
        try:
            return function(*args, **kwargs)
        except TypeError as error:
            message = str(error)
            if "incompatible function arguments" not in message:
                raise
            line = _one_line(name, message, args, kwargs)
            if line is None:
                raise
            raise TypeError(line) from None
    return call


def wrap_module(namespace, extension):
    """Replaces the extension's public functions in `namespace` (and the
    methods of its classes, in place) by wrappers with one-line TypeErrors."""
    for name, member in vars(extension).items():
        if name.startswith("_"):
            continue
        if isinstance(member, type):
            for attr, method in list(vars(member).items()):
                if not attr.startswith("__") and type(method).__name__ == "instancemethod":
                    setattr(member, attr, wrap(method, f"{member.__name__}.{attr}"))
        elif callable(member) and type(member).__name__ == "builtin_function_or_method":
            namespace[name] = wrap(member, name)
