"""The workflow config checked before any job runs: each problem named by its key path.

``check_config`` validates against workflow/schemas/config.schema.yaml (jsonschema), then checks
the facts the schema cannot express: names that refer to other keys, files on disk, and settings
a block rejects. It raises ``ConfigError`` with one line per problem, never the schema itself.

Snakemake's ``--config key=value`` parses a nested value such as ``table1={"n_seeds": 2}`` with
YAML's BaseLoader, which keeps every scalar a string ('2'); strings where the schema wants a
number, a boolean or null are read back as YAML scalars first (``coerce_scalars``).
"""

from __future__ import annotations

import difflib
from pathlib import Path

import jsonschema
import yaml

from hdnn.catalog import IDX_FILES, SPLIT_ARCHS
from hdnn.runs import PROBES

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_PATH = ROOT / "workflow" / "schemas" / "config.schema.yaml"
# The workflow's config files, merged in this order (the Snakefile loads them from here).
CONFIG_FILES = ("config/config.yaml", "config/ablation_table1.yaml", "config/tuning_table1.yaml",
                "config/experiments_table1.yaml")
MAX_PROBLEMS = 10  # a config with more is shown in part: the first ones are fixed first
_NON_STRING = {"integer": int, "number": (int, float), "boolean": bool, "null": type(None)}


class ConfigError(ValueError):
    pass


def key_path(path) -> str:
    """``('table1', 'depths', 'swiss_roll', 0)`` → ``table1.depths.swiss_roll[0]``."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else f".{part}" if out else str(part)
    return out or "(top level)"


def _validator(schema: dict) -> jsonschema.protocols.Validator:
    return jsonschema.validators.validator_for(schema)(schema)


def _set(config: dict, path, value) -> None:
    *parents, last = path
    for part in parents:
        config = config[part]
    config[last] = value


def _scalar(text: str):
    """A YAML scalar, or a float YAML 1.1 leaves a string (``1e-3``)."""
    try:
        value = yaml.safe_load(text)
        return float(text) if isinstance(value, str) else value
    except (yaml.YAMLError, ValueError):
        return text


def coerce_scalars(config: dict, schema: dict) -> dict:
    """Strings where the schema expects a non-string type, read as YAML scalars (in place).
    One pass is enough: a scalar has no children whose errors it could hide."""
    for err in list(_validator(schema).iter_errors(config)):
        wanted = err.validator_value if err.validator == "type" else []
        wanted = [wanted] if isinstance(wanted, str) else wanted
        if not isinstance(err.instance, str) or not err.path:
            continue
        value = _scalar(err.instance)
        if any(isinstance(value, _NON_STRING[t]) and (t == "boolean" or not isinstance(value, bool))
               for t in wanted if t in _NON_STRING):
            _set(config, err.path, value)
    return config


def _describe(err: jsonschema.ValidationError) -> list[str]:
    where = key_path(err.absolute_path)
    if err.validator == "additionalProperties" and err.validator_value is False:
        allowed = list(err.schema.get("properties", {}))
        lines = []
        for extra in sorted(set(err.instance) - set(allowed)):
            guess = difflib.get_close_matches(str(extra), allowed, n=1)
            hint = f"did you mean {guess[0]!r}?" if guess else f"allowed: {', '.join(allowed)}"
            lines.append(f"config key {key_path([*err.absolute_path, extra])!r} is not allowed ({hint})")
        return lines
    if err.validator == "required":
        missing = err.message.split("'")[1]
        return [f"config key {key_path([*err.absolute_path, missing])!r} is missing"]
    if err.validator == "enum":
        return [f"config key {where!r} = {err.instance!r} is not allowed: one of "
                f"{', '.join(map(str, err.validator_value))}"]
    if err.validator == "type":
        return [f"config key {where!r} = {err.instance!r} is not allowed: expected "
                f"{' or '.join(err.validator_value) if isinstance(err.validator_value, list) else err.validator_value}"]
    return [f"config key {where!r}: {err.message}"]


def schema_problems(config: dict, schema: dict) -> list[str]:
    errors = sorted(_validator(schema).iter_errors(config), key=lambda e: [str(p) for p in e.path])
    return [line for err in errors for line in _describe(err)]


def _source_dir_problems(config: dict) -> list[str]:
    source = config.get("mnist", {}).get("source_dir")
    if source is None:
        return []
    folder = Path(source)
    if not folder.is_dir():
        return [f"config key 'mnist.source_dir' = {source!r} is not an existing folder "
                f"(it must hold the four MNIST IDX files; null fetches them)"]
    missing = [n for n in IDX_FILES if not (folder / n).is_file() and not (folder / f"{n}.gz").is_file()]
    if missing:
        return [f"config key 'mnist.source_dir' = {source!r} lacks {', '.join(missing)} "
                f"(plain or .gz)"]
    return []


def _figure2_problems(config: dict) -> list[str]:
    f2 = config.get("figure2")
    if f2 is None:
        return []
    nets = {net["name"]: net for net in f2["networks"]}
    problems = []
    if len(nets) < len(f2["networks"]):
        names = [net["name"] for net in f2["networks"]]
        dup = sorted({n for n in names if names.count(n) > 1})
        problems.append(f"config key 'figure2.networks' names {', '.join(dup)} more than once")
    name = f2["eigenvalues"]
    net = nets.get(name)
    if net is None:
        guess = difflib.get_close_matches(name, list(nets), n=1)
        hint = f"did you mean {guess[0]!r}?" if guess else f"one of {', '.join(nets)}"
        problems.append(f"config key 'figure2.eigenvalues' = {name!r} is not a figure2.networks "
                        f"name ({hint})")
    elif net["arch"] not in ("H1", "H2") or not net["time_invariant"]:
        problems.append(f"config key 'figure2.eigenvalues' = {name!r} must name a time-invariant "
                        f"H1 or H2 network (Lemma 3); it is a "
                        f"{'time-invariant' if net['time_invariant'] else 'time-varying'} {net['arch']}")
    for i, net in enumerate(f2["networks"]):
        if not any(layer <= net["depth"] for layer in f2["layers"]):
            problems.append(f"config key 'figure2.layers' = {f2['layers']}: none is within the depth "
                            f"{net['depth']} of figure2.networks[{i}] ({net['name']})")
    return problems


def _nf_problems(config: dict) -> list[str]:
    """An odd nf where a block that splits the state in halves uses it."""
    t1, f2, t2 = config["table1"], config.get("figure2"), config.get("table2")
    runs = config.get("experiments", {}).get("runs", {})
    run_archs = {name: {a for cell in run["cells"].values() for a in cell} for name, run in runs.items()}
    table1_archs = set(t1["archs"]).union(*run_archs.values())  # experiments start from a protocol
    places = [("table1.base", t1["base"], table1_archs)]
    places += [(f"table1.protocols.{p}", s, table1_archs) for p, s in t1["protocols"].items()]
    if f2 is not None:
        places.append(("figure2.settings", f2.get("settings", {}), {n["arch"] for n in f2["networks"]}))
    places += [(f"experiments.runs.{name}.settings", runs[name]["settings"], archs)
               for name, archs in run_archs.items()]
    if t2 is not None:
        places.append(("table2.base", t2["base"], set(t2["archs"])))
        places += [(f"table2.per_arch.{a}", s, {a}) for a, s in t2["per_arch"].items()]
    return [f"config key '{where}.nf' = {s['nf']} must be even: {', '.join(sorted(split))} "
            f"split the state in halves"
            for where, s, archs in places
            if "nf" in s and s["nf"] % 2 and (split := archs & set(SPLIT_ARCHS))]


def _table2_problems(config: dict) -> list[str]:
    t2 = config.get("table2")
    if t2 is None:
        return []
    missing = [f"config key 'table2.per_arch' has no entry for {arch} (each of table2.archs needs one)"
               for arch in t2["archs"] if arch not in t2["per_arch"]]
    return missing + [f"config key 'table2.cross.{name}.settings' = {c['settings']!r} has no "
                      f"table2.per_arch entry" for name, c in t2.get("cross", {}).items()
                      if c["settings"] not in t2["per_arch"]]


def _experiments_problems(config: dict) -> list[str]:
    runs = config.get("experiments", {}).get("runs", {})
    only = config.get("experiments", {}).get("only")
    if only is None:
        return []
    kept = set(only) & set(runs)
    return ([f"config key 'experiments.only' names {name!r}, which is not in experiments.runs "
             f"(one of {', '.join(runs)})" for name in only if name not in runs]
            + [f"config key 'experiments.only' keeps {name!r} but not {runs[name]['control_of']!r}, "
               f"the experiment it is the control arm of" for name in sorted(kept)
               if runs[name].get("control_of", name) not in kept])


def select_experiments(config: dict) -> dict:
    """The config with only the experiments ``experiments.only`` names (all when it is absent):
    a small grid such as the smoke's runs its own few, not every experiment of the project."""
    experiments = config.get("experiments", {})
    if experiments.get("only") is not None:
        experiments["runs"] = {name: run for name, run in experiments["runs"].items()
                               if name in experiments["only"]}
    return config


def merge_config(files=CONFIG_FILES, root: Path = ROOT) -> dict:
    """The config files merged in order as Snakemake merges them (nested keys updated), unchecked."""
    from snakemake.utils import update_config

    config: dict = {}
    for name in files:
        update_config(config, yaml.safe_load((Path(root) / name).read_text()) or {})
    return config


def load_config(root: Path = ROOT, files=CONFIG_FILES) -> dict:
    """The workflow's config outside Snakemake: merged, checked and its experiments selected, as
    the Snakefile does."""
    return select_experiments(check_config(merge_config(files, root)))


def _diagnostics_problems(config: dict) -> list[str]:
    return [f"config key 'diagnostics.probes' names {name!r}: one of {', '.join(PROBES)}"
            for name in config["diagnostics"]["probes"] if name not in PROBES]


def _baseline_problems(config: dict) -> list[str]:
    problems = []
    for stage, folder in (config.get("certify_baseline") or {}).items():
        if stage not in config.get("certify", {}):
            problems.append(f"config key 'certify_baseline.{stage}': stage {stage!r} has no sample "
                            f"(config key 'certify.{stage}')")
        elif not Path(folder).is_dir():
            problems.append(f"config key 'certify_baseline.{stage}' = {folder!r} is not an existing folder "
                            f"(a results_dir where `snakemake certify_runs` ran at the committed runs' code)")
    return problems


def check_config(config: dict, schema_path: str | Path = SCHEMA_PATH) -> dict:
    """The config, its --config strings coerced; ``ConfigError`` naming every problem's key."""
    schema = yaml.safe_load(Path(schema_path).read_text())
    coerce_scalars(config, schema)
    problems = schema_problems(config, schema)
    if not problems:  # the cross-field checks rely on the shapes the schema guarantees
        problems = (_figure2_problems(config) + _source_dir_problems(config)
                    + _nf_problems(config) + _table2_problems(config) + _experiments_problems(config)
                    + _diagnostics_problems(config) + _baseline_problems(config))
    if problems:
        more = len(problems) - MAX_PROBLEMS
        raise ConfigError("invalid config:\n  " + "\n  ".join(problems[:MAX_PROBLEMS])
                          + (f"\n  ... and {more} more" if more > 0 else ""))
    return config
