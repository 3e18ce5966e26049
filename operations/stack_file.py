"""One instance entry placed in a stack file (`config: openedx:instances`), the rest of the file kept byte for byte.

A stack file is the operator's, with comments and layout of their own, and PyYAML (the only YAML library the
project pins) loses both when it writes a document back. So the file is edited as text: PyYAML's composer gives
each node's position, and only the entry's own lines are replaced (an entry of the same name) or added (after
the last entry). What is lost: the comments inside a replaced entry. The result is read back and compared with
the document intended, so a layout this does not foresee fails loudly instead of writing a wrong file.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import yaml

INSTANCES = "openedx:instances"
_INDENT = 2


class StackFileError(Exception):
    """The stack file cannot take the entry: one line for the operator."""


@dataclass(frozen=True)
class Placement:
    text: str
    """The stack file with the entry in place."""
    index: int
    """The entry's index in `openedx:instances` (for `pulumi config set --path`)."""
    replaced: bool
    """An entry of the same name was replaced (else the entry was added last)."""


def place(text: str, entry: dict[str, Any]) -> Placement:
    """`text` with `entry` replacing the instance of the same name, or added after the last one."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        document = yaml.safe_load(text) or {}
    except yaml.YAMLError as error:
        raise StackFileError(f"not valid YAML: {error}") from None
    if not isinstance(document, dict) or not isinstance(document.get("config") or {}, dict):
        raise StackFileError("not a stack file: a mapping with a `config` mapping is expected")
    instances = (document.get("config") or {}).get(INSTANCES) or []
    if not isinstance(instances, list):
        raise StackFileError(f"`{INSTANCES}` is not a list")
    names = [item.get("name") if isinstance(item, dict) else None for item in instances]
    index = names.index(entry["name"]) if entry["name"] in names else len(instances)
    placement = Placement(_edit(text, root, entry, index), index, index < len(instances))
    expected = copy.deepcopy(document)
    expected["config"] = {**(expected.get("config") or {}), INSTANCES: [*instances[:index], entry,
                                                                        *instances[index + 1:]]}
    if yaml.safe_load(placement.text) != expected:  # a layout the edit does not foresee: never write it
        raise StackFileError(f"the entry cannot be placed in this file's layout of `{INSTANCES}`: add it by hand")
    return placement


def _edit(text: str, root: yaml.Node | None, entry: dict[str, Any], index: int) -> str:
    config = _pair(root, "config")
    if config is None:  # no `config:`: a new section at the end
        return _append(text, f"config:\n{_key_block(INSTANCES, entry, _INDENT)}")
    if _empty(config[1]):  # `config:` or `config: {}`: that line becomes the section
        return _replace_pair(text, config, f"config:\n{_key_block(INSTANCES, entry, _INDENT)}")
    mapping = config[1]
    if not isinstance(mapping, yaml.MappingNode) or mapping.flow_style:
        raise StackFileError("`config` is not a block mapping: add the entry by hand")
    column = mapping.value[0][0].start_mark.column
    instances = _pair(mapping, INSTANCES)
    if instances is None:  # a new key after the last one of `config`
        return _insert(text, _line_end(text, _end(mapping)), _key_block(INSTANCES, entry, column))
    if _empty(instances[1]):  # `openedx:instances:` or `openedx:instances: []`
        return _replace_pair(text, instances, _key_block(INSTANCES, entry, column).lstrip(" "))
    sequence = instances[1]
    if not isinstance(sequence, yaml.SequenceNode) or sequence.flow_style:
        raise StackFileError(f"`{INSTANCES}` is not a block list of entries: write it as one (`- name: ...`)")
    items = sequence.value
    if index < len(items):  # the item's own lines, from after its "- " to the end of its last line
        item = items[index]
        start, end = item.start_mark.index, _line_end(text, _end(item))
        return text[:start] + _item(entry, item.start_mark.column, first_indented=False) + text[end:]
    dash = sequence.start_mark.column
    return _insert(text, _line_end(text, _end(items[-1])), _item(entry, dash + _INDENT, dash=dash))


def _pair(mapping: yaml.Node | None, key: str) -> tuple[yaml.Node, yaml.Node] | None:
    if isinstance(mapping, yaml.MappingNode):
        for key_node, value_node in mapping.value:
            if key_node.value == key:
                return key_node, value_node
    return None


def _empty(node: yaml.Node) -> bool:
    """`key:` (null) or an empty flow collection (`[]`, `{}`)."""
    if isinstance(node, yaml.ScalarNode):
        return bool(node.tag == "tag:yaml.org,2002:null")
    return isinstance(node, yaml.CollectionNode) and not node.value


def _replace_pair(text: str, pair: tuple[yaml.Node, yaml.Node], block: str) -> str:
    """`text` with the lines of `key: <empty value>` replaced by `block` (which starts at the key's column)."""
    key, value = pair
    return text[:key.start_mark.index] + block + text[_line_end(text, max(_end(value), key.end_mark.index)):]


def _end(node: yaml.Node) -> int:
    """Where a node's text ends: its last scalar's or flow collection's end (a block collection's end mark lies at
    the next token, past any comment lines between)."""
    if isinstance(node, yaml.ScalarNode) or getattr(node, "flow_style", False):
        return int(node.end_mark.index)
    children: list[yaml.Node] = []
    if isinstance(node, yaml.MappingNode):
        children = [part for pair in node.value for part in pair]
    elif isinstance(node, yaml.SequenceNode):
        children = list(node.value)
    return max((_end(child) for child in children), default=int(node.end_mark.index))


def _line_end(text: str, index: int) -> int:
    """The start of the line after the one `index` is on (a comment at the end of that line is kept with it)."""
    if index > 0 and text[index - 1] == "\n":
        return index
    newline = text.find("\n", index)
    return len(text) if newline == -1 else newline + 1


def _dump(value: Any) -> list[str]:
    """Block style, lists and mappings of scalars in flow style (`plugins: [forum, mfe]`), keys in entry order."""
    dumped = yaml.safe_dump(value, sort_keys=False, default_flow_style=None, allow_unicode=True, width=4096)
    return dumped.splitlines()


def _item(entry: dict[str, Any], column: int, dash: int | None = None, first_indented: bool = True) -> str:
    """A list item whose keys start at `column`: with its "- " at `dash`, or (replacing an item's content, which
    starts after its dash) without."""
    lines = _dump(entry)
    first = (" " * dash + "- " if dash is not None else " " * column if first_indented else "") + lines[0]
    return "\n".join([first, *(" " * column + line for line in lines[1:])]) + "\n"


def _key_block(key: str, entry: dict[str, Any], column: int) -> str:
    return f"{' ' * column}{key}:\n" + _item(entry, column + 2 * _INDENT, dash=column + _INDENT)


def _insert(text: str, at: int, block: str) -> str:
    prefix = text[:at] if at == 0 or text[at - 1] == "\n" else text[:at] + "\n"
    return prefix + block + text[at:]


def _append(text: str, block: str) -> str:
    return _insert(text, len(text), block)
