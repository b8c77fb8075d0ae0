"""Spec tooling for openai-uploads: one concern per module.

  yamlio           YAML in and out, reading local/remote/compressed specs
  extract          the /uploads fragment of a whole upstream spec
  overlay          OpenAPI Overlay 1.0 (the subset this project uses)
  report           structured differences between two fragments
  coverage         operations of a fragment against the ones uploads-ext knows
  semver           additive or breaking, per operation and schema
  generate         running the pinned generator over the patched templates
  check_generated  generated/ against a fresh regeneration
  budget           lines of hand patches against the recorded ceiling
  cli              the command line (`python scripts/spec_tools --help`)

Everything is deterministic: same input, same bytes out. Only PyYAML is needed.
"""
