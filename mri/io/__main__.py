"""``python -m mri.io``: the registered input formats as a Markdown table, for the docs (docs/formats.md)."""

from mri.io import registry


def formats_table() -> str:
    lines = ["| reader | stored as (`source_format`: name) | told to people as | a volume | tried |",
             "| --- | --- | --- | --- | ---: |"]
    for reader in registry.READERS:
        if not reader.formats:
            continue
        stored = ", ".join(f"`{code}`: {name}" for code, name in reader.formats.items())
        lines.append(f"| {reader.name} | {stored} | {', '.join(reader.listed)} | {'yes' if reader.volume else 'no'} "
                     f"| {sorted(registry.READERS, key=lambda one: one.order).index(reader) + 1} |")
    return "\n".join(lines + ["", f"Refusals ask for: {registry.accepted()}."])


if __name__ == "__main__":
    print(formats_table())
