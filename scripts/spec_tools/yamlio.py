"""YAML in and out: reading specs (paths, URLs, .xz/.gz) and writing stable block YAML."""
from __future__ import annotations

import gzip
import lzma
import re
import urllib.request
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import Composer


class _Dumper(yaml.SafeDumper):
    """Block-style YAML, multi-line strings as literal blocks, no anchors/aliases."""

    def ignore_aliases(self, data: Any) -> bool:  # noqa: D401 - yaml API
        return True


def _str_presenter(dumper: yaml.SafeDumper, data: str) -> yaml.Node:
    if "\n" in data:
        # Literal blocks cannot carry trailing spaces on a line; fall back to quoted style there.
        if not any(line != line.rstrip() for line in data.split("\n")):
            return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", data)


_Dumper.add_representer(str, _str_presenter)


class _RedefiningLoader(yaml.SafeLoader):
    """Accepts an anchor defined twice (YAML 1.2 allows it; some upstream snapshots do it): the
    later definition wins for the aliases after it. Pure Python, so used only when needed."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if not self.check_event(yaml.events.AliasEvent):
            anchor = getattr(self.peek_event(), "anchor", None)
            if anchor is not None:
                self.anchors.pop(anchor, None)
        return Composer.compose_node(self, parent, index)


def dump_yaml(doc: Any) -> str:
    return yaml.dump(doc, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


def read_bytes(source: str) -> bytes:
    """Read a local path or an http(s) URL; `.xz` and `.gz` files are decompressed."""
    if re.match(r"^https?://", source):
        with urllib.request.urlopen(source, timeout=60) as resp:  # noqa: S310 - explicit URL
            data = resp.read()
    else:
        data = Path(source).read_bytes()
    if source.endswith(".xz"):
        return lzma.decompress(data)
    if source.endswith(".gz"):
        return gzip.decompress(data)
    return data


def load_yaml_bytes(data: bytes) -> Any:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return yaml.load(data, Loader=loader)  # noqa: S506 - safe loader
    except yaml.composer.ComposerError as err:
        if "duplicate anchor" not in str(err):
            raise
        return yaml.load(data, Loader=_RedefiningLoader)  # noqa: S506 - safe loader


def load_yaml(source: str) -> Any:
    return load_yaml_bytes(read_bytes(source))
