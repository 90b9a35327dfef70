"""Typed parameter groups, one module per stage, so that a stage's DVC deps name only the groups
it reads. Kedro converts `params:<group>` node inputs into these (Kedro >= 1.3), the CLI builds
them from YAML (`loading`), and the library only ever sees the typed objects.

Every value has one source, the YAML in conf/base: a field that conf/base sets has no default
here (tests/test_config.py fails when they diverge). Every model forbids unknown keys, so a typo
in YAML fails loudly, naming the key.

Import the module of the group you need (`from seaweed_apt.config.ray import RayConfig`): this
package imports none of them, so that reading one group does not read the others.
"""
