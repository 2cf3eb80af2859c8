"""Op tables by family; `opinfo.collect()` gathers the `OPS` list of every module here."""
