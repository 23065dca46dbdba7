"""qa-agent's execution harness, run inside the sandbox.

It only executes and observes: qa-agent (Rust) chooses the calls, the mutants and what to
keep. Usage: python3 harness.py PLAN.json RESULT.json

The plan names a module, the calls to make (argument expressions are evaluated in the
module's namespace) and optionally mutants (whole mutated sources). For each call the result
records the returned value, the exception, the state of the instance and of mutated
arguments, and the line arcs executed in the module's file. For each mutant it records which
calls observed something different from the original module.
"""

import enum
import importlib
import importlib.util
import io
import json
import os
import math
import signal
import sys
import time
import types

MAX_ITEMS = 50
MAX_DEPTH = 4
MAX_STR = 2000


class CallTimeout(BaseException):
    """Raised by the alarm; a BaseException so that `except Exception` in the code cannot hide it."""


def _alarm(signum, frame):
    raise CallTimeout()


class CappedText(io.StringIO):
    """Swallows what the code under test prints, up to a cap."""

    def write(self, s):
        if self.tell() < 65536:
            super().write(s[:65536])
        return len(s)


def enc(v, depth=0):
    """A typed JSON tree of a value; "opaque" for anything not worth asserting exactly."""
    t = type(v)
    if v is None:
        return {"t": "none"}
    if t is bool:
        return {"t": "bool", "v": v}
    if t is int:
        return {"t": "int", "v": str(v)}
    if t is float:
        if math.isnan(v) or math.isinf(v):
            return {"t": "float", "v": repr(v), "special": True}
        return {"t": "float", "v": repr(v)}
    if t is str:
        if len(v) > MAX_STR:
            return {"t": "opaque", "cls": "str", "len": len(v)}
        return {"t": "str", "v": v}
    if t is bytes:
        if len(v) > MAX_STR:
            return {"t": "opaque", "cls": "bytes", "len": len(v)}
        return {"t": "bytes", "v": list(v)}
    if depth >= MAX_DEPTH:
        return {"t": "opaque", "cls": _name(t), "module": t.__module__}
    if t in (list, tuple, set, frozenset):
        if len(v) > MAX_ITEMS:
            return {"t": "opaque", "cls": t.__name__, "len": len(v)}
        items = [enc(x, depth + 1) for x in v]
        if t in (set, frozenset):
            items.sort(key=lambda e: json.dumps(e, sort_keys=True))
        return {"t": t.__name__, "items": items}
    if t is dict:
        if len(v) > MAX_ITEMS:
            return {"t": "opaque", "cls": "dict", "len": len(v)}
        return {"t": "dict", "items": [[enc(k, depth + 1), enc(x, depth + 1)] for k, x in v.items()]}
    if isinstance(v, enum.Enum):
        return {"t": "enum", "cls": _name(t), "module": t.__module__, "name": v.name}
    if isinstance(v, (types.FunctionType, types.BuiltinFunctionType, types.MethodType, type)):
        return {"t": "opaque", "cls": _name(t), "module": t.__module__}
    written = _repr_literal(v, t)
    if written is not None:
        return {"t": "repr", "v": written, "cls": _name(t), "module": t.__module__}
    attrs = getattr(v, "__dict__", None)
    if isinstance(attrs, dict) and not isinstance(v, types.ModuleType):
        public = {k: enc(x, depth + 1) for k, x in list(attrs.items())[:MAX_ITEMS] if not k.startswith("_")}
        return {"t": "object", "cls": _name(t), "module": t.__module__, "attrs": public}
    return {"t": "opaque", "cls": _name(t), "module": t.__module__, "len": _len(v)}


# Clock and randomness sources: a call reaching one of them has no fixed result to assert.
_CLOCK = {"time", "time_ns", "monotonic", "monotonic_ns", "perf_counter", "perf_counter_ns",
          "localtime", "gmtime", "ctime", "asctime", "strftime", "process_time"}


def _nondeterministic(fn):
    """The name of a C function that reads the clock or a random source, else None."""
    name = getattr(fn, "__name__", "")
    owner = getattr(fn, "__self__", None)
    module = getattr(fn, "__module__", None)
    if module == "time" and name in _CLOCK:
        return "time." + name
    if name in ("today", "now", "utcnow") and isinstance(owner, type) and owner.__module__ == "datetime":
        return "datetime." + owner.__name__ + "." + name
    if name == "urandom" or (module in ("posix", "nt") and name == "getpid"):
        return "os." + name
    if type(owner).__module__ in ("_random", "random") or module in ("_random", "random"):
        return "random." + name
    return None


class Clock:
    """A profile hook noting the first clock or random source a call reaches."""

    def __init__(self):
        self.used = None

    def __call__(self, frame, event, arg):
        if event == "c_call" and self.used is None:
            self.used = _nondeterministic(arg)


def _repr_literal(v, t):
    """The value's repr when it is source that builds an equal value (`datetime.date(2024,
    1, 1)`, `Fraction(1, 2)`, a namedtuple's `Week(year=2024, week=1)`); else None."""
    if t.__eq__ is object.__eq__ or t.__module__ == "builtins":
        return None
    try:
        written = repr(v)
        if len(written) > 300 or "<" in written or "\n" in written:
            return None
        top = t.__module__.split(".")[0]
        ns = {"__builtins__": __builtins__, t.__name__: t, top: sys.modules.get(top)}
        # A repr spelled with its package path (`pkg.mod.Week(1, 1)`) is written as
        # `Week(1, 1)`, imported from its module.
        prefix = t.__module__ + "."
        if "." in t.__module__ and written.startswith(prefix + t.__name__ + "("):
            written = written[len(prefix):]
        if eval(written, ns) == v:
            return written
    except Exception:
        pass
    return None


def _name(t):
    return getattr(t, "__qualname__", getattr(t, "__name__", "?"))


def _len(v):
    try:
        return len(v)
    except Exception:
        return None


class Tracer:
    """Line arcs (previous line, line) in one file, as coverage.py counts branches."""

    def __init__(self, filename):
        self.filename = filename
        self.arcs = set()

    def __call__(self, frame, event, arg):
        code = frame.f_code
        if code.co_filename != self.filename:
            return None
        last = [-code.co_firstlineno]
        arcs = self.arcs

        def local(frame, event, arg):
            if event == "line":
                arcs.add((last[0], frame.f_lineno))
                last[0] = frame.f_lineno
            elif event == "return":
                arcs.add((last[0], -code.co_firstlineno))
            return local

        return local


def load(plan, source=None):
    """Imports the module, or executes a mutated source in its place."""
    name = plan["module"]
    if source is None:
        return importlib.import_module(name)
    original = importlib.import_module(name)
    module = types.ModuleType(name)
    module.__file__ = original.__file__
    module.__package__ = original.__package__
    module.__spec__ = original.__spec__
    sys.modules[name] = module
    try:
        exec(compile(source, original.__file__, "exec"), module.__dict__)
    finally:
        sys.modules[name] = original
    return module


def call(module, spec, timeout, tracer=None):
    """One call, observed. Never raises (but CallTimeout is reported, not propagated)."""
    ns = dict(vars(module))
    out = {"id": spec["id"]}
    stdout, stderr, argv = sys.stdout, sys.stderr, sys.argv
    printed = CappedText()
    sys.stdout, sys.stderr = printed, CappedText()
    if spec.get("argv") is not None:
        sys.argv = list(spec["argv"])
    signal.setitimer(signal.ITIMER_REAL, timeout)
    started = time.perf_counter()
    phase = "setup"
    try:
        args = [eval(a, ns) for a in spec["args"]]
        kwargs = {k: eval(a, ns) for k, a in spec.get("kwargs", {}).items()}
        target = spec["target"].split(".")
        owner = None
        if len(target) == 2:
            cls = getattr(module, target[0])
            if spec.get("ctor") is not None:
                ctor = spec["ctor"]
                owner = cls(*[eval(a, ns) for a in ctor["args"]], **{k: eval(a, ns) for k, a in ctor.get("kwargs", {}).items()})
                for step in spec.get("setup", []):
                    getattr(owner, step["method"])(*[eval(a, ns) for a in step["args"]])
                fn = getattr(owner, target[1]) if not spec.get("property") else None
            else:
                fn = getattr(cls, target[1])
        else:
            fn = getattr(module, target[0])
        before = [enc(a) for a in args]
        if owner is not None:
            out["state_before"] = enc(owner).get("attrs", {})
        clock = Clock()
        if tracer is not None:
            sys.settrace(tracer)
            sys.setprofile(clock)
        phase = "call"
        try:
            value = getattr(owner, target[1]) if fn is None else fn(*args, **kwargs)
            if spec.get("consume"):
                value = list(value)
        finally:
            sys.settrace(None)
            sys.setprofile(None)
        if clock.used:
            out["nondeterministic"] = clock.used
        out["value"] = enc(value)
        if owner is not None:
            out["state"] = enc(owner).get("attrs", {})
        changed = {str(i): enc(a) for i, a in enumerate(args) if enc(a) != before[i]}
        if changed:
            out["args_after"] = changed
    except CallTimeout:
        out["timeout"] = True
    except BaseException as e:
        if phase == "setup" or isinstance(e, (KeyboardInterrupt, GeneratorExit)):
            out["setup_error"] = _name(type(e))
        elif isinstance(e, SystemExit):
            out["exc"] = {"type": "SystemExit", "module": "builtins", "msg": str(e.code)[:200]}
        else:
            out["exc"] = {"type": _name(type(e)), "module": type(e).__module__, "msg": str(e)[:200]}
    finally:
        sys.settrace(None)
        sys.setprofile(None)
        signal.setitimer(signal.ITIMER_REAL, 0)
        sys.stdout, sys.stderr, sys.argv = stdout, stderr, argv
    # What the call printed is behaviour too (a CLI's output); long output only by length.
    text = printed.getvalue()
    if text and phase == "call":
        out["stdout"] = text if len(text) <= MAX_STR else {"len": len(text)}
    out["ms"] = round((time.perf_counter() - started) * 1000, 3)
    return out


def observation(result):
    return {k: result.get(k) for k in ("value", "exc", "state", "args_after", "timeout", "stdout")}


def main():
    plan_path, result_path = sys.argv[1], os.path.abspath(sys.argv[2])
    with open(plan_path, encoding="utf-8") as f:
        plan = json.load(f)
    sys.path.insert(0, plan["root"])
    # The second exploration run sees another working directory and command line: a call
    # whose result depends on them (relative paths, argparse) then differs and is not used.
    if plan.get("elsewhere"):
        os.makedirs("elsewhere/deeper", exist_ok=True)
        os.chdir("elsewhere/deeper")
        sys.argv = ["qa-probe", "1"]
    else:
        sys.argv = ["qa-probe"]
    signal.signal(signal.SIGALRM, _alarm)
    timeout = plan.get("timeout", 2.0)
    result = {"calls": [], "mutants": []}
    # Written as we go: if a C-level hang gets the whole process killed, what ran is kept.
    with open(result_path, "w", encoding="utf-8") as out:
        try:
            stdout = sys.stdout
            sys.stdout = CappedText()
            try:
                module = load(plan)
            finally:
                sys.stdout = stdout
        except BaseException as e:
            out.write(json.dumps({"import_error": {"type": _name(type(e)), "msg": str(e)[:500]}}) + "\n")
            return
        out.write(json.dumps({"imported": True}) + "\n")
        out.flush()
        filename = module.__file__
        baseline = {}
        took = {}
        for spec in plan["calls"]:
            tracer = Tracer(filename)
            r = call(module, spec, timeout, tracer)
            r["arcs"] = sorted(tracer.arcs)
            baseline[spec["id"]] = observation(r)
            took[spec["id"]] = r["ms"] / 1000
            out.write(json.dumps({"call": r}) + "\n")
            out.flush()
        by_id = {spec["id"]: spec for spec in plan["calls"]}
        for mutant in plan.get("mutants", []):
            try:
                mutated = load(plan, mutant["source"])
            except BaseException as e:
                out.write(json.dumps({"mutant": {"id": mutant["id"], "invalid": _name(type(e))}}) + "\n")
                continue
            killed = []
            hangs = 0
            for call_id in mutant["calls"]:
                # A mutant that loops forever would cost the whole alarm on every call: 20
                # times the call's own (traced) time is plenty, and two hangs are enough.
                limit = min(timeout, max(0.05, 20 * took[call_id]))
                r = call(mutated, by_id[call_id], limit)
                if observation(r) != baseline[call_id]:
                    killed.append(call_id)
                if r.get("timeout"):
                    hangs += 1
                    if hangs >= 2:
                        break
            out.write(json.dumps({"mutant": {"id": mutant["id"], "killed_by": killed}}) + "\n")
            out.flush()


if __name__ == "__main__":
    main()
